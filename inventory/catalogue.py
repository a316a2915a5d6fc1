"""Products, variants, barcodes, images and categories: upsert, look up, search."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db, upsert_insert
from core.errors import Conflict, NotFound, ValidationError
from core.money import Money
from core.outbox import emit
from core.pagination import decode_cursor, encode_cursor

from .barcodes import canonical, equivalents, normalise
from .models import PRODUCT_STATUSES, Barcode, Category, Product, ProductImage, StockLevel, Variant

HANDLE_LENGTH = 255
HANDLE_RULE = "handle must be lower case, start with a letter or digit, and hold no '/', spaces or control characters"


def normalise_handle(handle: str) -> str:
    """The form a handle is stored and looked up in: Unicode NFC (so that 'é' typed as e + accent
    and 'é' typed as one character are one handle)."""
    return unicodedata.normalize("NFC", handle)


def check_handle(handle: str) -> str:
    """The handle in its stored form; ValidationError on ``handle`` unless it is 1 to 255 characters,
    lower case, starts with a letter or digit (of any script) and holds no '/', whitespace or control
    character (it is a URL path segment)."""
    handle = normalise_handle(handle)
    if not 0 < len(handle) <= HANDLE_LENGTH:
        raise ValidationError(f"handle must be 1 to {HANDLE_LENGTH} characters", field="handle")
    if handle != handle.lower() or not handle[0].isalnum() or any(_forbidden_in_handle(ch) for ch in handle):
        raise ValidationError(HANDLE_RULE, field="handle")
    return handle


def _forbidden_in_handle(ch: str) -> bool:
    return ch == "/" or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cs")


SLUG_LENGTH = 200


def slugify(text: str) -> str:
    """The identity of a name in any script, fit for a URL: NFKC-normalised and case-folded (so 'Shirts',
    'SHIRTS' and full-width 'Ｓｈｉｒｔｓ' are one slug, 'Платья' and 'فساتين' two), each run of
    characters that are not letters, marks or digits one '-'; at most 200 characters; 'item' when
    nothing is left."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    slug = "".join(ch if unicodedata.category(ch)[0] in "LMN" else "-" for ch in folded)
    return re.sub(r"-{2,}", "-", slug).strip("-")[:SLUG_LENGTH].rstrip("-") or "item"


def get_or_create_category(name: str | None) -> Category | None:
    """The category ``name`` belongs to, created (under this name) when none has its slug; None for no name.

    Names with one slug are one category, which keeps the name it was created with.  Safe when
    concurrent transactions bring the same new category: the insert does nothing when another one
    got there first (waiting for it to commit on PostgreSQL), then the category is read back.
    """
    name = (name or "").strip()
    if not name:
        return None
    slug = slugify(name)
    by_slug = select(Category).where(Category.slug == slug)
    category = db.session.scalar(by_slug)
    if category is None:
        db.session.execute(upsert_insert(Category).values(name=name, slug=slug).on_conflict_do_nothing(index_elements=["slug"]))
        category = db.session.scalar(by_slug)
    return category


def _search_text(product: Product) -> str:
    parts = [product.handle, product.title, product.vendor or "", product.category.name if product.category else ""]
    parts += list(product.tags or [])
    for variant in product.variants:
        parts += [str(v) for v in (variant.options or {}).values()]
        parts.append(variant.title or "")
    return " ".join(p.lower() for p in parts if p)


def upsert_product(data: dict, actor: Actor = SYSTEM) -> tuple[Product, bool]:
    """Create or update the product ``data['handle']`` with its variants; answers (product, created).

    The handle may be in any script and is stored in NFC (see ``check_handle``: ValidationError
    when it is not lower case, or holds a '/', whitespace or a control character).

    Idempotent: the same data twice leaves one product, and an upsert that changes nothing writes
    nothing (no ``updated_at`` bump, no ``product.updated`` event).  Variants are matched by SKU; a SKU or a
    barcode that belongs to another product is a Conflict (barcodes may move between this product's variants).  Variants left out of ``data`` are
    removed when they have never had stock; otherwise they are kept (the ledger refers to them).

    Concurrent upserts of one new handle (or of one new category) do not fail: one creates the
    product (or category), the others wait for it to commit (PostgreSQL) and then update it.

    A variant's ``sku_generated`` (Shelfside made the SKU up) is set when the data gives it, else kept
    (false for a new variant).  A variant with a generated SKU takes the first new SKU given for the
    same options (a SKU no variant has, not itself generated) when the data no longer lists its
    generated one: it is renamed, not replaced, so its stock, ledger and barcodes stay with it.
    """
    with db.session.no_autoflush:
        return _upsert_product(data)


def _upsert_product(data: dict) -> tuple[Product, bool]:
    handle = check_handle(data["handle"])
    status = data.get("status") or "active"
    if status not in PRODUCT_STATUSES:
        raise ValidationError(f"status must be one of {', '.join(PRODUCT_STATUSES)}", field="status")
    variants_in = data.get("variants") or []
    if not variants_in:
        raise ValidationError("a product needs at least one variant", field="variants")

    skus = [v["sku"] for v in variants_in]
    duplicates = sorted({s for s in skus if skus.count(s) > 1})
    if duplicates:
        raise ValidationError(f"SKU listed twice: {', '.join(duplicates)}", field="variants")

    by_handle = (
        select(Product)
        .where(Product.handle == handle)
        .options(selectinload(Product.variants).selectinload(Variant.barcodes), selectinload(Product.images))
    )
    product = db.session.scalar(by_handle)
    created = False
    if product is None:
        # insert or nothing: of concurrent upserts of one new handle, one creates it, the others
        # wait for it (PostgreSQL) and then update what it created
        now = clock.now()
        created = (
            db.session.execute(
                upsert_insert(Product)
                .values(
                    handle=handle,
                    title=data["title"],
                    description="",
                    vendor="",
                    tags=[],
                    status=status,
                    search_text="",
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing(index_elements=["handle"])
                .returning(Product.id)
            ).first()
            is not None
        )
        product = db.session.scalar(by_handle.execution_options(populate_existing=True))
    if not created and product_matches(product, data):
        return product, False  # unchanged: no write, no updated_at bump, no product.updated event

    existing = {v.sku: v for v in db.session.scalars(select(Variant).where(Variant.sku.in_(skus)).options(selectinload(Variant.product)))}
    for sku, variant in existing.items():
        if variant.product is not product and variant.product_id != product.id:
            raise Conflict(f"SKU {sku} belongs to product {variant.product.handle}", {"sku": sku, "product": variant.product.handle})

    product.title = data["title"]
    product.description = data.get("description") or ""
    product.vendor = data.get("vendor") or ""
    product.status = status
    product.tags = list(data.get("tags") or [])
    product.category = get_or_create_category(data.get("category"))
    product.updated_at = clock.now()

    # images: replaced as a whole, in the order given
    product.images[:] = [ProductImage(url=img["url"], alt=img.get("alt") or "", position=i) for i, img in enumerate(data.get("images") or [])]

    given: dict[str, str] = {}  # canonical code -> the SKU it is given to
    for index, vin in enumerate(variants_in):
        for code in vin.get("barcodes") or []:
            code, _ = normalise(code, field=f"variants.{index}.barcodes")
            if given.setdefault(canonical(code), vin["sku"]) != vin["sku"]:
                raise ValidationError(f"barcode {code} given to two variants", field=f"variants.{index}.barcodes")
    if given:
        # a code (in any of its forms) may move between this product's variants, never from another product
        lookups = [form for code in given for form in equivalents(code)]
        query = select(Barcode.code, Variant.sku).join(Variant, Barcode.variant_id == Variant.id).where(Barcode.code.in_(lookups))
        if product.id is not None:
            query = query.where(Variant.product_id != product.id)
        taken = db.session.execute(query).first()
        if taken:
            raise Conflict(f"barcode {taken.code} already belongs to SKU {taken.sku}", {"barcode": taken.code, "sku": taken.sku})

    by_sku = {v.sku: v for v in product.variants}
    by_sku.update({sku: v for sku, v in existing.items()})
    for sku, variant in generated_sku_successors(product.variants, variants_in, set(by_sku)).items():
        variant.sku, variant.sku_generated = sku, False
        by_sku[sku] = variant
    owned = {canonical(barcode.code): (variant, barcode) for variant in by_sku.values() for barcode in variant.barcodes}
    kept = []
    for position, vin in enumerate(variants_in):
        price: Money = vin["price"]
        compare: Money | None = vin.get("compare_at_price")
        if compare is not None and compare.currency != price.currency:
            raise ValidationError("compare_at_price must be in the price's currency", field=f"variants.{position}.compare_at_price")
        variant = by_sku.get(vin["sku"])
        if variant is None:
            variant = Variant(sku=vin["sku"], sku_generated=False)
            product.variants.append(variant)
        if "sku_generated" in vin:
            variant.sku_generated = bool(vin["sku_generated"])
        options = {str(k).lower(): str(v) for k, v in (vin.get("options") or {}).items() if v not in (None, "")}
        variant.options = options
        variant.title = vin.get("title") or " / ".join(options.values()) or "Default"
        variant.price_amount = price.amount
        variant.currency = price.currency
        variant.compare_at_amount = compare.amount if compare else None
        variant.position = position
        codes = [normalise(c)[0] for c in vin.get("barcodes") or []]
        # a code that moves between this product's variants keeps its row (a new row would
        # collide with the old one under the unique constraint before the old one is deleted)
        barcodes = []
        for code in codes:
            holder, barcode = owned.get(canonical(code), (None, None))
            if barcode is None:
                barcode = Barcode(code=code, symbology=normalise(code)[1])
            else:
                if holder is not variant:
                    if barcode in holder.barcodes:  # not yet replaced (the holder comes later, or is being removed)
                        holder.barcodes.remove(barcode)
                    owned[canonical(code)] = (variant, barcode)
                barcode.code, barcode.symbology = code, normalise(code)[1]  # the form given now (UPC-A or EAN-13)
            barcodes.append(barcode)
        variant.barcodes[:] = barcodes
        kept.append(variant)

    removed = [v for v in product.variants if v not in kept]
    for variant in removed:
        if variant.id is not None and db.session.scalar(select(exists().where(StockLevel.variant_id == variant.id))):
            continue  # has stock history: keep it
        product.variants.remove(variant)
    _flush_new_skus_and_barcodes(skus, given)
    product.search_text = _search_text(product)
    db.session.flush()
    emit("product.updated", {"handle": product.handle, "skus": [v.sku for v in product.variants]})
    return product, created


def _flush_new_skus_and_barcodes(skus: list[str], barcodes: dict[str, str]) -> None:
    """Flush the product's rows; a SKU or barcode that a concurrent upsert of another handle took
    in the meantime is a Conflict (409), not a unique violation (500).

    The check above (``existing``, ``taken``) cannot see an uncommitted row of another transaction;
    the unique index can: on PostgreSQL the INSERT waits for that transaction and fails once it
    commits.  The flush runs in a savepoint so that the failure is reported, not left as an aborted
    transaction.
    """
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:
        detail = str(error.orig).lower()
        if "barcode" in detail:
            raise Conflict("a barcode of this product was just given to another product", {"barcodes": sorted(barcodes)}) from error
        if "sku" in detail:
            raise Conflict("a SKU of this product was just given to another product", {"skus": skus}) from error
        raise


def generated_sku_successors(variants: list[Variant], variants_in: list[dict], known_skus: set[str]) -> dict[str, Variant]:
    """Which of ``variants`` (one product's) a SKU of ``variants_in`` renames: {new SKU: variant}.

    A variant whose SKU is generated and that ``variants_in`` no longer lists is renamed by the first
    input with the same options whose SKU is not in ``known_skus`` and not itself generated."""
    listed = {vin["sku"] for vin in variants_in}
    renamable: dict[tuple, Variant] = {}
    for variant in variants:
        if variant.sku_generated and variant.sku not in listed:
            renamable.setdefault(options_key(variant.options), variant)
    successors = {}
    for vin in variants_in:
        if renamable and vin["sku"] not in known_skus and not vin.get("sku_generated"):
            variant = renamable.pop(options_key(vin.get("options")), None)
            if variant is not None:
                successors[vin["sku"]] = variant
    return successors


def options_key(options: dict | None) -> tuple:
    """Options as upsert_product stores them (names lower case, empty values left out), comparable."""
    return tuple(sorted((str(name).lower(), str(value)) for name, value in (options or {}).items() if value not in (None, "")))


def variant_as_input(variant: Variant) -> dict:
    """A stored variant in the shape of upsert data."""
    return {
        "sku": variant.sku,
        "sku_generated": variant.sku_generated,
        "title": variant.title,
        "price": variant.price,
        "compare_at_price": variant.compare_at_price,
        "barcodes": [barcode.code for barcode in variant.barcodes],
        "options": dict(variant.options or {}),
    }


def _stored_form(product: Product) -> tuple:
    """A stored product in the comparable form of its upsert data."""
    return _comparable(
        {
            "title": product.title,
            "description": product.description,
            "vendor": product.vendor,
            "category": product.category.name if product.category else None,
            "status": product.status,
            "tags": product.tags,
            "images": [{"url": image.url, "alt": image.alt} for image in product.images],
            "variants": [variant_as_input(variant) for variant in product.variants],
        }
    )


def _comparable(data: dict) -> tuple:
    """What upsert_product would store for ``data``, as a value: equal means an upsert would change nothing."""
    variants = []
    for variant in data["variants"]:
        options = {str(k).lower(): str(v) for k, v in (variant.get("options") or {}).items() if v not in (None, "")}
        title = variant.get("title") or " / ".join(options.values()) or "Default"
        variants.append(
            (
                variant["sku"],
                title,
                variant["price"],
                variant.get("compare_at_price"),
                sorted(variant.get("barcodes") or []),
                options,
            )
        )
    category = (data.get("category") or "").strip()
    return (
        data["title"],
        data.get("description") or "",
        data.get("vendor") or "",
        slugify(category) if category else None,
        data.get("status") or "active",
        list(data.get("tags") or []),
        [(image["url"], image.get("alt") or "") for image in data.get("images") or []],
        variants,
    )


def product_matches(product: Product, data: dict) -> bool:
    """True when upserting ``data`` would change nothing about the stored ``product``."""
    if _stored_form(product) != _comparable(data):
        return False
    generated = {variant.sku: variant.sku_generated for variant in product.variants}
    return all(bool(vin["sku_generated"]) == generated.get(vin["sku"]) for vin in data["variants"] if "sku_generated" in vin)


def get_product(handle: str) -> Product:
    """The product with this handle (in any Unicode normal form), with its variants, barcodes and images; NotFound otherwise."""
    product = db.session.scalar(
        select(Product)
        .where(Product.handle == normalise_handle(handle))
        .options(selectinload(Product.variants).selectinload(Variant.barcodes), selectinload(Product.images))
    )
    if product is None:
        raise NotFound(f"no product with handle {handle!r}")
    return product


def find_variant_by_barcode(code: str) -> Variant | None:
    """The variant with this EAN-13 or UPC-A (either form), or None."""
    code = "".join(ch for ch in str(code) if ch.isdigit())
    if not code:
        return None
    barcode = db.session.scalar(select(Barcode).where(Barcode.code.in_(equivalents(code))))
    return db.session.get(Variant, barcode.variant_id) if barcode else None


def find_variant_by_sku(sku: str) -> Variant | None:
    return db.session.scalar(select(Variant).where(Variant.sku == sku))


def search_products(
    q: str = "", cursor: str | None = None, limit: int = 24, statuses=("active",), category: str | None = None
) -> tuple[list[Product], str | None]:
    """Products whose name, SKU, barcode or attributes match ``q`` (every word), ordered by id, cursor-paged."""
    q = (q or "").strip()
    query = select(Product).options(selectinload(Product.variants).selectinload(Variant.barcodes), selectinload(Product.images))
    if statuses:
        query = query.where(Product.status.in_(statuses))
    if category:
        query = query.join(Category, Product.category_id == Category.id).where(Category.slug == category)
    if q:
        digits = q.replace(" ", "")
        conditions = []
        if digits.isdigit() and 8 <= len(digits) <= 14:
            conditions.append(
                Product.id.in_(
                    select(Variant.product_id).join(Barcode, Barcode.variant_id == Variant.id).where(Barcode.code.in_(equivalents(digits)))
                )
            )
        conditions.append(Product.id.in_(select(Variant.product_id).where(Variant.sku.ilike(_like_prefix(q), escape="\\"))))
        words = [w for w in re.split(r"\s+", q.lower()) if w]
        conditions.append(and_(*[Product.search_text.like(f"%{_escape_like(w)}%", escape="\\") for w in words]))
        query = query.where(or_(*conditions))
    after = decode_cursor(cursor)
    if after is not None:
        if not isinstance(after, int):
            raise ValidationError("not a valid cursor", field="cursor")
        query = query.where(Product.id > after)
    products = list(db.session.scalars(query.order_by(Product.id).limit(limit + 1)).unique())
    next_cursor = encode_cursor(products[limit - 1].id) if len(products) > limit else None
    return products[:limit], next_cursor


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(text: str) -> str:
    return _escape_like(text) + "%"


def list_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))
