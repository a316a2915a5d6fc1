"""Card and pay-by-QR payments through the development gateway, over the staff API: approve, decline then cash
for the rest, split cash and card, a payment confirmed after the sale was given up (refunded or released), no
second charge on a retried checkout, each gateway event processed once."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

import inventory
import pos
import pos.payments as pos_payments
from accounts import create_staff
from core import db
from core.errors import ValidationError
from core.live import LiveMessage
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


class RecordingGateway(pos.DevelopmentGateway):
    """The development gateway, remembering the idempotency keys it was called with; ``fail_next`` makes the next
    start refuse (as an unreachable Stripe would)."""

    def __init__(self):
        super().__init__("/pay")
        self.keys: list[str] = []
        self.cancelled: list[str] = []
        self.fail_next = False

    def _start(self, key):
        self.keys.append(key)
        if self.fail_next:
            self.fail_next = False
            raise pos.GatewayError("Stripe: the network is down")

    def start_card_payment(self, **kw):
        self._start(kw["idempotency_key"])
        return super().start_card_payment(**kw)

    def start_qr_payment(self, **kw):
        self._start(kw["idempotency_key"])
        return super().start_qr_payment(**kw)

    def cancel(self, payment_id, reference, *, idempotency_key):
        self.cancelled.append(idempotency_key)


@pytest.fixture
def gateway():
    recording = RecordingGateway()
    previous = pos.use_gateway(recording)
    yield recording
    pos.use_gateway(previous)


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    pos.seed_registers(["S1"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 10)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()


@pytest.fixture
def ana(app, world, gateway):
    return StaffCaller(app, "ana@example.com", PASSWORD)


@pytest.fixture
def shift(ana):
    answer = ana.post("/api/v1/shifts", json={"store": "S1", "register": "T1", "opening_float": eur(10000)})
    assert answer.status_code == 201, answer.json
    return answer.json


def cart_with(caller, *skus):
    cart = caller.post("/api/v1/carts", json={"store": "S1", "register": "T1"}).json
    for sku in skus:
        assert caller.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": sku, "quantity": 1}).status_code == 201
    return cart


def checkout(caller, cart, *tenders, key="k1"):
    return caller.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": list(tenders)}, key=key)


def simulate(caller, payment_id, outcome):
    return caller.post(f"/api/v1/payments/{payment_id}/simulate", json={"outcome": outcome})


def level(sku):
    items, _ = inventory.availability([sku], "S1")
    return items[0]["on_hand"], items[0]["available"]


def test_a_card_on_the_reader_approved_completes_the_sale(ana, gateway):
    cart = cart_with(ana, "JKT-M")
    answer = checkout(ana, cart, {"kind": "card", "amount": eur(12900)})
    assert answer.status_code == 202, answer.json
    order, payment = answer.json, answer.json["payment"]
    assert order["status"] == "awaiting_payment" and order["balance_due"] == eur(12900)
    assert payment["kind"] == "card" and payment["status"] == "pending" and payment["reader"] == "tmr_sim_S1_T1"
    assert level("JKT-M") == (3, 2)  # held for the sale, not sold yet
    approved = simulate(ana, payment["id"], "approve")
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "succeeded" and approved.json["card"] == {"brand": "visa", "last4": "4242"}
    assert approved.json["order_status"] == "completed" and approved.json["balance_due"] == eur(0)
    assert level("JKT-M") == (2, 2)
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "checked_out"
    assert ana.get("/api/v1/orders?q=4242").json["items"][0]["id"] == order["id"]
    # the tablet is told without a reload: payment.updated on the store's channel, after the commit
    messages = db.session.scalars(select(LiveMessage).where(LiveMessage.channel == "store:S1")).all()
    updates = [m.message["data"] for m in messages if m.message["event"] == "payment.updated"]
    assert [u["status"] for u in updates] == ["pending", "succeeded"] and updates[-1]["order_status"] == "completed"


def test_pay_by_qr_on_the_simulated_page_completes_the_sale(ana, client):
    cart = cart_with(ana, "BEA-OS")
    payment = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}).json["payment"]
    assert payment["payment_url"].startswith("http://localhost/pay/") and payment["qr_svg_url"].endswith(".svg")
    path = payment["payment_url"].removeprefix("http://localhost")
    page = client.get(path)  # the customer's phone: no login
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Wool Beanie" in text and "Berlin Mitte" in text and "Pay" in text
    assert client.get(path + "x").status_code == 404
    paid = client.post(path, data={"outcome": "approve"})
    assert paid.status_code == 303
    assert "Paid" in client.get(path).get_data(as_text=True)
    assert ana.get(f"/api/v1/payments/{payment['id']}").json["order_status"] == "completed"
    assert client.post(path, data={"outcome": "decline"}).status_code == 303  # too late: nothing changes
    assert ana.get(f"/api/v1/payments/{payment['id']}").json["status"] == "succeeded"


def test_a_declined_card_keeps_the_cash_part_and_cash_pays_the_rest(ana, shift):
    cart = cart_with(ana, "JKT-M", "BEA-OS")  # 154.00
    answer = checkout(ana, cart, {"kind": "cash", "amount": eur(5000)}, {"kind": "card", "amount": eur(10400)})
    assert answer.status_code == 202, answer.json
    payment = answer.json["payment"]
    declined = simulate(ana, payment["id"], "decline").json
    assert declined["status"] == "failed" and declined["failure_reason"] == "the card was declined"
    assert declined["order_status"] == "awaiting_payment" and declined["balance_due"] == eur(10400)
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "awaiting_payment"
    # a second checkout of the same cart pays the balance: it sees the cash already paid
    short = checkout(ana, cart, {"kind": "cash", "amount": eur(10000)}, key="k2")
    assert short.status_code == 422 and short.json["error"]["details"]["missing"] == eur(400)
    rest = checkout(ana, cart, {"kind": "cash", "amount": eur(11000)}, key="k3")
    assert rest.status_code == 201, rest.json
    assert rest.json["status"] == "completed" and rest.json["id"] == answer.json["id"]
    assert [(t["kind"], t["status"]) for t in rest.json["tenders"]] == [("cash", "succeeded"), ("card", "failed"), ("cash", "succeeded")]
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000 + 5000 + 10400)
    assert level("JKT-M") == (2, 2) and level("BEA-OS") == (9, 9)


def test_a_declined_card_then_another_card_for_the_rest(ana):
    cart = cart_with(ana, "BEA-OS")
    first = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}).json["payment"]
    simulate(ana, first["id"], "decline")
    second = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}, key="k2")
    assert second.status_code == 202 and second.json["payment"]["id"] != first["id"]
    assert simulate(ana, second.json["payment"]["id"], "approve").json["order_status"] == "completed"


def test_split_cash_and_card_completes_when_the_card_is_approved(ana, shift):
    cart = cart_with(ana, "JKT-M")
    answer = checkout(ana, cart, {"kind": "cash", "amount": eur(3000)}, {"kind": "card", "amount": eur(10000)})
    assert answer.status_code == 202
    cash = answer.json["tenders"][0]
    assert cash["kind"] == "cash" and cash["amount"] == eur(2900) and cash["change"] == eur(100)
    done = simulate(ana, answer.json["payment"]["id"], "approve").json
    assert done["order_status"] == "completed"
    order = ana.get(f"/api/v1/orders/{answer.json['id']}").json
    assert sorted((t["kind"], t["amount"]["amount"]) for t in order["tenders"]) == [("card", 10000), ("cash", 2900)]


def test_a_second_checkout_while_the_card_is_on_the_reader_is_refused(ana):
    cart = cart_with(ana, "BEA-OS")
    payment = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}).json["payment"]
    again = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}, key="k2")
    assert again.status_code == 409 and again.json["error"]["code"] == "payment_in_progress"
    assert again.json["error"]["details"]["payment_id"] == payment["id"]
    cancelled = ana.post(f"/api/v1/payments/{payment['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}, key="k3").status_code == 202


def test_a_qr_payment_confirmed_after_the_sale_was_cancelled_is_refunded(ana, shift, gateway):
    cart = cart_with(ana, "JKT-M")
    answer = checkout(ana, cart, {"kind": "cash", "amount": eur(2900)}, {"kind": "qr", "amount": eur(10000)})
    payment = answer.json["payment"]
    cancelled = ana.post(f"/api/v1/orders/{answer.json['id']}/cancel", json={"reason": "customer left"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "abandoned"
    assert level("JKT-M") == (3, 3)  # released
    assert ana.get(f"/api/v1/shifts/{shift['id']}").json["expected"] == eur(10000)  # the cash went back
    late = simulate(ana, payment["id"], "approve").json  # the customer paid on the phone anyway
    assert late["status"] == "succeeded" and late["refunded"] == eur(10000) and late["order_status"] == "cancelled"
    assert [(r["payment_id"], r["amount"]) for r in gateway.refunds] == [(pos.get_payment(payment["id"]).gateway_payment_id, 10000)]
    assert level("JKT-M") == (3, 3)  # nothing sold


def test_a_card_authorised_after_the_sale_was_cancelled_is_released_not_charged(ana, gateway):
    cart = cart_with(ana, "BEA-OS")
    answer = checkout(ana, cart, {"kind": "card", "amount": eur(2500)})
    payment = answer.json["payment"]
    ana.post(f"/api/v1/orders/{answer.json['id']}/cancel", json={})
    gateway.cancelled.clear()
    late = simulate(ana, payment["id"], "approve").json
    assert late["status"] == "cancelled" and "not charged" in late["failure_reason"]
    assert gateway.cancelled == [f"shelfside:{payment['id']}:cancel"] and gateway.refunds == []


def test_a_retried_checkout_never_starts_a_second_payment(ana, gateway):
    cart = cart_with(ana, "BEA-OS")
    body = {"kind": "card", "amount": eur(2500)}
    first = checkout(ana, cart, body, key="same")
    again = checkout(ana, cart, body, key="same")
    assert first.status_code == again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert len(gateway.keys) == 1
    assert db.session.scalar(select(func.count()).select_from(pos.Payment)) == 1


def test_a_checkout_retried_after_the_gateway_failed_asks_again_with_the_same_key(ana, gateway):
    cart = cart_with(ana, "BEA-OS")
    gateway.fail_next = True
    failed = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}, key="first")
    assert failed.status_code == 502 and failed.json["error"]["code"] == "gateway_error"
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "open"  # nothing half-made
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0
    retried = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}, key="second")
    assert retried.status_code == 202
    assert gateway.keys[0] == gateway.keys[1] == f"shelfside:{retried.json['payment']['id']}"  # Stripe answers the first intent


def test_each_gateway_event_is_processed_once(ana, gateway):
    cart = cart_with(ana, "BEA-OS")
    payment = pos.get_payment(checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}).json["payment"]["id"])
    event = gateway.simulate(payment, "approve")
    assert pos.handle_gateway_event(event, gateway) == "confirmed"
    assert pos.handle_gateway_event(event, gateway) == "duplicate"
    other = gateway.simulate(payment, "approve")
    assert pos.handle_gateway_event(other, gateway) == "already_succeeded"
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(pos.ProcessedGatewayEvent)) == 2


def test_an_early_event_about_our_unknown_payment_asks_for_redelivery(gateway):
    now = int(time.time())
    event = pos.GatewayEvent(
        id="evt_early", type="payment_intent.succeeded", outcome="succeeded", payment_id="pi_x", our_payment="pay_x", created=now
    )
    with pytest.raises(pos.PaymentNotYetKnown):
        pos.handle_gateway_event(event, gateway)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(pos.ProcessedGatewayEvent)) == 0


def test_an_old_event_about_a_payment_whose_sale_never_committed_is_refunded(gateway):
    old = int(time.time()) - pos_payments.ORPHAN_SECONDS - 1
    event = pos.GatewayEvent(
        id="evt_old", type="payment_intent.succeeded", outcome="succeeded", payment_id="pi_lost", our_payment="pay_lost", created=old
    )
    assert pos.handle_gateway_event(event, gateway) == "orphan_refunded"
    assert [(r["payment_id"], r["amount"]) for r in gateway.refunds] == [("pi_lost", None)]
    authorised = pos.GatewayEvent(id="evt_old_auth", type="x", outcome="authorized", payment_id="pi_held", our_payment="pay_held", created=old)
    assert pos.handle_gateway_event(authorised, gateway) == "orphan_released"
    assert gateway.cancelled == ["shelfside:pay_held:orphan"]


def test_an_event_about_someone_elses_payment_is_noted_and_left_alone(gateway):
    event = pos.GatewayEvent(id="evt_other", type="payment_intent.succeeded", outcome="succeeded", payment_id="pi_shop", created=int(time.time()))
    assert pos.handle_gateway_event(event, gateway) == "not_ours"
    assert gateway.refunds == []


def test_refunds_never_exceed_what_the_card_paid(ana, gateway):
    cart = cart_with(ana, "BEA-OS")
    payment_id = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}).json["payment"]["id"]
    simulate(ana, payment_id, "approve")
    payment = pos.get_payment(payment_id)
    refund_id = pos.refund_payment(payment, 1000, "ret_1", _system())
    assert refund_id.startswith("re_dev_") and payment.refunded_amount == 1000
    with pytest.raises(ValidationError) as refused:
        pos.refund_payment(payment, 1501, "ret_2", _system())
    assert "amount" in refused.value.details
    assert pos.refund_payment(payment, 1500, "ret_2", _system()) and payment.refunded_amount == 2500


def test_simulating_needs_the_development_gateway(ana, app):
    cart = cart_with(ana, "BEA-OS")
    payment_id = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}).json["payment"]["id"]
    app.config["PAYMENT_GATEWAY"] = "stripe"
    try:
        assert simulate(ana, payment_id, "approve").status_code == 404
    finally:
        app.config["PAYMENT_GATEWAY"] = "development"
    assert simulate(ana, payment_id, "maybe").status_code == 400


def _system():
    from core.actor import SYSTEM

    return SYSTEM


def test_the_payment_page_form_needs_its_csrf_token(ana, csrf_client):
    import re

    cart = cart_with(ana, "BEA-OS")
    payment = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}).json["payment"]
    db.session.commit()
    path = payment["payment_url"].removeprefix("http://localhost")
    page = csrf_client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    assert csrf_client.post(path, data={"outcome": "approve"}).status_code == 400
    assert ana.get(f"/api/v1/payments/{payment['id']}").json["status"] == "pending"
    assert csrf_client.post(path, data={"outcome": "approve", "csrf_token": token}).status_code == 303
    db.session.rollback()
    assert ana.get(f"/api/v1/payments/{payment['id']}").json["status"] == "succeeded"


# --- concurrency (PostgreSQL row locks) ------------------------------------------------------------


def test_one_event_delivered_four_times_at_once_is_processed_once(app, ana, gateway, row_locks):
    from tests.concurrency import race

    cart = cart_with(ana, "BEA-OS")
    payment_id = checkout(ana, cart, {"kind": "card", "amount": eur(2500)}).json["payment"]["id"]
    event = gateway.simulate(pos.get_payment(payment_id), "approve")
    db.session.commit()
    outcomes = race(app, [lambda: pos.handle_gateway_event(event, gateway) for _ in range(4)])
    assert sorted(o.value for o in outcomes) == ["captured", "duplicate", "duplicate", "duplicate"], outcomes
    db.session.rollback()
    assert level("BEA-OS") == (9, 9) and pos.get_payment(payment_id).status == "succeeded"


def test_a_confirmation_racing_the_cancelled_sale_is_refunded_either_way(app, ana, gateway, row_locks):
    from tests.concurrency import interleave

    for first_is_cancel in (True, False):
        cart = cart_with(ana, "BEA-OS")
        answer = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}, key=f"race-{first_is_cancel}").json
        payment = pos.get_payment(answer["payment"]["id"])
        event = gateway.simulate(payment, "approve")
        db.session.commit()

        def cancel(order_id=answer["id"]):
            return pos.cancel_sale(pos.get_order(order_id), _system()).status

        def confirm(event=event):
            return pos.handle_gateway_event(event, gateway)

        result = interleave(app, cancel, confirm) if first_is_cancel else interleave(app, confirm, cancel)
        assert result.second_blocked, result.statements
        db.session.rollback()
        paid = pos.get_payment(answer["payment"]["id"])
        order = pos.get_order(answer["id"])
        if first_is_cancel:
            assert result.outcomes[1].value == "refunded" and order.status == "cancelled"
        else:  # the sale completed first: then it is a completed order, not cancelled
            assert result.outcomes[0].value == "confirmed" and result.outcomes[1].kind == "refused" and order.status == "completed"
        assert paid.status == "succeeded" and paid.refunded_amount == (2500 if first_is_cancel else 0)


def test_the_stripe_gateway_needs_its_secret_key():
    from web import create_app
    from web.config import ConfigurationError, TestConfig

    class Stripe(TestConfig):
        PAYMENT_GATEWAY = "stripe"
        STRIPE_SECRET_KEY = None

    previous = pos.current_gateway()
    try:
        with pytest.raises(ConfigurationError, match="STRIPE_SECRET_KEY"):
            create_app(Stripe)
    finally:
        pos.use_gateway(previous)


def test_a_paid_sale_whose_units_are_gone_refunds_the_payment_and_keeps_waiting(ana, gateway, monkeypatch):
    from core.errors import InsufficientStock

    cart = cart_with(ana, "BEA-OS")
    payment_id = checkout(ana, cart, {"kind": "qr", "amount": eur(2500)}).json["payment"]["id"]

    def units_gone(order, actor):
        order.status = "completed"  # written, then undone with its savepoint
        db.session.flush()
        raise InsufficientStock([{"sku": "BEA-OS", "requested": 1, "available": 0}])

    monkeypatch.setattr(pos_payments, "complete_paid_order", units_gone)
    answer = simulate(ana, payment_id, "approve").json
    assert answer["status"] == "succeeded" and answer["refunded"] == eur(2500) and "insufficient stock" in answer["failure_reason"]
    assert answer["order_status"] == "awaiting_payment" and answer["balance_due"] == eur(2500)
    assert [r["amount"] for r in gateway.refunds] == [2500]
