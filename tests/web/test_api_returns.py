"""Returns over the staff API: the SPEC §3 shape, Idempotency-Key (a retry never refunds twice), not_returnable,
approval above the threshold, store access, finding the order to return, and the shift report per tender."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

import pos
from accounts import create_staff, set_staff_pin
from clienteling import create_customer
from core import Money, clock, db
from core.actor import SYSTEM
from core.outbox import new_id
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    pos.seed_registers(["S1", "S2"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 5)
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


def sold(caller, lines, key="co", customer_id=None):
    cart = caller.post("/api/v1/carts", json={"store": "S1", "register": "T1", **({"customer_id": customer_id} if customer_id else {})}).json
    for sku, quantity in lines:
        assert caller.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": sku, "quantity": quantity}).status_code == 201
    total = caller.get(f"/api/v1/carts/{cart['id']}").json["totals"]["total"]
    answer = caller.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "cash", "amount": total}]}, key=key)
    assert answer.status_code == 201, answer.json
    return answer.json


def back(caller, order, lines, key, **extra):
    return caller.post(f"/api/v1/orders/{order['id']}/returns", json={"lines": lines, "reason": "changed mind", **extra}, key=key)


def test_a_return_answers_the_spec_shape_and_the_order_shows_what_came_back(ana, shift):
    order = sold(ana, [("BEA-OS", 2), ("JKT-M", 1)])
    answer = back(ana, order, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "ret-1")
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["id"].startswith("ret_") and body["order_id"] == order["id"]
    assert body["lines"] == [{"sku": "BEA-OS", "quantity": 1, "restock": True, "amount": eur(2500)}]
    assert [(r["kind"], r["amount"]) for r in body["refunds"]] == [("cash", eur(2500))]
    assert body["total_refunded"] == eur(2500)
    again = ana.get(f"/api/v1/orders/{order['id']}").json
    assert [line["returned_quantity"] for line in again["lines"]] == [1, 0]
    assert again["tenders"][0]["refunded"] == eur(2500)
    listed = ana.get(f"/api/v1/orders/{order['id']}/returns")
    assert listed.status_code == 200 and [r["id"] for r in listed.json["items"]] == [body["id"]]
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000 + 12900 + 5000 - 2500)


def test_a_retried_return_answers_the_first_and_refunds_once(ana, shift):
    order = sold(ana, [("BEA-OS", 2)])
    line = [{"sku": "BEA-OS", "quantity": 1, "restock": True}]
    first, retry = back(ana, order, line, "same"), back(ana, order, line, "same")
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json["id"] == first.json["id"]
    assert db.session.scalar(select(func.count()).select_from(pos.Return)) == 1
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000 + 5000 - 2500)


def test_a_return_needs_an_idempotency_key(ana, shift):
    order = sold(ana, [("BEA-OS", 1)])
    answer = ana.post(f"/api/v1/orders/{order['id']}/returns", json={"lines": [{"sku": "BEA-OS", "quantity": 1, "restock": True}]})
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json["error"]["details"]


def test_more_than_is_returnable_is_409_not_returnable_naming_the_line(ana, shift):
    order = sold(ana, [("BEA-OS", 2)])
    assert back(ana, order, [{"sku": "BEA-OS", "quantity": 2, "restock": True}], "a").status_code == 201
    answer = back(ana, order, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "b")
    assert answer.status_code == 409 and answer.json["error"]["code"] == "not_returnable"
    assert answer.json["error"]["details"]["lines"] == [{"sku": "BEA-OS", "requested": 1, "returnable": 0}]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"lines": [{"sku": "BEA-OS", "quantity": 1}]}, "lines"),  # restock is required: damaged or not is a decision
        ({"lines": [{"sku": "BEA-OS", "quantity": 0, "restock": True}]}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines": [{"sku": "NOPE", "quantity": 1, "restock": True}]}, "lines.0.sku"),
    ],
)
def test_bad_input_is_400_naming_the_field(ana, shift, body, field):
    order = sold(ana, [("BEA-OS", 1)])
    answer = ana.post(f"/api/v1/orders/{order['id']}/returns", json=body, key="k")
    assert answer.status_code == 400, answer.json
    assert any(key == field or key.startswith(field + ".") for key in answer.json["error"]["details"]), answer.json
    assert db.session.scalar(select(func.count()).select_from(pos.Return)) == 0


def test_a_refund_above_the_threshold_needs_a_managers_pin(ana, shift):
    pos.configure_store("S1", refund_approval_amount=10000)
    db.session.commit()
    order = sold(ana, [("JKT-M", 1)])
    line = [{"sku": "JKT-M", "quantity": 1, "restock": True}]
    refused = back(ana, order, line, "no-pin")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "approval_required"
    wrong = back(ana, order, line, "wrong", approval={"pin": "1111"})
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "approval_refused"
    approved = back(ana, order, line, "pin", approval={"pin": "2468"})
    assert approved.status_code == 201 and approved.json["approved_by"] is not None


def test_a_cash_refund_without_an_open_shift_is_409_no_open_shift(ana, shift):
    order = sold(ana, [("BEA-OS", 1)])
    assert ana.post(f"/api/v1/shifts/{shift['id']}/close", json={"counted": eur(12500)}).status_code == 200
    answer = back(ana, order, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "k")
    assert answer.status_code == 409 and answer.json["error"]["code"] == "no_open_shift"
    other = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T2", "opening_float": eur(5000)}).json
    answer = back(ana, order, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "k2", register="T2")
    assert answer.status_code == 201, answer.json
    assert ana.get(f"/api/v1/shifts/{other['id']}").json["expected"] == eur(2500)


def test_staff_of_another_store_cannot_return_its_orders_and_an_unknown_order_is_404(app, ana, shift):
    order = sold(ana, [("BEA-OS", 1)])
    olaf = StaffCaller(app, "olaf@example.com", PASSWORD)
    answer = back(olaf, order, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "k")
    assert answer.status_code == 403
    assert olaf.get(f"/api/v1/orders/{order['id']}/returns").status_code == 403
    assert ana.get("/api/v1/orders/ord_nope/returns").status_code == 404
    assert back(ana, {"id": "ord_nope"}, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "k").status_code == 404


def test_an_order_to_return_is_found_by_number_customer_or_card_last_4(ana, shift):
    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    order = sold(ana, [("BEA-OS", 1)], customer_id=customer.public_id)
    sold(ana, [("JKT-M", 1)], key="other")
    paid = pos.get_order(order["id"])
    paid.payments.append(
        pos.Payment(public_id=new_id("pay"), kind="card", status="succeeded", amount=0, currency="EUR", card_last4="4242", confirmed_at=clock.now())
    )
    db.session.commit()

    def found(query):
        return [item["id"] for item in ana.get("/api/v1/orders", query_string=query).json["items"]]

    assert found({"q": order["number"]}) == [order["id"]]
    assert found({"q": str(int(order["number"].rsplit("-", 1)[1]))}) == [order["id"]]
    assert found({"q": "4242"}) == [order["id"]]
    assert found({"customer": customer.public_id}) == [order["id"]]


def test_the_shift_report_has_every_tender_and_its_csv_too(ana, shift):
    order = sold(ana, [("BEA-OS", 2)])
    back(ana, order, [{"sku": "BEA-OS", "quantity": 1, "restock": False}], "k")
    report = ana.get(f"/api/v1/shifts/{shift['id']}/report").json
    assert set(report["tenders"]) == {"cash", "card", "qr"}
    assert report["tenders"]["cash"] == {"sales": eur(5000), "refunds": eur(2500), "net": eur(2500), "sale_count": 1, "refund_count": 1}
    assert report["tenders"]["card"]["sales"] == eur(0) and report["tenders"]["qr"]["refund_count"] == 0
    rows = {row["item"]: row for row in csv.DictReader(io.StringIO(ana.get(f"/api/v1/shifts/{shift['id']}/report.csv").get_data(as_text=True)))}
    assert rows["tender.cash.refunds"]["amount"] == "25.00" and rows["tender.cash.refunds"]["detail"] == "count: 1"
    assert rows["tender.card.net"]["amount"] == "0.00" and "tender.qr.sales" in rows
    assert Money.parse_decimal(rows["expected"]["amount"], "EUR") == Money(10000 + 5000 - 2500, "EUR")
