"""Carts and cash checkout over the staff API: lines by SKU and barcode, holds, approvals, found stock, the
atomic checkout (order, ledger, drawer, timeline, outbox) and its refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff, set_staff_pin
from clienteling import CustomerEvent, create_customer
from core import db
from core.actor import SYSTEM
from core.outbox import OutboxEvent, register_endpoint
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"
BARCODE = "4006381333931"


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    pos.seed_registers(["S1", "S2"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M", "JKT-L"), price=12900, barcodes=[BARCODE, "4006381333948"])
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "JKT-L", 1)
    set_stock("S1", "BEA-OS", 10)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    manager = create_staff("max@example.com", "Max", "manager", PASSWORD, ["S1"])
    set_staff_pin(manager, "2468")
    create_staff("olaf@example.com", "Olaf", "associate", PASSWORD, ["S2"])
    db.session.commit()


@pytest.fixture
def ana(app, world):
    return StaffCaller(app, "ana@example.com", PASSWORD)


@pytest.fixture
def shift(ana):
    answer = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T1", "opening_float": eur(10000)})
    assert answer.status_code == 201, answer.json
    return answer.json


def new_cart(caller, **extra):
    answer = caller.post("/api/v1/carts", json={"store": "S1", "register": "T1", **extra})
    assert answer.status_code == 201, answer.json
    return answer.json


def add(caller, cart, **line):
    return caller.post(f"/api/v1/carts/{cart['id']}/lines", json=line)


def available(sku, store="S1"):
    items, _ = inventory.availability([sku], store)
    return items[0]["available"]


def test_a_new_cart_is_open_and_empty(ana):
    cart = new_cart(ana)
    assert cart["status"] == "open" and cart["store"] == "S1" and cart["register"] == "T1"
    assert cart["lines"] == [] and cart["totals"]["total"] == eur(0)


def test_scanning_a_barcode_adds_the_line_and_holds_its_unit(ana):
    cart = new_cart(ana)
    answer = add(ana, cart, barcode=BARCODE)
    assert answer.status_code == 201, answer.json
    (line,) = answer.json["lines"]
    assert line["sku"] == "JKT-M" and line["quantity"] == 1 and line["total"] == eur(12900)
    assert line["hold"]["held"] is True
    assert available("JKT-M") == 2  # one of three held for this cart
    assert answer.json["totals"] == {"subtotal": eur(12900), "discount": eur(0), "tax": eur(2060), "total": eur(12900)}


def test_the_same_sku_again_adds_to_its_line(ana):
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS")
    answer = add(ana, cart, sku="BEA-OS", quantity=2)
    (line,) = answer.json["lines"]
    assert line["quantity"] == 3 and line["hold"]["held"]
    assert available("BEA-OS") == 7


def test_an_unknown_barcode_names_the_field_and_adds_nothing(ana):
    cart = new_cart(ana)
    answer = add(ana, cart, barcode="4006381333955")
    assert answer.status_code == 400 and "barcode" in answer.json["error"]["details"]
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["lines"] == []


def test_removing_a_line_releases_its_hold(ana):
    cart = new_cart(ana)
    line = add(ana, cart, sku="JKT-L").json["lines"][0]
    assert available("JKT-L") == 0
    answer = ana.delete(f"/api/v1/carts/{cart['id']}/lines/{line['id']}")
    assert answer.status_code == 200 and answer.json["lines"] == []
    assert available("JKT-L") == 1


def test_cash_checkout_sells_records_cash_and_completes(ana, shift):
    register_endpoint("https://shop.example/hooks", ["order.completed"])
    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    cart = new_cart(ana, customer_id=customer.public_id)
    add(ana, cart, sku="JKT-M")
    add(ana, cart, sku="BEA-OS", quantity=2)
    answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(20000)}]}, key="co-1")
    assert answer.status_code == 201, answer.json
    order = answer.json
    assert order["status"] == "completed" and order["number"] == f"S1-{1:06d}"
    assert order["totals"]["total"] == eur(17900)
    assert order["tenders"][0]["kind"] == "cash" and order["tenders"][0]["change"] == eur(2100)
    assert order["receipt_url"].startswith("http://localhost/r/")
    assert order["customer_id"] == customer.public_id
    # stock left the ledger, the holds are consumed
    level = db.session.scalar(select(inventory.StockLevel).join(inventory.Variant).where(inventory.Variant.sku == "BEA-OS"))
    assert (level.on_hand, level.reserved) == (8, 0)
    sale = db.session.scalar(
        select(inventory.StockMovement).where(inventory.StockMovement.kind == "sale", inventory.StockMovement.stock_level_id == level.id)
    )
    assert sale.quantity == -2 and sale.reference == order["number"]
    # the drawer holds the float plus the sale
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000 + 17900)
    # the customer's timeline and the outbox
    entry = db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "purchase_in_store"))
    assert entry.data["number"] == order["number"] and entry.data["total"] == eur(17900)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "order.completed")) == 1
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "checked_out"
    # the receipt page opens without a login
    receipt = ana.client.get(order["receipt_url"].removeprefix("http://localhost"))
    assert receipt.status_code == 200 and order["number"] in receipt.get_data(as_text=True)


def test_a_retried_checkout_answers_the_first_order_and_sells_once(ana, shift):
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS")
    body = {"tenders": [{"kind": "cash", "amount": eur(2500)}]}
    first = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json=body, key="same")
    again = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json=body, key="same")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == first.json["id"]
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 1
    other_key = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json=body, key="other")
    assert other_key.status_code == 422 and other_key.json["error"]["details"]["order_id"] == first.json["id"]


def test_checkout_needs_an_idempotency_key(ana, shift):
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS")
    answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(2500)}]})
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json["error"]["details"]


def test_short_cash_is_tender_short_and_the_cart_stays_open(ana, shift):
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS")
    answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(2000)}]}, key="k")
    assert answer.status_code == 422 and answer.json["error"]["code"] == "tender_short"
    assert answer.json["error"]["details"]["missing"] == eur(500)
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "open"
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0


def test_cash_without_an_open_shift_is_no_open_shift(ana):
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS")
    answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(2500)}]}, key="k")
    assert answer.status_code == 409 and answer.json["error"]["code"] == "no_open_shift"
    assert available("BEA-OS") == 9  # still held for the open cart, nothing sold


def test_the_last_unit_in_two_carts_sells_once_and_the_loser_hears_why(ana, shift):
    first, second = new_cart(ana), new_cart(ana)
    assert add(ana, first, sku="JKT-L").json["lines"][0]["hold"]["held"] is True
    unheld = add(ana, second, sku="JKT-L").json["lines"][0]
    assert unheld["hold"]["held"] is False
    why = ana.get(f"/api/v1/carts/{second['id']}/lines/{unheld['id']}/unavailable").json
    assert why["on_hand"] == 1 and why["available"] == 0 and "another cart" in why["message"]
    lost = ana.post(f"/api/v1/carts/{second['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(12900)}]}, key="b")
    assert lost.status_code == 409 and lost.json["error"]["code"] == "insufficient_stock"
    assert lost.json["error"]["details"]["lines"] == [{"sku": "JKT-L", "requested": 1, "available": 0}]
    assert ana.get(f"/api/v1/carts/{second['id']}").json["status"] == "open"
    won = ana.post(f"/api/v1/carts/{first['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(12900)}]}, key="a")
    assert won.status_code == 201


def test_a_big_discount_needs_a_manager_pin(ana):
    cart = new_cart(ana)
    line = add(ana, cart, sku="JKT-M").json["lines"][0]
    path = f"/api/v1/carts/{cart['id']}/lines/{line['id']}"
    small = ana.patch(path, json={"discount": {"percent": 10}})
    assert small.status_code == 200 and small.json["lines"][0]["total"] == eur(11610)
    refused = ana.patch(path, json={"discount": {"percent": 30}})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "approval_required"
    wrong = ana.patch(path, json={"discount": {"percent": 30}, "approval": {"pin": "0000"}})
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "approval_refused"
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["lines"][0]["total"] == eur(11610)
    approved = ana.patch(path, json={"discount": {"percent": 30}, "approval": {"pin": "2468"}})
    assert approved.status_code == 200 and approved.json["lines"][0]["total"] == eur(9030)
    from core.audit import audit_entries

    (entry,) = audit_entries(action="discount_approved")
    assert entry.details["approver"] == "Max"


def test_a_manager_records_found_stock_and_the_sale_goes_through(ana, shift):
    cart = new_cart(ana)
    add(ana, cart, sku="JKT-L")
    other = new_cart(ana)
    line = add(ana, other, sku="JKT-L").json["lines"][0]
    assert line["hold"]["held"] is False
    path = f"/api/v1/carts/{other['id']}/lines/{line['id']}/found-stock"
    assert ana.post(path, json={"quantity": 1}).status_code == 400  # the approval is required
    answer = ana.post(path, json={"quantity": 1, "approval": {"email": "max@example.com", "password": PASSWORD}})
    assert answer.status_code == 200, answer.json
    assert answer.json["lines"][0]["hold"]["held"] is True
    sold = ana.post(f"/api/v1/carts/{other['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(12900)}]}, key="x")
    assert sold.status_code == 201
    level = db.session.scalar(select(inventory.StockLevel).join(inventory.Variant).where(inventory.Variant.sku == "JKT-L"))
    assert (level.on_hand, level.reserved) == (1, 1)  # found 1, sold 1; the first cart still holds its unit


def test_staff_of_another_store_cannot_reach_the_cart(app, ana):
    cart = new_cart(ana)
    olaf = StaffCaller(app, "olaf@example.com", PASSWORD)
    assert olaf.get(f"/api/v1/carts/{cart['id']}").status_code == 403
    assert olaf.post("/api/v1/carts", json={"store": "S1", "register": "T1"}).status_code == 403


def test_orders_are_found_by_number_and_customer(ana, shift):
    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    cart = new_cart(ana, customer_id=customer.public_id)
    add(ana, cart, sku="BEA-OS")
    order = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(5000)}]}, key="o").json
    assert ana.get(f"/api/v1/orders/{order['number']}").json["id"] == order["id"]
    assert [o["id"] for o in ana.get("/api/v1/orders?q=1").json["items"]] == [order["id"]]
    assert [o["id"] for o in ana.get(f"/api/v1/orders?customer={customer.public_id}").json["items"]] == [order["id"]]
    assert ana.get("/api/v1/orders/ord_nope").status_code == 404


def test_a_crash_at_the_last_step_of_checkout_leaves_nothing_sold(app, ana, shift, monkeypatch):
    import sys

    checkout_module = sys.modules["pos.checkout"]  # (pos.checkout is also the name of the function)
    cart = new_cart(ana)
    add(ana, cart, sku="BEA-OS", quantity=2)

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(checkout_module, "emit", crash)  # after the order, the ledger and the drawer are written
    try:
        answer = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(5000)}]}, key="crash")
        assert answer.status_code == 500
    except RuntimeError:
        pass  # the test app may propagate it: what matters is what the database kept
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0
    level = db.session.scalar(select(inventory.StockLevel).join(inventory.Variant).where(inventory.Variant.sku == "BEA-OS"))
    assert (level.on_hand, level.reserved) == (10, 2)  # still held for the open cart, none sold
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000)
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "open"
    monkeypatch.undo()
    retried = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": eur(5000)}]}, key="crash")
    assert retried.status_code == 201 and retried.headers.get("Idempotent-Replayed") is None
