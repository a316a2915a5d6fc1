"""Catalogue endpoints against SPEC §3: products upsert, get, search, barcodes, stores."""

import io
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

import inventory
from core import db
from inventory import Category

PRODUCT = {
    "title": "Ridgeline Trail Jacket",
    "description": "<p>Waterproof, <b>breathable</b>.</p>",
    "vendor": "Northwind",
    "category": "Jackets",
    "status": "active",
    "images": [{"url": "/static/products/jacket.svg", "alt": "front"}],
    "variants": [
        {
            "sku": "RTJ-MOSS-M",
            "price": {"amount": 12900, "currency": "EUR"},
            "compare_at_price": None,
            "barcodes": ["4006381333931"],
            "options": {"size": "M", "color": "Moss"},
        },
        {
            "sku": "RTJ-MOSS-L",
            "price": {"amount": 12900, "currency": "EUR"},
            "compare_at_price": {"amount": 15900, "currency": "EUR"},
            "barcodes": ["036000291452"],
            "options": {"size": "L", "color": "Moss"},
        },
    ],
}


def test_put_creates_then_updates_the_same_product(partner):
    first = partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    assert first.status_code == 201, first.json
    again = partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    assert again.status_code == 200
    body = partner.get("/api/v1/products/ridgeline-trail-jacket").json
    assert body["handle"] == "ridgeline-trail-jacket"
    assert body["category"] == "Jackets"
    assert [v["sku"] for v in body["variants"]] == ["RTJ-MOSS-M", "RTJ-MOSS-L"]
    assert body["variants"][1]["compare_at_price"] == {"amount": 15900, "currency": "EUR"}
    assert body["variants"][1]["barcodes"] == ["036000291452"]
    assert body["variants"][0]["options"] == {"size": "M", "color": "Moss"}
    listing = partner.get("/api/v1/products?q=ridgeline").json
    assert len(listing["items"]) == 1


def test_put_with_only_required_fields(partner):
    response = partner.put(
        "/api/v1/products/plain-cap", json={"title": "Cap", "variants": [{"sku": "CAP-1", "price": {"amount": 1999, "currency": "EUR"}}]}
    )
    assert response.status_code == 201
    assert response.json["status"] == "active"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"variants": []}, "variants"),
        ({"variants": [{"sku": "X", "price": {"amount": "12.90", "currency": "EUR"}}]}, "variants.0.price.amount"),
        ({"variants": [{"sku": "X", "price": {"amount": 100, "currency": "euro"}}]}, "variants.0.price.currency"),
        ({"variants": [{"sku": "X", "price": {"amount": 100, "currency": "EUR"}, "barcodes": ["4006381333932"]}]}, "variants.0.barcodes"),
        ({"status": "deleted"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_put_with_bad_input_names_the_field_and_changes_nothing(partner, change, field):
    response = partner.put("/api/v1/products/bad-one", json={**PRODUCT, **change})
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["code"] == "invalid_request"
    assert field in error["details"], error
    assert partner.get("/api/v1/products/bad-one").status_code == 404


def test_a_sku_of_another_product_is_a_conflict(partner):
    partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    other = {"title": "Other", "variants": [{"sku": "RTJ-MOSS-M", "price": {"amount": 100, "currency": "EUR"}}]}
    response = partner.put("/api/v1/products/other", json=other)
    assert response.status_code == 409
    assert "RTJ-MOSS-M" in response.json["error"]["message"]


def test_search_by_sku_barcode_and_attribute_is_cursor_paged(partner):
    partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    for n in range(5):
        partner.put(
            f"/api/v1/products/tee-{n}",
            json={
                "title": f"Tempo Tee {n}",
                "variants": [{"sku": f"TEE-{n}", "price": {"amount": 2500, "currency": "EUR"}, "options": {"color": "Ember"}}],
            },
        )
    assert [p["handle"] for p in partner.get("/api/v1/products?q=RTJ-MOSS").json["items"]] == ["ridgeline-trail-jacket"]
    assert [p["handle"] for p in partner.get("/api/v1/products?q=4006381333931").json["items"]] == ["ridgeline-trail-jacket"]
    # UPC-A scanned as its EAN-13 form
    assert [p["handle"] for p in partner.get("/api/v1/products?q=0036000291452").json["items"]] == ["ridgeline-trail-jacket"]
    assert [p["handle"] for p in partner.get("/api/v1/products?q=moss jacket").json["items"]] == ["ridgeline-trail-jacket"]
    seen, cursor = [], None
    while True:
        page = partner.get("/api/v1/products?q=ember&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
        seen += [p["handle"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"tee-{n}" for n in range(5)]
    assert partner.get("/api/v1/products?cursor=!!nonsense").status_code == 400


def test_barcode_lookup(partner):
    partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    found = partner.get("/api/v1/barcodes/036000291452").json
    assert found["sku"] == "RTJ-MOSS-L" and found["handle"] == "ridgeline-trail-jacket"
    assert partner.get("/api/v1/barcodes/0000000000000").status_code == 404


def test_stores_list_codes_names_time_zones(partner, create_location):
    create_location("BER", "Berlin", timezone="Europe/Berlin")
    create_location("WH", "Warehouse", kind="warehouse", timezone="Europe/Berlin")
    body = partner.get("/api/v1/stores").json
    assert body["next_cursor"] is None
    assert {(s["code"], s["timezone"], s["kind"]) for s in body["items"]} == {("BER", "Europe/Berlin", "store"), ("WH", "Europe/Berlin", "warehouse")}


def test_an_unchanged_put_writes_nothing(partner):
    from core import db
    from inventory import Product

    partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT)
    stamp = db.session.query(Product).one().updated_at
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT).status_code == 200
    db.session.expire_all()
    assert db.session.query(Product).one().updated_at == stamp
    changed = {**PRODUCT, "title": "Ridgeline Trail Jacket II"}
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=changed).json["title"] == "Ridgeline Trail Jacket II"


def test_barcodes_may_move_between_variants_of_the_same_product(partner):
    """A merchant who fixes swapped barcodes re-sends the product: the codes swap, nothing else moves."""
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT).status_code == 201
    swapped = {
        **PRODUCT,
        "variants": [
            {**PRODUCT["variants"][0], "barcodes": ["036000291452"]},
            {**PRODUCT["variants"][1], "barcodes": ["4006381333931", "4006381333948"]},
        ],
    }
    response = partner.put("/api/v1/products/ridgeline-trail-jacket", json=swapped)
    assert response.status_code == 200, response.json
    assert partner.get("/api/v1/barcodes/036000291452").json["sku"] == "RTJ-MOSS-M"
    assert partner.get("/api/v1/barcodes/4006381333931").json["sku"] == "RTJ-MOSS-L"
    assert partner.get("/api/v1/barcodes/4006381333948").json["sku"] == "RTJ-MOSS-L"
    body = partner.get("/api/v1/products/ridgeline-trail-jacket").json
    assert [v["barcodes"] for v in body["variants"]] == [["036000291452"], ["4006381333931", "4006381333948"]]


def test_a_barcode_of_another_product_is_409_and_changes_nothing(partner):
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT).status_code == 201
    other = {"title": "Cap", "variants": [{"sku": "CAP-1", "price": {"amount": 1999, "currency": "EUR"}, "barcodes": ["4006381333931"]}]}
    response = partner.put("/api/v1/products/plain-cap", json=other)
    assert response.status_code == 409, response.json
    assert response.json["error"]["details"] == {"barcode": "4006381333931", "sku": "RTJ-MOSS-M"}
    assert partner.get("/api/v1/products/plain-cap").status_code == 404
    assert partner.get("/api/v1/barcodes/4006381333931").json["sku"] == "RTJ-MOSS-M"


def test_a_upc_and_its_ean13_form_are_one_code(partner):
    """036000291452 (UPC-A) and 0036000291452 (EAN-13) are the same item: never on two variants."""
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=PRODUCT).status_code == 201
    both = {
        **PRODUCT,
        "variants": [
            {**PRODUCT["variants"][0], "barcodes": ["4006381333931", "0036000291452"]},
            PRODUCT["variants"][1],
        ],
    }
    response = partner.put("/api/v1/products/ridgeline-trail-jacket", json=both)
    assert response.status_code == 400 and "variants.1.barcodes" in response.json["error"]["details"], response.json

    moved = {
        **PRODUCT,
        "variants": [
            {**PRODUCT["variants"][0], "barcodes": ["0036000291452"]},
            {**PRODUCT["variants"][1], "barcodes": []},
        ],
    }
    assert partner.put("/api/v1/products/ridgeline-trail-jacket", json=moved).status_code == 200
    assert partner.get("/api/v1/barcodes/036000291452").json["sku"] == "RTJ-MOSS-M"
    assert partner.get("/api/v1/barcodes/0036000291452").json["sku"] == "RTJ-MOSS-M"
    other = {"title": "Cap", "variants": [{"sku": "CAP-1", "price": {"amount": 1999, "currency": "EUR"}, "barcodes": ["036000291452"]}]}
    assert partner.put("/api/v1/products/plain-cap", json=other).status_code == 409


@pytest.mark.parametrize("handle", ["veste-légère", "قميص-قطن", "áo-sơ-mi", "シャツ-01"])
def test_a_handle_in_any_script_is_found_percent_encoded_or_not_and_in_either_normal_form(partner, handle):
    nfc, nfd = unicodedata.normalize("NFC", handle), unicodedata.normalize("NFD", handle)
    body = {"title": "Shirt", "variants": [{"sku": "SHIRT-1", "price": {"amount": 4900, "currency": "EUR"}}]}

    created = partner.put(f"/api/v1/products/{quote(nfd)}", json=body)

    assert created.status_code == 201, created.json
    assert created.json["handle"] == nfc
    for path in (nfc, nfd, quote(nfc), quote(nfd)):
        found = partner.get(f"/api/v1/products/{path}")
        assert (found.status_code, found.json["handle"]) == (200, nfc), path
    updated = partner.put(f"/api/v1/products/{quote(nfc)}", json={**body, "handle": nfd, "title": "Shirt II"})
    assert (updated.status_code, updated.json["title"]) == (200, "Shirt II")
    assert partner.put(f"/api/v1/products/{nfc}", json={**body, "title": "Shirt II"}).status_code == 200
    assert [item["handle"] for item in partner.get("/api/v1/products?q=shirt").json["items"]] == [nfc]


@pytest.mark.parametrize("path", ["tee%20shirt", "tee%09shirt", "tee%07", "Tee-Shirt", "-tee", "%E2%80%83tee"])
def test_a_handle_with_whitespace_a_control_character_or_capitals_is_refused(partner, path):
    body = {"title": "Tee", "variants": [{"sku": "TEE-1", "price": {"amount": 1900, "currency": "EUR"}}]}

    response = partner.put(f"/api/v1/products/{path}", json=body)

    assert response.status_code == 400, response.json
    assert "handle" in response.json["error"]["details"]


@pytest.mark.parametrize("products", [8, 1], ids=["eight-new-products", "one-new-product"])
def test_eight_concurrent_puts_that_bring_one_new_category_all_succeed_and_make_one_category(app, backend, create_key, products):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; concurrent inserts of one category are proven on PostgreSQL (TEST_DATABASE_URL)")
    headers = {"Authorization": f"Bearer {create_key('inventory:write')}"}
    barrier = threading.Barrier(8)

    def put(i):
        n = i % products
        body = {
            "title": f"Rain Jacket {n}",
            "category": "Regenjacken",
            "variants": [{"sku": f"RAIN-{n}", "price": {"amount": 9900, "currency": "EUR"}}],
        }
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                return client.put(f"/api/v1/products/rain-jacket-{n}", json=body, headers=headers).status_code
            finally:
                db.session.remove()

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(put, range(8)))

    assert sorted(statuses) == sorted([201] * products + [200] * (8 - products)), statuses
    assert db.session.scalars(select(Category.name)).all() == ["Regenjacken"]
    assert db.session.scalar(select(func.count()).select_from(inventory.Product)) == products


@pytest.mark.parametrize("shared", ["sku", "barcode"])
def test_concurrent_puts_of_one_new_sku_or_barcode_on_different_handles_create_one_and_refuse_the_rest_with_409(app, backend, create_key, shared):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; concurrent inserts of one SKU are proven on PostgreSQL (TEST_DATABASE_URL)")
    headers = {"Authorization": f"Bearer {create_key('inventory:write')}"}
    barrier = threading.Barrier(6)

    def put(i):
        variant = {"sku": "SCARF-1" if shared == "sku" else f"SCARF-{i}", "price": {"amount": 2900, "currency": "EUR"}}
        if shared == "barcode":
            variant["barcodes"] = ["4006381333931"]
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                response = client.put(f"/api/v1/products/scarf-{i}", json={"title": f"Scarf {i}", "variants": [variant]}, headers=headers)
                return response.status_code, (response.json or {}).get("error", {}).get("code")
            finally:
                db.session.remove()

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(put, range(6)))

    assert sorted(answers, key=str) == sorted([(201, None)] + [(409, "conflict")] * 5, key=str), answers
    assert db.session.scalar(select(func.count()).select_from(inventory.Product)) == 1
    assert db.session.scalar(select(func.count()).select_from(inventory.Variant)) == 1


def test_a_put_that_brings_the_real_sku_of_a_variant_with_a_generated_one_renames_it(partner):
    inventory.import_shopify_csv(io.BytesIO(b"Handle,Title,Option1 Name,Option1 Value,Variant Price\ntee,Tee,Size,M,20.00\ntee,,,L,20.00\n"))
    db.session.commit()
    ids = {variant.sku: variant.id for variant in inventory.get_product("tee").variants}
    echoed = partner.get("/api/v1/products/tee").json
    assert [v["sku"] for v in echoed["variants"]] == ["TEE-M", "TEE-L"]
    body = {"title": echoed["title"], "variants": [{key: v[key] for key in ("sku", "price", "barcodes", "options")} for v in echoed["variants"]]}

    assert partner.put("/api/v1/products/tee", json=body).status_code == 200  # sent back as it was: still generated
    body["variants"][0]["sku"] = "4711"
    response = partner.put("/api/v1/products/tee", json=body)

    assert response.status_code == 200, response.json
    db.session.expire_all()
    variants = inventory.get_product("tee").variants
    assert [(v.sku, v.id, v.sku_generated) for v in variants] == [("4711", ids["TEE-M"], False), ("TEE-L", ids["TEE-L"], True)]
