"""The demo brand loaded by ``flask --app web seed-demo`` and the banner ``make run`` prints."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

import inventory
from accounts import ROLES, ApiKey, KioskDevice, Staff, authenticate_staff
from core import db
from inventory import Barcode, Location, Product, ProductImage, ShelfPosition, StockLevel, Variant
from inventory.barcodes import symbology
from web import demo

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "web" / "static"
SMALL = 12  # the showcase products and a few more: enough for everything but the size checks


def seed(products=SMALL):
    summary = demo.seed(products=products)
    db.session.commit()
    return summary


def test_full_demo_is_a_recognisable_catalogue_with_a_consistent_ledger():
    summary = seed(300)

    products = db.session.scalar(select(func.count(Product.id)))
    variants = db.session.scalar(select(func.count(Variant.id)))
    assert products == 300 and 1_800 <= variants <= 2_400
    assert f"{variants} SKUs" in summary
    statuses = Counter(db.session.scalars(select(Product.status)))
    assert statuses["active"] >= 280 and 1 <= statuses["draft"] <= 20
    assert len(inventory.list_categories()) >= 10
    assert {v.currency for v in db.session.scalars(select(Variant))} == {"EUR"}
    assert db.session.scalar(select(func.count(Variant.id)).where(Variant.compare_at_amount.is_not(None))) > 0

    codes = list(db.session.scalars(select(Barcode.code)))
    assert len(codes) == variants == len(set(codes))
    assert all(symbology(code) == "ean13" for code in codes)

    assert inventory.ledger_mismatches() == []
    stores = {loc.id: loc.code for loc in inventory.list_locations(kinds=("store",))}
    warehouse = inventory.get_location(demo.WAREHOUSE.code)
    levels = list(db.session.scalars(select(StockLevel)))
    at_stores = [lv for lv in levels if lv.location_id in stores]
    assert all(0 <= lv.on_hand <= 8 for lv in at_stores)
    store_units = Counter(lv.on_hand for lv in at_stores)
    assert store_units[0] > 50 and store_units[1] > 50, "low and out-of-stock SKUs exist in stores"
    warehouse_units = sum(lv.on_hand for lv in levels if lv.location_id == warehouse.id)
    assert all(warehouse_units > sum(lv.on_hand for lv in at_stores if lv.location_id == store_id) for store_id in stores)
    stocked_in_stores = {lv.variant_id for lv in at_stores}
    assert db.session.scalar(select(func.count(Variant.id)).where(Variant.id.not_in(stocked_in_stores))) > 0, "some SKUs only at the warehouse"

    shelved = {(sp.location_id, sp.variant_id) for sp in db.session.scalars(select(ShelfPosition))}
    assert {(lv.location_id, lv.variant_id) for lv in at_stores} <= shelved
    assert all(sp.zone and sp.aisle and sp.bay for sp in db.session.scalars(select(ShelfPosition)))

    images = list(db.session.scalars(select(ProductImage)))
    per_product = Counter(image.product_id for image in images)
    assert len(per_product) == 300 and set(per_product.values()) <= {1, 2}
    assert all(image.url.startswith("/static/products/") and (STATIC / image.url.removeprefix("/static/")).is_file() for image in images)


def test_every_category_has_a_placeholder_image_in_every_colour_family():
    for line in demo.LINES:
        for family in demo.IMAGE_FAMILIES:
            path = STATIC / "products" / f"{line.image_stem}-{family}.svg"
            assert path.is_file() and path.read_text().startswith("<svg") and path.stat().st_size < 4_000
    assert {colour.family for colour in demo.PALETTE} == set(demo.IMAGE_FAMILIES)


PLAN_DIGEST = """
import hashlib
from web import demo
plan = demo.plan_catalogue(300)
text = repr([(v.sku, v.barcode) for p in plan for v in p.variants]) + repr(sorted(demo.plan_stock(plan).items()))
print(hashlib.sha1(text.encode()).hexdigest())
"""


def test_demo_plan_is_the_same_on_every_clone():
    """Two processes with different string-hash seeds (as two clones would have) plan the same brand."""
    digests = {
        subprocess.run(
            [sys.executable, "-c", PLAN_DIGEST], capture_output=True, text=True, check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed}
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1, digests
    first = demo.plan_catalogue(300)
    assert [p.title for p in demo.plan_catalogue(SMALL)[:3]] == ["Ridgeline Trail Jacket", "Tempo 3 Running Shoe", "Cairn 28 Backpack"]
    skus = [v.sku for p in first for v in p.variants]
    assert len(skus) == len(set(skus)) and "RTJ-MOSS-M" in skus


def test_seed_creates_three_stores_and_a_warehouse_with_time_zones_and_addresses():
    seed()
    locations = {loc.code: loc for loc in db.session.scalars(select(Location))}
    assert sorted(code for code, loc in locations.items() if loc.kind == "store") == ["AMS-CENTRUM", "BER-MITTE", "MUC-MAX"]
    assert [code for code, loc in locations.items() if loc.kind == "warehouse"] == ["WH-EU"]
    assert locations["AMS-CENTRUM"].timezone == "Europe/Amsterdam" and locations["BER-MITTE"].timezone == "Europe/Berlin"
    for location in locations.values():
        ZoneInfo(location.timezone)
        assert location.address and location.name


def test_showcase_jacket_tells_the_whole_stock_story():
    seed()
    product = inventory.get_product("ridgeline-trail-jacket")
    assert product.title == "Ridgeline Trail Jacket" and product.category.name == "Jackets"
    moss_m = next(v for v in product.variants if v.sku == "RTJ-MOSS-M")
    assert moss_m.options == {"size": "M", "color": "Moss"} and moss_m.price_amount == 22995
    items, unknown = inventory.availability(["RTJ-MOSS-M", "RTJ-MOSS-S", "RTJ-MOSS-L"], "BER-MITTE")
    by_sku = {item["sku"]: item for item in items}
    assert unknown == []
    assert by_sku["RTJ-MOSS-M"] == {"sku": "RTJ-MOSS-M", "store": "BER-MITTE", "on_hand": 3, "reserved": 1, "available": 2}
    assert by_sku["RTJ-MOSS-S"]["available"] == 0 and by_sku["RTJ-MOSS-L"]["available"] == 1
    assert inventory.ledger_mismatches() == []
    shelf = inventory.stock_by_location([moss_m.id])[moss_m.id]
    assert next(row for row in shelf if row["location"].code == "BER-MITTE")["shelf"].zone == "Outerwear"


def test_demo_staff_of_every_role_can_sign_in_with_the_documented_password():
    seed()
    assert {role for role, *_ in demo.DEMO_LOGINS} == set(ROLES)
    for role, email, password, stores in demo.DEMO_LOGINS:
        staff = authenticate_staff(email, password)
        assert staff is not None and staff.role == role
        assert sorted(s.code for s in staff.stores) == sorted(stores)
    for store in demo.STORE_CODES:
        roles_here = {role for role, _, _, stores in demo.DEMO_LOGINS if store in stores}
        assert {"associate", "manager"} <= roles_here


def test_demo_partner_key_reads_availability(client):
    seed()
    response = client.get("/api/v1/availability?sku=RTJ-MOSS-M&sku=NOPE-1&store=BER-MITTE", headers={"Authorization": f"Bearer {demo.DEMO_API_KEY}"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["items"] == [{"sku": "RTJ-MOSS-M", "store": "BER-MITTE", "on_hand": 3, "reserved": 1, "available": 2}]
    assert body["unknown"] == ["NOPE-1"]


def test_demo_kiosks_are_bound_to_their_stores():
    seed()
    devices = {device.location.code for device in db.session.scalars(select(KioskDevice))}
    assert devices == set(demo.STORE_CODES)


def test_product_placeholder_images_are_served_as_svg(client):
    seed()
    url = db.session.scalar(select(ProductImage.url).order_by(ProductImage.id))
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data


def test_has_data_turns_true_once_seeded():
    assert demo.has_data() is False
    seed()
    assert demo.has_data() is True


def test_seed_demo_if_empty_does_nothing_the_second_time(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--if-empty", "--products", str(SMALL)])
    assert first.exit_code == 0, first.output
    assert "Seeded Northwind Outfitters" in first.output
    db.session.expire_all()
    counts = (db.session.scalar(select(func.count(Variant.id))), db.session.scalar(select(func.count(Staff.id))))
    second = runner.invoke(args=["seed-demo", "--if-empty", "--products", str(SMALL)])
    assert second.exit_code == 0 and "nothing to do" in second.output
    db.session.expire_all()
    assert (db.session.scalar(select(func.count(Variant.id))), db.session.scalar(select(func.count(Staff.id)))) == counts


def test_seed_demo_without_if_empty_refuses_a_catalogue_that_has_products(app, create_product):
    create_product()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--products", str(SMALL)])
    assert result.exit_code == 1 and "already holds products" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Product.id))) == 1
    assert db.session.scalar(select(func.count(Staff.id))) == 0


def test_seed_keeps_a_store_made_by_hand_before(create_location):
    create_location("BER-MITTE", name="Berlin Mitte (hand made)")
    seed()
    stores = list(db.session.scalars(select(Location).where(Location.code == "BER-MITTE")))
    assert len(stores) == 1 and stores[0].name == "Berlin Mitte (hand made)"


def test_describe_lists_urls_logins_kiosk_links_and_a_ready_curl():
    seed()
    banner = demo.describe(8123)
    assert "http://localhost:8123/login" in banner
    assert "http://localhost:8123/api/v1/openapi.json" in banner
    for _, email, password, _ in demo.DEMO_LOGINS:
        assert email in banner
    assert demo.DEMO_PASSWORD in banner
    for token in demo.DEMO_KIOSK_TOKENS.values():
        assert f"http://localhost:8123/kiosk/activate/{token}" in banner
    assert demo.DEMO_API_KEY in banner
    assert f"curl -s -H 'Authorization: Bearer {demo.DEMO_API_KEY}' 'http://localhost:8123/api/v1/availability?sku=RTJ-MOSS-M" in banner


def test_describe_without_demo_data_says_so_and_shows_no_secrets():
    banner = demo.describe(8000)
    assert "no demo data" in banner
    assert demo.DEMO_API_KEY not in banner and demo.DEMO_PASSWORD not in banner and "kiosk/activate" not in banner
    assert "http://localhost:8000/login" in banner


def test_describe_leaves_out_a_revoked_key_a_deactivated_login_and_a_revoked_kiosk():
    from core import clock

    seed()
    db.session.scalar(select(ApiKey)).revoked_at = clock.now()
    db.session.scalar(select(Staff).where(Staff.email == "ana@northwind.example")).active = False
    ber_token = demo.DEMO_KIOSK_TOKENS["BER-MITTE"]
    next(k for k in db.session.scalars(select(KioskDevice)) if k.location.code == "BER-MITTE").revoked_at = clock.now()
    db.session.commit()
    banner = demo.describe(8000)
    assert demo.DEMO_API_KEY not in banner
    assert "ana@northwind.example" not in banner and "jonas@northwind.example" in banner
    assert ber_token not in banner and demo.DEMO_KIOSK_TOKENS["MUC-MAX"] in banner
