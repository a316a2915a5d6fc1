"""Write a Shopify product CSV export of a given size, in the shape Shopify's admin writes it.

    .venv/bin/python bench/shopify_export.py /tmp/products.csv                  # 50,000 rows, classic columns
    .venv/bin/python bench/shopify_export.py /tmp/new.csv --format 2024 --without-sku 0.1

What makes it look like a real export: the classic header (``Handle``, ``Body (HTML)``,
``Variant SKU`` ...) or the 2024+ one (``URL handle``, ``Description``, ``SKU`` ...); a product
spread over several rows, the product fields on its first row only; the first images on the
variant rows and the rest on image-only rows; quoted multi-line HTML with commas and doubled
quotes; ``Default Title`` for products without options; all-digit SKUs and barcodes written
with a leading apostrophe; CRLF line ends (``csv``'s default, as Shopify writes).  With
``--scatter`` some products have a row far from the others (as after a spreadsheet sort).
The same arguments always write the same file.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inventory.barcodes import make_ean13

CLASSIC = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Product Category",
    "Type",
    "Tags",
    "Published",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Option3 Name",
    "Option3 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Fulfillment Service",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Requires Shipping",
    "Variant Taxable",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Gift Card",
    "SEO Title",
    "SEO Description",
    "Google Shopping / Google Product Category",
    "Google Shopping / Gender",
    "Google Shopping / Age Group",
    "Google Shopping / MPN",
    "Google Shopping / Condition",
    "Google Shopping / Custom Product",
    "Variant Image",
    "Variant Weight Unit",
    "Variant Tax Code",
    "Cost per item",
    "Status",
]
MODERN = [
    "Title",
    "URL handle",
    "Description",
    "Vendor",
    "Product category",
    "Type",
    "Tags",
    "Published on online store",
    "Status",
    "SKU",
    "Barcode",
    "Option1 name",
    "Option1 value",
    "Option1 Linked To",
    "Option2 name",
    "Option2 value",
    "Option2 Linked To",
    "Option3 name",
    "Option3 value",
    "Option3 Linked To",
    "Price",
    "Compare-at price",
    "Cost per item",
    "Charge tax",
    "Tax code",
    "Unit price total measure",
    "Unit price total measure unit",
    "Unit price base measure",
    "Unit price base measure unit",
    "Inventory tracker",
    "Inventory quantity",
    "Continue selling when out of stock",
    "Weight value (grams)",
    "Weight unit for display",
    "Requires shipping",
    "Fulfillment service",
    "Product image URL",
    "Image position",
    "Image alt text",
    "Variant image URL",
    "Gift card",
    "SEO title",
    "SEO description",
    "Google Shopping / Google product category",
    "Google Shopping / Gender",
    "Google Shopping / Age group",
    "Google Shopping / Manufacturer part number (MPN)",
    "Google Shopping / Condition",
]
# classic name -> 2024+ name, for the columns this generator fills
MODERN_NAME = {
    "Handle": "URL handle",
    "Body (HTML)": "Description",
    "Product Category": "Product category",
    "Published": "Published on online store",
    "Option1 Name": "Option1 name",
    "Option1 Value": "Option1 value",
    "Option2 Name": "Option2 name",
    "Option2 Value": "Option2 value",
    "Variant SKU": "SKU",
    "Variant Grams": "Weight value (grams)",
    "Variant Inventory Tracker": "Inventory tracker",
    "Variant Inventory Qty": "Inventory quantity",
    "Variant Inventory Policy": "Continue selling when out of stock",
    "Variant Fulfillment Service": "Fulfillment service",
    "Variant Price": "Price",
    "Variant Compare At Price": "Compare-at price",
    "Variant Requires Shipping": "Requires shipping",
    "Variant Taxable": "Charge tax",
    "Variant Barcode": "Barcode",
    "Image Src": "Product image URL",
    "Image Position": "Image position",
    "Image Alt Text": "Image alt text",
    "Gift Card": "Gift card",
    "SEO Title": "SEO title",
    "SEO Description": "SEO description",
    "Variant Weight Unit": "Weight unit for display",
}
TYPES = (
    ("Jackets", "Apparel & Accessories > Clothing > Outerwear > Coats & Jackets"),
    ("Shirts", "Apparel & Accessories > Clothing > Shirts & Tops"),
    ("Knitwear", "Apparel & Accessories > Clothing > Sweaters"),
    ("Trousers", "Apparel & Accessories > Clothing > Pants"),
    ("Hats", "Apparel & Accessories > Clothing Accessories > Hats"),
    ("Bags", "Apparel & Accessories > Handbags, Wallets & Cases > Handbags"),
)
WORDS = ("Trail", "Harbour", "Field", "Linen", "Merino", "Canvas", "Ridge", "Coast", "Alpine", "Urban", "Summit", "Meadow", "Drift", "Cedar")
SIZES = ("XS", "S", "M", "L", "XL", "XXL")
COLOURS = ("Moss", "Ink", "Sand", "Rust", "Chalk", "Slate", "Ochre", "Indigo")
VENDORS = ("Northwind Outfitters", "Atelier Nord", "Kestrel & Co")
CDN = "https://cdn.shopify.com/s/files/1/0612/3456/7890/products/"


def products(rng: random.Random, rows: int, without_sku: float):
    """(handle, [row dict by classic column name]) per product until ``rows`` rows are written."""
    written = number = 0
    while written < rows:
        number += 1
        kind, category = rng.choice(TYPES)
        title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {kind[:-1] if kind.endswith('s') else kind} {number}"
        handle = title.lower().replace(" ", "-")
        sizes = rng.sample(SIZES, rng.choice((1, 2, 3, 4, 5)))
        colours = rng.sample(COLOURS, rng.choice((1, 1, 2, 3)))
        options = [(size, colour) for colour in colours for size in sizes]
        one_variant = len(options) == 1 and rng.random() < 0.5
        images = [f"{CDN}{handle}-{n}.jpg?v=17{number:08d}" for n in range(1, rng.choice((2, 3, 4)) + 1)]
        price = f"{rng.randrange(19, 240)}.{rng.choice(('00', '50', '90', '95'))}"
        product_rows = []
        for index, (size, colour) in enumerate(options):
            sku = (
                ""
                if rng.random() < without_sku
                else (
                    f"'{10_000_000 + number * 100 + index}" if rng.random() < 0.2 else f"{kind[:3].upper()}-{number:06d}-{size}-{colour[:3].upper()}"
                )
            )
            row = {
                "Handle": handle,
                "Variant SKU": sku,
                "Variant Grams": "450",
                "Variant Inventory Tracker": "shopify",
                "Variant Inventory Qty": str(rng.randrange(-1, 30)),
                "Variant Inventory Policy": "deny",
                "Variant Fulfillment Service": "manual",
                "Variant Price": price,
                "Variant Compare At Price": "",
                "Variant Requires Shipping": "true",
                "Variant Taxable": "true",
                "Variant Barcode": "'" + make_ean13(f"40{number:06d}{index:04d}"),
                "Variant Weight Unit": "kg",
            }
            if one_variant:
                row.update({"Option1 Name": "Title", "Option1 Value": "Default Title"})
            else:
                row.update({"Option1 Value": size, "Option2 Value": colour})
            product_rows.append(row)
        first = product_rows[0]
        first.update(
            {
                "Title": title,
                "Vendor": rng.choice(VENDORS),
                "Product Category": category,
                "Type": kind,
                "Tags": ", ".join(rng.sample(("new-in", "outdoor", "bestseller", "organic", "sale", "winter"), 2)),
                "Body (HTML)": f'<p>The {title}, made to last.</p>\n<ul>\n<li>Recycled fibres, "low-impact" dye</li>\n<li>Care: 30 °C, line dry</li>\n</ul>',
                "Published": "true",
                "Gift Card": "false",
                "SEO Title": title,
                "Status": "active",
            }
        )
        if not one_variant:
            first.update({"Option1 Name": "Size", "Option2 Name": "Color"})
        for position, url in enumerate(images, start=1):
            image = {"Image Src": url, "Image Position": str(position), "Image Alt Text": f"{title}, view {position}"}
            if position <= len(product_rows):
                product_rows[position - 1].update(image)
            else:
                product_rows.append({"Handle": handle, **image})
        written += len(product_rows)
        yield handle, product_rows


def write(path: Path, rows: int, form: str, without_sku: float, scatter: float, seed: int) -> int:
    rng = random.Random(seed)
    header = CLASSIC if form == "classic" else MODERN
    rename = (lambda name: name) if form == "classic" else (lambda name: MODERN_NAME.get(name, name))
    held_back = []  # rows written later, far from their product's other rows
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for _, product_rows in products(rng, rows, without_sku):
            if len(product_rows) > 1 and rng.random() < scatter:
                held_back.append(product_rows.pop())
            for row in product_rows:
                cells = {rename(name): value for name, value in row.items()}
                writer.writerow([cells.get(name, "") for name in header])
                count += 1
            if len(held_back) > 50:
                for row in held_back:
                    cells = {rename(name): value for name, value in row.items()}
                    writer.writerow([cells.get(name, "") for name in header])
                    count += 1
                held_back.clear()
        for row in held_back:
            cells = {rename(name): value for name, value in row.items()}
            writer.writerow([cells.get(name, "") for name in header])
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=50_000, help="data rows to write (at least; a product is never cut)")
    parser.add_argument("--format", choices=("classic", "2024"), default="classic", help="column set")
    parser.add_argument("--without-sku", type=float, default=0.0, help="share of variants without a SKU")
    parser.add_argument("--scatter", type=float, default=0.0, help="share of products with one row far from the others")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    count = write(args.path, args.rows, args.format, args.without_sku, args.scatter, args.seed)
    print(f"{args.path}: {count} rows, {args.path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
