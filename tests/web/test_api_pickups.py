"""Click-and-collect and the endless aisle over the staff API: the pickups due at a store (made by the partner's
``POST /api/v1/reservations``), hand over, refuse, expiry through the sweeper; cart lines from elsewhere, where
else a SKU is, and the order's fulfilment details on the answer and the receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import inventory
import pos
from accounts import create_staff
from clienteling import CustomerEvent, create_customer
from core import clock, db
from core.actor import SYSTEM
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"
ADDRESS = {"name": "Lea Schäfer", "line1": "Torstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"}


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    create_location("WH", "Warehouse", kind="warehouse")
    pos.seed_registers(["S1", "S2"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M", "JKT-L"), price=12900, barcodes=["4006381333931", "4006381333948"])
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 10)
    set_stock("S2", "JKT-L", 2)
    set_stock("WH", "JKT-L", 5)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    create_staff("olaf@example.com", "Olaf", "associate", PASSWORD, ["S2"])
    lea = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    return {"lea": lea}


@pytest.fixture
def ana(app, world):
    return StaffCaller(app, "ana@example.com", PASSWORD)


@pytest.fixture
def olaf(app, world):
    return StaffCaller(app, "olaf@example.com", PASSWORD)


@pytest.fixture
def online_pickup(world, partner):
    """The e-commerce site's click-and-collect order CC-100234 at S1, for Lea."""
    answer = partner.post(
        "/api/v1/events",
        json={
            "events": [
                {
                    "id": "ev-1",
                    "type": "order_placed",
                    "occurred_at": clock.isoformat(clock.now()),
                    "customer": {"email": "lea@example.com"},
                    "data": {
                        "order_id": "CC-100234",
                        "lines": [{"sku": "JKT-M", "quantity": 1, "unit_price": eur(12900)}],
                        "total": eur(12900),
                    },
                }
            ]
        },
    )
    assert answer.status_code == 202 and answer.json["accepted"] == 1, answer.json
    answer = partner.post(
        "/api/v1/reservations",
        json={"store": "S1", "lines": [{"sku": "JKT-M", "quantity": 1}], "reference": "CC-100234", "kind": "pickup", "expires_in": 7 * 86400},
        key="rsv-1",
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def available(sku, store="S1"):
    items, _ = inventory.availability([sku], store)
    return items[0]["available"]


# --- pickups ------------------------------------------------------------------------------------


def test_the_store_lists_its_pickups_with_the_customer_and_finds_one_by_loyalty_code(ana, online_pickup, world):
    lea = world["lea"]
    answer = ana.get("/api/v1/stores/S1/pickups")
    assert answer.status_code == 200, answer.json
    (item,) = answer.json["items"]
    assert answer.json["next_cursor"] is None
    assert item["id"] == online_pickup["id"] and item["reference"] == "CC-100234" and item["status"] == "held"
    assert item["lines"] == [{"sku": "JKT-M", "title": "Trail Jacket — M", "quantity": 1}]
    assert item["customer"] == {"id": lea.public_id, "name": "Lea Schäfer", "loyalty_code": lea.loyalty_code}
    assert [i["id"] for i in ana.get("/api/v1/stores/S1/pickups", query_string={"q": lea.loyalty_code}).json["items"]] == [item["id"]]
    assert ana.get("/api/v1/stores/S1/pickups", query_string={"q": "CC-999"}).json["items"] == []


def test_handing_over_commits_the_hold_and_writes_the_timeline(ana, online_pickup, world):
    assert available("JKT-M") == 2
    answer = ana.post(f"/api/v1/pickups/{online_pickup['id']}/hand-over", key="ho-1")
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "committed" and answer.json["customer"]["name"] == "Lea Schäfer"
    level = inventory.availability(["JKT-M"], "S1")[0][0]
    assert (level["on_hand"], level["reserved"]) == (2, 0)
    entry = db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "pickup_collected"))
    assert entry.customer_id == world["lea"].id
    timeline = ana.get(f"/api/v1/customers/{world['lea'].public_id}/timeline", query_string={"type": "pickup_collected"})
    assert timeline.status_code == 200 and timeline.json["items"][0]["data"]["reference"] == "CC-100234"
    # the retry with its key answers the first result
    again = ana.post(f"/api/v1/pickups/{online_pickup['id']}/hand-over", key="ho-1")
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert ana.get("/api/v1/stores/S1/pickups").json["items"] == []


def test_refusing_needs_a_reason_and_releases_the_units(ana, online_pickup):
    bad = ana.post(f"/api/v1/pickups/{online_pickup['id']}/refuse", json={})
    assert bad.status_code == 400 and "reason" in bad.json["error"]["details"]
    assert available("JKT-M") == 2  # nothing changed
    answer = ana.post(f"/api/v1/pickups/{online_pickup['id']}/refuse", json={"reason": "the zip is broken"})
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "released" and available("JKT-M") == 3
    late = ana.post(f"/api/v1/pickups/{online_pickup['id']}/hand-over")
    assert late.status_code == 422 and late.json["error"]["code"] == "invalid_transition"


def test_staff_of_another_store_and_partners_cannot_reach_the_pickups(olaf, partner, online_pickup):
    assert olaf.get("/api/v1/stores/S1/pickups").status_code == 403
    assert olaf.post(f"/api/v1/pickups/{online_pickup['id']}/hand-over").status_code == 403
    assert olaf.post(f"/api/v1/pickups/{online_pickup['id']}/refuse", json={"reason": "no"}).status_code == 403
    assert partner.get("/api/v1/stores/S1/pickups").status_code == 403
    assert available("JKT-M") == 2


def test_a_reservation_that_is_no_pickup_or_none_at_all_is_not_found(ana, partner, world):
    hold = partner.post(
        "/api/v1/reservations",
        json={"store": "S1", "lines": [{"sku": "JKT-M", "quantity": 1}], "reference": "WEB-1", "kind": "online_order"},
        key="k",
    ).json
    assert ana.post(f"/api/v1/pickups/{hold['id']}/hand-over").status_code == 404
    assert ana.post("/api/v1/pickups/rsv_nope/hand-over").status_code == 404
    assert ana.get("/api/v1/stores/NOPE/pickups").status_code in (400, 403)


def test_an_expired_pickup_leaves_the_list_and_the_sweeper_frees_its_units(app, ana, partner, world, monkeypatch):
    held = partner.post(
        "/api/v1/reservations",
        json={"store": "S1", "lines": [{"sku": "JKT-M", "quantity": 2}], "reference": "CC-7", "kind": "pickup", "expires_in": 3600},
        key="k7",
    ).json
    assert [i["id"] for i in ana.get("/api/v1/stores/S1/pickups").json["items"]] == [held["id"]]
    later = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert ana.get("/api/v1/stores/S1/pickups").json["items"] == []
    result = app.test_cli_runner().invoke(args=["expire-reservations"])
    assert result.exit_code == 0 and "expired 1 reservation" in result.output
    db.session.expire_all()
    assert inventory.get_reservation(held["id"]).status == "expired" and available("JKT-M") == 3


# --- the endless aisle --------------------------------------------------------------------------


def new_cart(caller, **extra):
    answer = caller.post("/api/v1/carts", json={"store": "S1", "register": "T1", **extra})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_where_else_answers_the_warehouse_then_stores(ana):
    answer = ana.get("/api/v1/stock/elsewhere", query_string={"store": "S1", "sku": "JKT-L"})
    assert answer.status_code == 200, answer.json
    assert [(i["location"], i["available"]) for i in answer.json["items"]] == [("WH", 5), ("S2", 2)]
    assert ana.get("/api/v1/stock/elsewhere", query_string={"store": "S1", "sku": "NOPE"}).status_code == 400
    assert ana.get("/api/v1/stock/elsewhere", query_string={"store": "S2", "sku": "JKT-L"}).status_code == 403


def test_a_basket_with_take_now_shipped_and_collected_lines_checks_out_in_one_go(ana, world):
    assert ana.post("/api/v1/shifts", json={"store": "S1", "register": "T1", "opening_float": eur(10000)}).status_code == 201
    cart = new_cart(ana, customer_id=world["lea"].public_id)
    lines = f"/api/v1/carts/{cart['id']}/lines"
    assert ana.post(lines, json={"sku": "BEA-OS"}).status_code == 201
    shipped = ana.post(lines, json={"sku": "JKT-L", "fulfilment": {"kind": "ship", "from": "WH", "ship_to": ADDRESS}})
    assert shipped.status_code == 201, shipped.json
    collected = ana.post(lines, json={"barcode": "4006381333948", "fulfilment": {"kind": "collect", "from": "S2", "collect_at": "S2"}})
    assert collected.status_code == 201, collected.json
    assert [(ln["sku"], ln["fulfilment"], ln["hold"]["held"]) for ln in collected.json["lines"]] == [
        ("BEA-OS", "take_now", True),
        ("JKT-L", "ship", False),
        ("JKT-L", "collect", False),
    ]
    details = [ln["fulfilment_details"] for ln in collected.json["lines"]]
    assert details[0] is None and details[1]["from"] == "WH" and details[1]["text"].startswith("ships from WH to ")
    assert details[2]["collect_at"] == "S2" and details[2]["text"] == "collect at S2"
    answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(30000)}]}, key="co-1")
    assert answer.status_code == 201, answer.json
    order = answer.json
    texts = [line["fulfilment_details"] and line["fulfilment_details"]["text"] for line in order["lines"]]
    assert texts == [None, "ships from WH to Lea Schäfer, Torstraße 1, 10115 Berlin, DE", "collect at S2"]
    assert order["lines"][1]["fulfilment_details"]["from"] == "WH" and order["lines"][1]["fulfilment_details"]["reservation_id"]
    assert available("JKT-L", "WH") == 4 and available("JKT-L", "S2") == 1
    # the collection is a pickup at S2 for Lea, under the order's number
    olaf = StaffCaller(ana.client.application, "olaf@example.com", PASSWORD)
    (due,) = olaf.get("/api/v1/stores/S2/pickups").json["items"]
    assert due["reference"] == order["number"] and due["customer"]["id"] == world["lea"].public_id
    # the receipt says it too
    receipt = ana.client.get(order["receipt_url"].replace("http://localhost", ""))
    assert receipt.status_code == 200
    page = receipt.get_data(as_text=True)
    assert "ships from WH to Lea Schäfer" in page and "collect at S2" in page


def test_a_bad_fulfilment_is_a_400_naming_the_field_and_adds_nothing(ana):
    cart = new_cart(ana)
    lines = f"/api/v1/carts/{cart['id']}/lines"
    no_city = {key: value for key, value in ADDRESS.items() if key != "city"}
    cases = [
        ({"kind": "ship", "from": "WH", "ship_to": no_city}, "fulfilment.ship_to.city"),
        ({"kind": "ship", "from": "WH", "ship_to": {**ADDRESS, "country": "ZZ"}}, "fulfilment.ship_to.country"),
        ({"kind": "ship", "from": "WH"}, "fulfilment.ship_to"),
        ({"kind": "collect", "from": "WH"}, "fulfilment.collect_at"),
        ({"kind": "collect", "from": "WH", "collect_at": "NOPE"}, "fulfilment.collect_at"),
        ({"kind": "fly", "from": "WH"}, "fulfilment.kind"),
        ({"kind": "ship", "ship_to": ADDRESS}, "fulfilment.from"),
    ]
    for fulfilment, field in cases:
        answer = ana.post(lines, json={"sku": "JKT-L", "fulfilment": fulfilment})
        assert answer.status_code == 400, (fulfilment, answer.json)
        assert field in answer.json["error"]["details"], (field, answer.json["error"]["details"])
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["lines"] == []


def test_a_source_short_of_units_is_409_naming_it(ana):
    cart = new_cart(ana)
    answer = ana.post(
        f"/api/v1/carts/{cart['id']}/lines", json={"sku": "JKT-L", "quantity": 3, "fulfilment": {"kind": "collect", "from": "S2", "collect_at": "S1"}}
    )
    assert answer.status_code == 409 and answer.json["error"]["code"] == "insufficient_stock"
    assert answer.json["error"]["details"]["lines"] == [{"sku": "JKT-L", "store": "S2", "requested": 3, "available": 2}]


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_pickups_are_linked_to_demo_customers(ctx):
    from web import demo

    demo.seed(products=40)
    db.session.commit()
    due = {item["reference"]: item for item in pos.pickups_due("BER-MITTE")}
    customer = due["CC-100234"]["customer"]
    assert customer is not None and customer["name"] and customer["loyalty_code"]
    assert [i["reference"] for i in pos.pickups_due("BER-MITTE", customer["loyalty_code"])] == ["CC-100234"]
    assert pos.pickups_due("AMS-CENTRUM")[0]["customer"] is not None


# --- the tablet ---------------------------------------------------------------------------------


def signed_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def test_the_tablet_lists_pickups_and_the_timeline_says_collected_in_store(app, online_pickup, world):
    tablet = signed_in(app, "ana@example.com")
    page = tablet.get("/tablet/pickups").get_data(as_text=True)
    assert "CC-100234" in page and "Lea Schäfer" in page and "Trail Jacket — M" in page
    assert "CC-100234" not in tablet.get("/tablet/pickups?q=nobody").get_data(as_text=True)
    assert "Hand over CC-100234?" in tablet.get(f"/tablet/pickups/{online_pickup['id']}/hand-over").get_data(as_text=True)
    answer = tablet.post(f"/tablet/pickups/{online_pickup['id']}/hand-over")
    assert answer.status_code == 302
    assert inventory.get_reservation(online_pickup["id"]).status == "committed"
    profile = tablet.get(f"/tablet/customers/{world['lea'].public_id}").get_data(as_text=True)
    assert "Collected in store at Berlin Mitte: order CC-100234" in profile


def test_the_tablet_refusal_asks_for_a_reason_and_changes_nothing_without_one(app, online_pickup):
    tablet = signed_in(app, "ana@example.com")
    answer = tablet.post(f"/tablet/pickups/{online_pickup['id']}/refuse", data={"reason": "  "})
    assert answer.status_code == 400 and "Say why the pickup is refused" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert inventory.get_reservation(online_pickup["id"]).status == "held"
    assert tablet.post(f"/tablet/pickups/{online_pickup['id']}/refuse", data={"reason": "damaged"}).status_code == 302
    db.session.expire_all()
    assert inventory.get_reservation(online_pickup["id"]).status == "released"


def test_another_stores_pickup_is_not_found_on_the_tablet(app, online_pickup):
    tablet = signed_in(app, "olaf@example.com")
    assert "CC-100234" not in tablet.get("/tablet/pickups").get_data(as_text=True)
    assert tablet.get(f"/tablet/pickups/{online_pickup['id']}/hand-over").status_code == 404
    assert tablet.post(f"/tablet/pickups/{online_pickup['id']}/hand-over").status_code == 404
    db.session.expire_all()
    assert inventory.get_reservation(online_pickup["id"]).status == "held"


def test_the_refusal_reads_as_a_sentence_on_the_timeline():
    from types import SimpleNamespace

    from web.viewmodels.customers import event_sentence

    event = SimpleNamespace(type="pickup_refused", channel="store", sku=None, store_id=1, data={"reference": "CC-1", "reason": "Wrong size"})
    assert event_sentence(event, {}, {1: "Berlin Mitte"}) == "Refused the pickup of order CC-1 at Berlin Mitte: “Wrong size”"
