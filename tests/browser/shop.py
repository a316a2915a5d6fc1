"""A small, realistic shop for the UI tests (tablet and kiosk, test client and browser).

Three stores, a warehouse, shoes with size × colour, barcodes, shelf positions, a reservation,
and a Shopify-style HTML description with things that must never reach a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import Money, db
from inventory import Location, make_ean13, record_movement, reserve, set_shelf_position, upsert_product

HOSTILE_DESCRIPTION = (
    '<h2>Grip on every trail</h2><p style="color:red" onclick="steal()">Waterproof <strong>GTX</strong> upper, '
    '<a href="javascript:alert(1)">Vibram</a> sole.</p><script>alert("x")</script>'
    '<img src="x" onerror="alert(2)"><ul><li>Weight 310 g</li><li>Drop 8 mm</li></ul><iframe src="https://evil.example"></iframe>'
)


@dataclass
class Shop:
    barcodes: dict
    stores: dict


def barcode(n: int) -> str:
    return make_ean13(f"400638{n:06d}")


def build_shop() -> Shop:
    stores = {}
    for code, name, kind, tz in [
        ("S1", "Berlin Mitte", "store", "Europe/Berlin"),
        ("S2", "Hamburg Altona", "store", "Europe/Berlin"),
        ("S3", "Lisbon Chiado", "store", "Europe/Lisbon"),
        ("WH", "Online warehouse", "warehouse", "Europe/Berlin"),
    ]:
        location = Location(code=code, name=name, kind=kind, timezone=tz)
        db.session.add(location)
        stores[code] = location
    db.session.flush()

    codes = {sku: barcode(i + 1) for i, sku in enumerate(["TR-41-MOSS", "TR-42-MOSS", "TR-43-MOSS", "TR-42-SLATE", "RS-M"])}
    codes["MB-OS"] = "036000291452"  # a UPC-A; scanners may send it as the EAN-13 0036000291452
    eur = lambda amount: Money(amount, "EUR")  # noqa: E731
    runner_variants = []
    for sku in ["TR-41-MOSS", "TR-42-MOSS", "TR-43-MOSS", "TR-42-SLATE"]:
        _, size, colour = sku.split("-")
        runner_variants.append(
            {
                "sku": sku,
                "price": eur(12900),
                "compare_at_price": eur(15900),
                "barcodes": [codes[sku]],
                "options": {"size": size, "color": colour.capitalize()},
            }
        )
    upsert_product(
        {
            "handle": "trail-runner-gtx",
            "title": "Trail Runner GTX",
            "vendor": "Northpeak",
            "category": "Footwear",
            "description": HOSTILE_DESCRIPTION,
            "images": [{"url": "/static/products/trail-runner-gtx.svg", "alt": "Trail Runner GTX in moss"}],
            "variants": runner_variants,
        }
    )
    upsert_product(
        {
            "handle": "rain-shell",
            "title": "Rain Shell Jacket",
            "vendor": "Northpeak",
            "category": "Jackets",
            "description": "Packable shell.\n\nTaped seams.",
            "variants": [{"sku": "RS-M", "price": eur(9900), "barcodes": [codes["RS-M"]], "options": {"size": "M"}}],
        }
    )
    upsert_product(
        {
            "handle": "merino-beanie",
            "title": "Merino Beanie",
            "vendor": "Northpeak",
            "category": "Accessories",
            "variants": [{"sku": "MB-OS", "price": eur(2900), "barcodes": [codes["MB-OS"]], "options": {"size": "One size"}}],
        }
    )
    for store, sku, quantity in [
        ("S1", "TR-41-MOSS", 6),
        ("S1", "TR-42-MOSS", 1),
        ("S1", "RS-M", 1),
        ("S2", "TR-43-MOSS", 3),
        ("S2", "TR-41-MOSS", 2),
        ("WH", "TR-43-MOSS", 12),
        ("WH", "TR-41-MOSS", 40),
    ]:
        record_movement(store, sku, "count", quantity, reason="test setup")
    reserve("S1", [{"sku": "TR-41-MOSS", "quantity": 1}], "pickup", reference="WEB-1001")
    set_shelf_position("S1", "TR-41-MOSS", "Footwear wall", "A3", "12")
    set_shelf_position("S1", "TR-42-MOSS", "Footwear wall", "A3", "13")
    set_shelf_position("S2", "TR-41-MOSS", "Back room", "", "")
    db.session.commit()
    return Shop(barcodes=codes, stores=stores)
