"""Import of a Shopify product CSV export into the catalogue.

The file is streamed, twice.  The first pass checks that it can be read (encoding, header, CSV
syntax: a file that cannot be read imports nothing) and notes on which row each product ends.
The second yields each product's rows as soon as its last row is read, so that every problem
is reported with the line its row starts on (the header is line 1), and products are checked
against the database and written a batch at a time.  Each product is written through
``upsert_product`` inside its own SAVEPOINT: a product that fails rolls back alone and the
others go on.  Everything stays in the caller's transaction; the caller commits.

What a retailer's exports really contain is handled: Shopify's classic and 2024+ column sets,
a byte-order mark, CRLF, quoted HTML spanning lines, Windows-1252 text, semicolon or tab
separators from a spreadsheet, rows of one handle far apart, image-only rows, SKUs and barcodes
with a leading apostrophe, barcodes with spaces, and barcodes a spreadsheet turned into
scientific notation (reported, since they cannot be recovered).  Nothing silently disappears: a
row or a value left out is in the report.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import selectinload

from core.db import db
from core.errors import DomainError, ValidationError
from core.money import Money

from .barcodes import canonical, equivalents, normalise
from .catalogue import generated_sku_successors, normalise_handle, options_key, product_matches, upsert_product, variant_as_input
from .models import PRODUCT_STATUSES, Barcode, Category, Product, ProductImage, StockLevel, Variant
from .skus import generated_sku
from .stock import change_level, get_location, lock_levels

# each column read, by its classic name (what the code reads, lower-cased) and the names it may have
COLUMNS = {
    "handle": ("Handle", "URL handle"),
    "title": ("Title",),
    "body (html)": ("Body (HTML)", "Description"),
    "vendor": ("Vendor",),
    "product category": ("Product Category",),
    "type": ("Type",),
    "tags": ("Tags",),
    "published": ("Published", "Published on online store"),
    "status": ("Status",),
    **{f"option{i} {part}": (f"Option{i} {part.title()}",) for i in (1, 2, 3) for part in ("name", "value")},
    "variant sku": ("Variant SKU", "SKU"),
    "variant price": ("Variant Price", "Price"),
    "variant compare at price": ("Variant Compare At Price", "Compare-at price", "Compare at price"),
    "variant barcode": ("Variant Barcode", "Barcode"),
    "variant inventory tracker": ("Variant Inventory Tracker", "Inventory tracker"),
    "variant inventory qty": ("Variant Inventory Qty", "Inventory quantity", "Inventory qty"),
    "image src": ("Image Src", "Product image URL"),
    "image position": ("Image Position",),
    "image alt text": ("Image Alt Text",),
    "gift card": ("Gift Card",),
}
REQUIRED_COLUMNS = ("handle", "title", "variant price")
INVENTORY_COLUMN = "variant inventory qty"
# a row with none of these is not a variant (it only adds an image, say)
VARIANT_COLUMNS = (
    "variant sku",
    "variant price",
    "variant compare at price",
    "variant barcode",
    "option1 value",
    "option2 value",
    "option3 value",
)
OPTION_INDEXES = (1, 2, 3)
STOCK_REASON = "Shopify import"
BATCH = 500  # keys per IN (...) look-up
PRODUCT_BATCH = 200  # products drafted, checked against the database and written together
SPOOL_IN_MEMORY = 8 * 2**20  # a file that cannot seek is copied to a temporary file beyond this
LOCK_BATCH = 2000  # stock rows locked (and created) per statement

_PLAIN_PRICE = re.compile(r"\d+(\.\d+)?")
_THOUSANDS_COMMA_PRICE = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")  # 1,299.00
_DECIMAL_COMMA_PRICE = re.compile(r"\d+,\d{1,2}|\d{1,3}(\.\d{3})+,\d{1,2}")  # 12,90 and 1.299,00 (a European spreadsheet)
_SCIENTIFIC = re.compile(r"\d+([.,]\d+)?[eE][+-]?\d+")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+(\.0+)?")


@dataclass(frozen=True)
class ImportProblem:
    """One reported problem.  ``skipped``: the row's content was not imported at all."""

    line: int
    message: str
    skipped: bool = False


@dataclass(frozen=True)
class ImportNote:
    """Something the import did that the file did not say, by line: a SKU it generated, kept or renamed."""

    line: int
    message: str


@dataclass
class ImportReport:
    """What an import did: products new, changed and unchanged (found as the file has them: nothing
    written), variants imported (``generated_skus`` of them under a SKU Shelfside made up, ``renamed_skus``
    of them renamed from one to the SKU the file now gives), stock counts recorded, every problem by
    line (``errors``, sorted by line; the rows behind them in ``skipped_lines``) and every SKU the file
    did not give or that replaced a generated one (``notes``, by line).  ``refused`` says why a file that
    could not be read imported nothing."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0
    variants: int = 0
    generated_skus: int = 0
    renamed_skus: int = 0
    stock_counts: int = 0
    stock_location: str | None = None
    encoding: str = "UTF-8"
    errors: list[ImportProblem] = field(default_factory=list)
    skipped_lines: set[int] = field(default_factory=set)
    notes: list[ImportNote] = field(default_factory=list)
    refused: str = ""

    def warn(self, line: int, message: str) -> None:
        self.errors.append(ImportProblem(line, message))

    def note(self, line: int, message: str) -> None:
        self.notes.append(ImportNote(line, message))

    def skip(self, line: int, message: str, rows: list[int] | None = None) -> None:
        """Report ``message`` on ``line``; the rows on ``rows`` (default: that line) were not imported."""
        self.errors.append(ImportProblem(line, message, skipped=True))
        self.skipped_lines.update(rows or [line])

    def refuse(self, line: int, reason: str) -> None:
        self.errors.append(ImportProblem(line, f"{reason}; nothing imported", skipped=True))
        self.refused = reason

    @property
    def products(self) -> int:
        """Products the file brought that are now in the catalogue as it has them."""
        return self.created + self.changed + self.unchanged

    def summary(self) -> str:
        """One line for a human, e.g. '12 products: 9 new, 2 changed, 1 unchanged; 41 variants; 1 row skipped'."""
        if self.refused:
            return f"nothing imported: {self.refused}"
        text = f"{_plural(self.products, 'product')}: {self.created} new, {self.changed} changed, {self.unchanged} unchanged; {_plural(self.variants, 'variant')}"
        skus = []
        if self.generated_skus:
            skus.append(f"{self.generated_skus} with a generated SKU")
        if self.renamed_skus:
            skus.append(f"{self.renamed_skus} generated SKU{'' if self.renamed_skus == 1 else 's'} replaced by Shopify's")
        if skus:
            text += f" ({', '.join(skus)})"
        if self.encoding != "UTF-8":
            text += f"; read as {self.encoding} text"
        if self.stock_location:
            text += f"; {_plural(self.stock_counts, 'stock count')} recorded at {self.stock_location}"
        notes = []
        if self.skipped_lines:
            notes.append(f"{_plural(len(self.skipped_lines), 'row')} skipped")
        warnings = sum(1 for problem in self.errors if not problem.skipped)
        if warnings:
            notes.append(_plural(warnings, "warning"))
        if notes:
            text += "; " + ", ".join(notes)
        return text


def import_shopify_csv(
    file, currency: str = "EUR", stock_location: str | None = None, progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Create or update the products of a Shopify product CSV export; answers an ImportReport.

    ``file`` is a binary file object (UTF-8 with or without a BOM, UTF-16 with a BOM, else read as
    Windows-1252), with Shopify's classic columns (Handle, Variant SKU ...) or its 2024+ ones (URL
    handle, SKU ...).  Prices are read in ``currency``.  With ``stock_location`` (a location code) each
    tracked variant's inventory quantity becomes its on hand there: a ledger count, recorded only when
    it differs from the on hand, under row locks taken in primary-key order once every product is
    written; a count below what reservations hold is refused and reported, as ``record_movement``
    refuses it.  ``progress(rows_done, rows_in_file)`` is called as the rows are imported.

    A variant without a SKU (Shopify requires none) keeps the SKU its stored variant has (same
    handle, same options), else gets a generated one (``skus.generated_sku``: readable, unique, never
    a SKU the file or the catalogue gives to another variant), the same on every import; a later file
    that gives the real SKU for those options renames that variant (``upsert_product``), so its stock
    and ledger stay with it.  Handles are matched whatever their case or Unicode form (stored in NFC);
    a category spelled otherwise than the category it joins (case) is reported once per spelling.

    Memory does not grow with the file: it is read twice as a stream (a file that cannot seek is
    spooled to a temporary file first), once to check it and note where each product's last row is,
    then product by product, written a batch of products at a time.  Only the rows of products not yet
    complete are held (one product's when its rows are together, as Shopify writes them), and what
    spans the whole file: each handle's last row, the file's SKUs, each SKU's first use, each barcode's
    claim and the stock counts to record.

    Guarantees: idempotent (products by handle, variants by SKU; importing the same file again
    writes nothing, emits nothing and reports every product as unchanged); the file is the truth for
    each product it names (``upsert_product`` drops variants it no longer lists, unless they have
    stock history), except that a row skipped for a bad value leaves its existing variant as it was,
    and an unusable barcode leaves the variant the barcode it had.  A product whose upsert fails is
    rolled back alone to its SAVEPOINT and reported; every row or value not imported is reported with
    its line.  Gift cards are not imported (reported).  A file that cannot be read as a Shopify CSV
    imports nothing and says why (``report.refused``).  Nothing is committed: the caller commits.

    Raises ValidationError for a malformed ``currency`` or an unknown ``stock_location``.
    """
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(f"currency must be a three-letter ISO 4217 code, not {currency!r}", field="currency")
    location = get_location(stock_location, field="stock_location") if stock_location else None
    report = ImportReport(stock_location=location.code if location else None)
    export = _ShopifyFile(file, report)
    if export.check():
        _ShopifyImport(report, code, export, location.code if location else None, progress).run()
    report.errors.sort(key=lambda problem: problem.line)
    report.notes.sort(key=lambda note: note.line)
    return report


# --- reading the file ---------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    cells: dict[str, str]  # classic lower-case column name -> stripped value

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


class _ShopifyFile:
    """A Shopify export read as a stream of text, twice: ``check`` reads it through (encoding, header,
    CSV syntax, where each product's last row is); ``products`` then yields product by product."""

    def __init__(self, file, report: ImportReport):
        self.report = report
        self.file, self.start = _rewindable(file)
        self.encoding: str | None = None  # the codec; None for a text stream
        self.delimiter = ","
        self.header: dict[str, int] = {}  # classic lower-case name -> index
        self.labels: dict[str, str] = {}  # classic lower-case name -> the file's own name for the column
        self.last_row: dict[str, int] = {}  # product key -> number of its last row (rows with content, from 0)
        self.rows = 0  # rows with content
        self.rows_read = 0  # by ``products`` so far
        self.skus: set[str] = set()  # the SKUs the file gives (generated ones must not take them)

    def check(self) -> bool:
        """Read the file through once; False (and the report says why) when it cannot be imported."""
        if isinstance(self.file, io.TextIOBase):
            return self._index()
        self.file.seek(self.start)
        head = self.file.read(2)
        utf16 = head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        for encoding, label in (("utf-16", "UTF-16"),) if utf16 else (("utf-8-sig", "UTF-8"), ("cp1252", "Windows-1252")):
            self.encoding, self.report.encoding = encoding, label
            try:
                return self._index()
            except UnicodeDecodeError:
                continue
        self.report.refuse(1, "the file is neither UTF-8 nor Windows-1252 text")
        return False

    def column(self, name: str) -> str:
        """The file's own name for a column read (for messages), else its classic name."""
        return self.labels.get(name) or COLUMNS[name][0]

    def products(self) -> Iterator[tuple[str, list[_Row]]]:
        """(product key, its rows in file order) for each product, in the order products first appear,
        as soon as the product's last row is read; ("", [row]) for a row without a handle."""
        pending: dict[str, list[_Row]] = {}
        for number, (line, cells) in enumerate(self._rows()):
            row = _Row(line, {name: _clean_cell(cells[index]) for name, index in self.header.items() if index < len(cells)})
            key = _product_key(row["handle"])
            if not key:
                yield "", [row]
            else:
                pending.setdefault(key, []).append(row)
            while pending:
                first = next(iter(pending))
                if self.last_row[first] > number:
                    break
                yield first, pending.pop(first)
            self.rows_read = number + 1

    def _index(self) -> bool:
        self.last_row, self.rows, self.skus = {}, 0, set()
        for number, (_, cells) in enumerate(self._rows(checking=True)):
            index, sku_index = self.header["handle"], self.header.get("variant sku", len(cells))
            key = _product_key(_clean_cell(cells[index])) if index < len(cells) else ""
            if key:
                self.last_row[key] = number
            sku = _without_text_marker(_clean_cell(cells[sku_index])) if sku_index < len(cells) else ""
            if sku:
                self.skus.add(sku)
            self.rows = number + 1
        return not self.report.refused

    def _rows(self, checking: bool = False) -> Iterator[tuple[int, list[str]]]:
        """(line the record starts on, its cells) for each record with content after the header."""
        with self._text() as text:
            first_line = text.readline()
            if not first_line:
                if checking:
                    self.report.refuse(1, "the file is empty")
                return
            if checking:
                self.delimiter = _delimiter(first_line)
            reader = csv.reader(itertools.chain([first_line], text), delimiter=self.delimiter, strict=True)
            line = 1
            try:
                for cells in reader:
                    if line == 1:
                        if checking and not self._read_header(cells):
                            return
                    elif any(cell.strip() for cell in cells):
                        yield line, cells
                    line = reader.line_num + 1
            except csv.Error as exc:
                self.report.refuse(line, f"the CSV cannot be read from here ({exc})")

    def _read_header(self, cells: list[str]) -> bool:
        self.header = _header(cells)
        self.labels = {name: " ".join(cells[index].replace("\ufeff", "").split()) for name, index in self.header.items()}
        missing = [" / ".join(COLUMNS[name]) for name in REQUIRED_COLUMNS if name not in self.header]
        if missing:
            self.report.refuse(1, f"not a Shopify product CSV: no column {', '.join(missing)}")
            return False
        return True

    @contextlib.contextmanager
    def _text(self):
        self.file.seek(self.start)
        if self.encoding is None:
            yield self.file
            return
        text = io.TextIOWrapper(self.file, encoding=self.encoding, newline="")
        try:
            yield text
        finally:
            text.detach()  # the caller's file stays open


def _rewindable(file) -> tuple:
    """(a file that can seek back to where ``file`` is now, that position): ``file`` itself, or a
    spool of it (binary; a text stream is spooled as UTF-8)."""
    try:
        if file.seekable():
            return file, file.tell()
    except (AttributeError, OSError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    if isinstance(file, io.TextIOBase):
        for chunk in iter(lambda: file.read(2**16), ""):
            spool.write(chunk.encode("utf-8"))
    else:
        shutil.copyfileobj(file, spool)
    return spool, 0


def _product_key(handle: str) -> str:
    """The handle rows of one product share, whatever the case or Unicode form of each row's spelling."""
    return normalise_handle(handle.strip().lower())


def _header(cells: list[str]) -> dict[str, int]:
    """The index of each column read, by its classic lower-case name, from a classic or a 2024+ header
    (matched whatever the case and spacing; of two columns for one field, the first)."""
    header: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = _CLASSIC_NAME.get(_column_key(cell))
        if name:
            header.setdefault(name, index)
    return header


def _column_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).lower()


_CLASSIC_NAME = {_column_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def _clean_cell(text: str) -> str:
    """Stripped, with the line breaks inside a multi-line cell (HTML, say) as plain newlines."""
    return text.strip().replace("\r\n", "\n")


def _delimiter(first_line: str) -> str:
    """',' as Shopify writes; ';' or a tab when a spreadsheet re-saved the file."""
    first_line = first_line.rstrip("\r\n")
    for delimiter in (",", ";", "\t"):
        if "handle" in _header(next(csv.reader([first_line], delimiter=delimiter), [])):
            return delimiter
    return ","


# --- drafts: what the file says, checked without the database -------------------------------


@dataclass
class _VariantDraft:
    line: int
    sku: str  # the file's, or (when it has none) the one the variant has or a generated one
    options: dict[str, str]
    sku_given: bool = True  # the file gives the SKU
    sku_generated: bool = False
    price: Money | None = None
    compare_at_price: Money | None = None
    barcodes: list[str] = field(default_factory=list)
    barcode_problem: str = ""
    quantity: int | None = None
    error: str = ""  # the row cannot be imported
    warnings: list[str] = field(default_factory=list)


@dataclass
class _ProductDraft:
    handle: str
    line: int
    lines: list[int]
    fields: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    variants: list[_VariantDraft] = field(default_factory=list)
    error: str = ""


class _ShopifyImport:
    def __init__(self, report: ImportReport, currency: str, export: _ShopifyFile, location_code: str | None, progress=None):
        self.report = report
        self.currency = currency
        self.export = export
        self.columns = set(export.header)
        self.location_code = location_code
        self.progress = progress or (lambda done, total: None)
        self.sku_first_use: dict[str, tuple[str, int]] = {}  # SKU -> (handle, line) of its first row
        self.barcode_claims: dict[str, tuple[str, int]] = {}  # 13-digit form -> (SKU, line) that took it
        self.counts: dict[int, tuple[str, int, int]] = {}  # variant id -> (SKU, quantity, line) to record at the location
        self.spellings_reported: set[str] = set()  # category names reported as filed under another spelling
        self.skus_generated: set[str] = set()  # generated by this import so far

    def run(self) -> None:
        if self.location_code and INVENTORY_COLUMN not in self.columns:
            self.report.warn(
                1,
                (
                    f"no {self.export.column(INVENTORY_COLUMN)} column (Shopify leaves it out when the store has several locations):"
                    f" no stock recorded at {self.location_code}"
                ),
            )
        total = self.export.rows
        self.progress(0, total)
        batch: list[_ProductDraft] = []
        for key, rows in self.export.products():
            if not key:
                self.report.skip(rows[0].line, f"no {self.export.column('handle')}; row skipped")
                continue
            batch.append(self._draft_product(key, rows))
            if len(batch) == PRODUCT_BATCH:
                self._save(batch)
                batch = []
                self.progress(self.export.rows_read, total)
        self._save(batch)
        if self.location_code:
            self._count_stock()
        self.progress(total, total)

    def _draft_product(self, handle: str, rows: list[_Row]) -> _ProductDraft:
        main = next((row for row in rows if row["title"]), None)
        draft = _ProductDraft(handle=handle, line=(main or rows[0]).line, lines=[row.line for row in rows])
        if main is None:
            draft.error = f"product '{handle}' has no Title on any of its rows; skipped"
            return draft
        if main["gift card"].lower() == "true":
            draft.error = f"product '{handle}' is a gift card; gift cards are not imported"
            return draft
        category = main["type"] or main["product category"].split(">")[-1].strip()
        draft.fields = {
            "handle": handle,
            "title": main["title"],
            "description": main["body (html)"],
            "vendor": main["vendor"],
            "category": category or None,
            "status": self._status(handle, main),
            "tags": list(dict.fromkeys(tag.strip() for tag in main["tags"].split(",") if tag.strip())),
        }
        too_long = _too_long(("Title", main["title"], Product.title), ("Vendor", main["vendor"], Product.vendor), ("Type", category, Category.name))
        if too_long:
            draft.error = f"product '{handle}': {too_long}; skipped"
            return draft
        draft.images = self._images(handle, rows)
        option_names = [next((row[f"option{i} name"] for row in (main, *rows) if row[f"option{i} name"]), "") for i in OPTION_INDEXES]
        draft.variants = [self._draft_variant(handle, row, option_names) for row in rows if any(row[c] for c in VARIANT_COLUMNS)]
        return draft

    def _status(self, handle: str, row: _Row) -> str:
        if "status" not in self.columns:
            return "draft" if row["published"].lower() == "false" else "active"
        status = row["status"].lower()
        if not status:
            return "active"
        if status in PRODUCT_STATUSES:
            return status
        self.report.warn(row.line, f"product '{handle}': Status {row['status']!r} is not active, draft or archived; imported as draft")
        return "draft"

    def _images(self, handle: str, rows: list[_Row]) -> list[dict]:
        """Every row's image, by Image Position (images without one last, in file order), each URL once."""
        found = []
        for order, row in enumerate(rows):
            url = row["image src"]
            if not url:
                continue
            too_long = _too_long(("Image Src", url, ProductImage.url), ("Image Alt Text", row["image alt text"], ProductImage.alt))
            if too_long:
                self.report.warn(row.line, f"product '{handle}': {too_long}; image left out")
                continue
            position = row["image position"]
            found.append((not position.isdigit(), int(position) if position.isdigit() else 0, order, url, row["image alt text"]))
        images: dict[str, str] = {}
        for *_, url, alt in sorted(found):
            images.setdefault(url, alt)
        return [{"url": url, "alt": alt} for url, alt in images.items()]

    def _draft_variant(self, handle: str, row: _Row, option_names: list[str]) -> _VariantDraft:
        options = {}
        for i, default_name in zip(OPTION_INDEXES, option_names):
            value = row[f"option{i} value"]
            name = (row[f"option{i} name"] or default_name or f"option{i}").lower()
            if value and not (name == "title" and value == "Default Title"):
                options[name] = value
        column = self.export.column
        sku = _without_text_marker(row["variant sku"])
        label = f"SKU {sku}" if sku else f"'{handle}' ({_option_text(options)})"
        variant = _VariantDraft(line=row.line, sku=sku, options=options, sku_given=bool(sku))
        too_long = _too_long((column("variant sku"), sku, Variant.sku))
        if too_long:
            variant.error = too_long
            return variant
        if not row["variant price"]:
            variant.error = f"{label}: no {column('variant price')}"
            return variant
        try:
            variant.price = _parse_price(row["variant price"], self.currency, column("variant price"))
        except ValueError as exc:
            variant.error = f"{label}: {exc}"
            return variant
        compare = row["variant compare at price"]
        if compare:
            try:
                variant.compare_at_price = _parse_price(compare, self.currency, column("variant compare at price"))
            except ValueError as exc:
                variant.warnings.append(f"{label}: {exc}; imported without a compare-at price")
            if variant.compare_at_price is not None and variant.compare_at_price.amount == 0:
                variant.compare_at_price = None
        if row["variant barcode"]:
            code, problem = _parse_barcode(row["variant barcode"])
            variant.barcodes = [code] if code else []
            variant.barcode_problem = f"{label}: {problem}" if problem else ""
        if self.location_code:
            variant.quantity = self._quantity(label, row, variant.warnings)
        return variant

    def _quantity(self, label: str, row: _Row, warnings: list[str]) -> int | None:
        """The count to record, or None: no quantity, or Shopify does not track this variant's inventory."""
        text, column = row["variant inventory qty"], self.export.column("variant inventory qty")
        if not text or ("variant inventory tracker" in self.columns and not row["variant inventory tracker"]):
            return None
        if not _WHOLE_NUMBER.fullmatch(text):
            warnings.append(f"{label}: {column} {text!r} is not a whole number; stock not counted")
            return None
        quantity = int(text.split(".")[0])
        if quantity < 0:
            warnings.append(f"{label}: {column} {quantity} is negative (oversold online?); counted as 0")
            return 0
        return quantity

    # --- checks against the file and the database, then the writes --------------------------

    def _save(self, drafts: list[_ProductDraft]) -> None:
        """Check a batch of drafts against the file so far and the database, then write each product
        in its own SAVEPOINT; notes the stock counts the written variants bring."""
        existing = {
            product.handle: product
            for product in _in_batches(
                [d.handle for d in drafts],
                lambda chunk: (
                    select(Product)
                    .where(Product.handle.in_(chunk))
                    .options(selectinload(Product.variants).selectinload(Variant.barcodes), selectinload(Product.images))
                ),
                scalars=True,
            )
        }
        self._give_skus(drafts, existing)
        skus = [v.sku for d in drafts for v in d.variants if v.sku]
        sku_owners = dict(_in_batches(skus, lambda chunk: select(Variant.sku, Product.handle).join(Product).where(Variant.sku.in_(chunk))))
        codes = [form for d in drafts for v in d.variants for code in v.barcodes for form in equivalents(code)]
        barcode_owners = dict(
            _in_batches(
                codes, lambda chunk: select(Barcode.code, Variant.sku).join(Variant, Barcode.variant_id == Variant.id).where(Barcode.code.in_(chunk))
            )
        )
        for draft in drafts:
            if draft.error:
                self.report.skip(draft.line, draft.error, draft.lines)
                continue
            product = existing.get(draft.handle)
            data = self._product_input(draft, product, sku_owners, barcode_owners)
            if data is None:
                continue
            if product is not None and product_matches(product, data):
                self.report.unchanged += 1
            else:
                try:
                    with db.session.begin_nested():
                        product, created = upsert_product(data)
                except (DomainError, IntegrityError, DataError) as exc:
                    reason = exc.message if isinstance(exc, DomainError) else str(getattr(exc, "orig", exc)).splitlines()[0]
                    self.report.skip(draft.line, f"product '{draft.handle}' not imported: {reason}", draft.lines)
                    continue
                if created:
                    self.report.created += 1
                else:
                    self.report.changed += 1
            self.report.variants += len(data["variants"])
            self._note_category_spelling(draft, product)
            if self.location_code:
                ids = {variant.sku: variant.id for variant in product.variants}
                for variant in draft.variants:
                    if variant.quantity is not None and not variant.error and variant.sku in ids:
                        self.counts[ids[variant.sku]] = (variant.sku, variant.quantity, variant.line)

    def _note_category_spelling(self, draft: _ProductDraft, product: Product) -> None:
        """Warn (once per spelling) when a product's category is filed under a name spelled otherwise."""
        name = draft.fields["category"]
        if not name or product.category is None or product.category.name == name or name in self.spellings_reported:
            return
        self.spellings_reported.add(name)
        self.report.warn(
            draft.line,
            (
                f"product '{draft.handle}': category {name!r} is filed under {product.category.name!r}: names that differ only in case are one category"
            ),
        )

    def _give_skus(self, drafts: list[_ProductDraft], existing: dict[str, Product]) -> None:
        """Give each variant the file has no SKU for the SKU it has (the stored variant of its product
        with the same options), else a generated one (``skus.generated_sku``) that no variant has, the
        file gives to no variant and this import has not given yet: the same one on every import."""
        wanting = []
        for draft in drafts:
            if draft.error:
                continue
            product = existing.get(draft.handle)
            listed = {variant.sku for variant in draft.variants if variant.sku}
            stored = {}
            for variant in product.variants if product else ():
                if variant.sku not in listed:
                    stored.setdefault(options_key(variant.options), variant)
            for variant in draft.variants:
                if variant.sku_given:
                    continue
                match = stored.pop(options_key(variant.options), None)
                if match is not None:
                    variant.sku, variant.sku_generated = match.sku, match.sku_generated
                elif not variant.error:
                    wanting.append((draft.handle, variant))
        if not wanting:
            return
        first_tries = [generated_sku(handle, list(variant.options.values()), attempt) for handle, variant in wanting for attempt in (0, 1)]
        in_catalogue = set(_in_batches(first_tries, lambda chunk: select(Variant.sku).where(Variant.sku.in_(chunk)), scalars=True))
        for handle, variant in wanting:
            for attempt in itertools.count():
                sku = generated_sku(handle, list(variant.options.values()), attempt)
                if attempt > 1 and sku not in in_catalogue and db.session.scalar(select(Variant.id).where(Variant.sku == sku)):
                    in_catalogue.add(sku)
                if sku not in in_catalogue and sku not in self.export.skus and sku not in self.skus_generated:
                    break
            variant.sku, variant.sku_generated = sku, True
            self.skus_generated.add(sku)

    def _product_input(self, draft: _ProductDraft, product: Product | None, sku_owners: dict, barcode_owners: dict) -> dict | None:
        """The upsert_product data for a draft, reporting each variant left out; None when none is left."""
        current = {variant.sku: variant_as_input(variant) for variant in product.variants} if product else {}
        renamed = {
            sku: variant.sku
            for sku, variant in generated_sku_successors(
                product.variants if product else [],
                [{"sku": v.sku, "options": v.options} for v in draft.variants if v.sku_given and not self._sku_clash(draft.handle, v, sku_owners)],
                set(current) | set(sku_owners),
            ).items()
        }
        variants = []
        for variant in draft.variants:
            clash = self._sku_clash(draft.handle, variant, sku_owners)
            if clash:
                variant.error = clash
                self.report.skip(variant.line, f"{clash}; row skipped")
                continue
            if variant.sku:
                self.sku_first_use[variant.sku] = (draft.handle, variant.line)
            stored = current.get(renamed.get(variant.sku, variant.sku))
            if variant.error:
                if stored is not None:
                    variants.append(stored)
                    self.report.skip(variant.line, f"{variant.error}; SKU {stored['sku']} left as it was")
                else:
                    self.report.skip(variant.line, f"{variant.error}; variant skipped")
                continue
            for warning in variant.warnings:
                self.report.warn(variant.line, warning)
            self._note_sku(draft.handle, variant, renamed.get(variant.sku))
            barcodes = self._barcodes(variant, stored, barcode_owners, renamed.get(variant.sku))
            variants.append(
                {
                    "sku": variant.sku,
                    "sku_generated": variant.sku_generated,
                    "price": variant.price,
                    "compare_at_price": variant.compare_at_price,
                    "barcodes": barcodes,
                    "options": variant.options,
                }
            )
        if not variants:
            self.report.skip(draft.line, f"product '{draft.handle}' has no variant that can be imported; skipped", draft.lines)
            return None
        return {**draft.fields, "images": draft.images, "variants": variants}

    def _note_sku(self, handle: str, variant: _VariantDraft, renamed_from: str | None) -> None:
        """Report a SKU the file did not give (generated, or the one the variant has) or a generated one replaced."""
        if renamed_from:
            self.report.renamed_skus += 1
            self.report.note(
                variant.line,
                (
                    f"SKU {variant.sku} replaces the generated SKU {renamed_from} of '{handle}' ({_option_text(variant.options)});"
                    " its stock and history stay with it"
                ),
            )
        elif not variant.sku_given:
            self.report.generated_skus += variant.sku_generated
            kind = "generated SKU" if variant.sku_generated else "its SKU"
            self.report.note(
                variant.line, f"no {self.export.column('variant sku')} for '{handle}' ({_option_text(variant.options)}): {kind} {variant.sku}"
            )

    def _sku_clash(self, handle: str, variant: _VariantDraft, sku_owners: dict) -> str:
        if not variant.sku_given:
            return ""
        if variant.sku in self.sku_first_use:
            other, line = self.sku_first_use[variant.sku]
            if other == handle:
                return f"SKU {variant.sku} is listed twice (first on line {line})"
            return f"SKU {variant.sku} is already used by product '{other}' on line {line}"
        owner = sku_owners.get(variant.sku)
        if owner and owner != handle:
            return f"SKU {variant.sku} belongs to product '{owner}'"
        return ""

    def _barcodes(self, variant: _VariantDraft, current: dict | None, barcode_owners: dict, renamed_from: str | None = None) -> list[str]:
        """The variant's barcodes: the file's when usable, else the ones it has (reported either way)."""
        problem = variant.barcode_problem
        for code in variant.barcodes:
            claim = self.barcode_claims.get(canonical(code))
            owner = next((barcode_owners[form] for form in equivalents(code) if form in barcode_owners), None)
            if claim and claim[0] != variant.sku:
                problem = f"SKU {variant.sku}: barcode {code} is also given to SKU {claim[0]} on line {claim[1]}"
            elif owner and owner not in (variant.sku, renamed_from):
                problem = f"SKU {variant.sku}: barcode {code} belongs to SKU {owner}"
        if not problem:
            codes = variant.barcodes
        else:
            codes = [
                code for code in (current or {}).get("barcodes", []) if self.barcode_claims.get(canonical(code), (variant.sku,))[0] == variant.sku
            ]
            kept = f"kept its barcode {', '.join(codes)}" if codes else "imported without a barcode"
            self.report.warn(variant.line, f"{problem}; {kept}")
        for code in codes:
            self.barcode_claims.setdefault(canonical(code), (variant.sku, variant.line))
        return codes

    def _count_stock(self) -> None:
        """Record a count (the ledger keeps the variance) where the file's quantity differs from the on hand.

        Works like ``record_movement(store, sku, "count", quantity)`` for each variant, but locks every
        row it changes at once, in primary-key order (``stock.lock_levels``), which is both the stock
        module's deadlock discipline and thousands of statements fewer; and only once every product is
        written, so that the store's stock rows are locked for the shortest time.  A count below what
        is held for reservations is refused and reported, as record_movement refuses it.
        """
        location = get_location(self.location_code)
        wanted = self.counts
        on_hand = dict(
            _in_batches(
                list(wanted),
                lambda chunk: select(StockLevel.variant_id, StockLevel.on_hand).where(
                    StockLevel.location_id == location.id, StockLevel.variant_id.in_(chunk)
                ),
            )
        )
        changing = sorted(variant_id for variant_id, (_, quantity, _) in wanted.items() if on_hand.get(variant_id, 0) != quantity)
        for start in range(0, len(changing), LOCK_BATCH):
            levels = lock_levels([(variant_id, location.id) for variant_id in changing[start : start + LOCK_BATCH]], create=True)
            for (variant_id, _), level in sorted(levels.items()):
                sku, quantity, line = wanted[variant_id]
                if level.on_hand == quantity:
                    continue
                if quantity < level.reserved:
                    self.report.warn(
                        line,
                        (
                            f"SKU {sku}: on hand at {location.code} not set to {quantity}: {level.reserved} are held for reservations;"
                            " release holds before recording this count"
                        ),
                    )
                    continue
                change_level(level, on_hand_delta=quantity - level.on_hand, kind="count", counted=quantity, reason=STOCK_REASON, sku=sku)
                self.report.stock_counts += 1
        db.session.flush()


# --- values -----------------------------------------------------------------------------------


def _parse_price(text: str, currency: str, column: str) -> Money:
    """A price as Shopify writes it (129, 129.00), or as a spreadsheet re-saved it (1,299.00, 129,00)."""
    compact = text.replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS_COMMA_PRICE.fullmatch(compact):
        compact = compact.replace(",", "")
    elif _DECIMAL_COMMA_PRICE.fullmatch(compact):
        compact = compact.replace(".", "").replace(",", ".")
    elif not _PLAIN_PRICE.fullmatch(compact):
        raise ValueError(f"{column} {text!r} is not a price")
    try:
        return Money.parse_decimal(compact, currency)
    except ValueError:
        raise ValueError(f"{column} {text!r} has more decimals than {currency} allows") from None


def _parse_barcode(text: str) -> tuple[str | None, str]:
    """(code, '') for a valid EAN-13 or UPC-A, else (None, what is wrong with it)."""
    cleaned = _without_text_marker(text).replace(" ", "").replace("-", "")
    if _SCIENTIFIC.fullmatch(cleaned):
        return None, f"barcode {text!r} is in scientific notation (a spreadsheet rounded it) and cannot be recovered"
    if re.fullmatch(r"\d+\.0+", cleaned):
        cleaned = cleaned.split(".")[0]
    try:
        code, _ = normalise(cleaned)
    except ValidationError as exc:
        return None, f"barcode {exc.message}"
    return code, ""


def _option_text(options: dict[str, str]) -> str:
    return " / ".join(options.values()) or "Default Title"


def _without_text_marker(text: str) -> str:
    """The value without the apostrophe Shopify writes before an all-digit SKU or barcode (so that a
    spreadsheet keeps it as text, leading zeros and all)."""
    return text[1:].strip() if text.startswith("'") else text


def _too_long(*checks) -> str:
    """What is too long for its column among (label, value, column) checks, or ''."""
    for label, value, column in checks:
        limit = column.property.columns[0].type.length
        if value and len(value) > limit:
            return f"{label} is longer than {limit} characters"
    return ""


def _in_batches(keys: list, statement, scalars: bool = False) -> list:
    """Run ``statement(chunk)`` over the distinct keys, BATCH at a time; answers every row (or scalar)."""
    keys = list(dict.fromkeys(keys))
    found = []
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        found += db.session.scalars(statement(chunk)).all() if scalars else db.session.execute(statement(chunk)).all()
    return found


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
