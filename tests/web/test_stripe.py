"""The Stripe gateway through the official ``stripe`` SDK, against real peers on 127.0.0.1:

* localstripe (started here): PaymentIntents with manual capture, capture, refunds, and the signed webhooks
  localstripe sends (``payment_intent.succeeded``, ``payment_intent.payment_failed``) verified by
  ``/webhooks/stripe``.  localstripe has no Terminal, so its "reader" is played by confirming the intent with a
  test card (``LocalstripeReader``); it ignores idempotency keys.
* tests/stripe_double.py: the Terminal (``process_payment_intent`` on a reader) and Checkout Session paths, and
  Stripe's idempotency-key rule, which localstripe lacks.

With CI=true a localstripe that cannot start fails these tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

import pos
from accounts import create_staff
from core import db
from tests.helpers import StaffCaller
from tests.stripe_double import StripeDouble

IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct-horse"
LOCALSTRIPE_SECRET = "whsec_localstripe"

warnings.filterwarnings("ignore", category=DeprecationWarning, module="stripe")


def eur(amount):
    return {"amount": amount, "currency": "EUR"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe():
    """localstripe on a free port of 127.0.0.1; its base URL."""
    port = _free_port()
    binary = Path(sys.executable).with_name("localstripe")
    command = [str(binary), "--port", str(port)] if binary.exists() else [sys.executable, "-m", "localstripe", "--port", str(port)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        _unavailable(f"localstripe cannot start: {exc}")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url + "/v1/customers", auth=("sk_test_local", ""), timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _unavailable(f"localstripe did not start on port {port}: {process.stderr.read().decode()[-300:]}")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(5)


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def double():
    stripe_double = StripeDouble()
    stripe_double.base_url = stripe_double.start()
    yield stripe_double
    stripe_double.stop()


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    pos.seed_registers(["S1"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900)
    set_stock("S1", "JKT-M", 5)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()


@pytest.fixture
def ana(app, world):
    return StaffCaller(app, "ana@example.com", PASSWORD)


@pytest.fixture
def on_double(double):
    gateway = pos.StripeGateway("sk_test_double", double.webhook_secret, api_base=double.base_url, readers={"S1/T1": "tmr_double_T1"})
    previous = pos.use_gateway(gateway)
    yield gateway
    pos.use_gateway(previous)


def sell(caller, kind, amount=12900, key="k1"):
    cart = caller.post("/api/v1/carts", json={"store": "S1", "register": "T1"}).json
    assert caller.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "JKT-M", "quantity": 1}).status_code == 201
    answer = caller.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": kind, "amount": eur(amount)}]}, key=key)
    assert answer.status_code == 202, answer.json
    return cart, answer.json


def deliver(client, double, event, secret=None):
    payload, signature = double.signed(event, secret)
    return client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


# --- Terminal and Checkout, against the double ------------------------------------------------------


def test_a_card_present_payment_goes_to_the_reader_and_is_captured_on_authorisation(ana, client, double, on_double):
    cart, order = sell(ana, "card")
    payment = order["payment"]
    assert payment["reader"] == "tmr_double_T1" and payment["gateway"] == "stripe"
    stored = pos.get_payment(payment["id"])
    intent = double.intents[stored.gateway_payment_id]
    assert intent["payment_method_types"] == ["card_present"] and intent["capture_method"] == "manual"
    assert intent["amount"] == 12900 and intent["currency"] == "eur" and intent["metadata"]["shelfside_payment"] == payment["id"]
    assert double.readers["tmr_double_T1"]["action"]["process_payment_intent"]["payment_intent"] == intent["id"]
    keys = [r["idempotency_key"] for r in double.requests if r["method"] == "POST"]
    assert keys == [f"shelfside:{payment['id']}:intent", f"shelfside:{payment['id']}:reader"]
    # the customer taps; Stripe tells us; we capture
    answer = deliver(client, double, double.present_card(intent["id"], "mastercard", "4444"))
    assert answer.status_code == 200 and answer.json["outcome"] == "captured", answer.json
    assert intent["status"] == "succeeded"
    assert [r["idempotency_key"] for r in double.requests if r["path"].endswith("/capture")] == [f"shelfside:{payment['id']}:capture"]
    polled = ana.get(f"/api/v1/payments/{payment['id']}").json
    assert polled["status"] == "succeeded" and polled["card"] == {"brand": "mastercard", "last4": "4444"} and polled["order_status"] == "completed"
    # payment_intent.succeeded follows: nothing more to do
    assert deliver(client, double, double.event("payment_intent.succeeded", intent)).json["outcome"] == "already_succeeded"


def test_a_webhook_with_a_bad_signature_is_400_and_changes_nothing(ana, client, double, on_double):
    _, order = sell(ana, "card")
    intent_id = pos.get_payment(order["payment"]["id"]).gateway_payment_id
    event = double.present_card(intent_id)
    assert deliver(client, double, event, secret="whsec_wrong").status_code == 400
    payload, _ = double.signed(event)
    assert client.post("/webhooks/stripe", data=payload, headers={"Content-Type": "application/json"}).status_code == 400
    assert ana.get(f"/api/v1/payments/{order['payment']['id']}").json["status"] == "pending"
    assert db.session.scalar(select(func.count()).select_from(pos.ProcessedGatewayEvent)) == 0


def test_a_redelivered_event_is_processed_once(ana, client, double, on_double):
    _, order = sell(ana, "card")
    intent_id = pos.get_payment(order["payment"]["id"]).gateway_payment_id
    event = double.present_card(intent_id)
    assert deliver(client, double, event).json["outcome"] == "captured"
    assert deliver(client, double, event).json["outcome"] == "duplicate"
    assert sum(1 for r in double.requests if r["path"].endswith("/capture")) == 1


def test_success_before_authorisation_and_events_before_our_commit_are_safe(ana, client, double, on_double):
    _, order = sell(ana, "card")
    intent = double.intents[pos.get_payment(order["payment"]["id"]).gateway_payment_id]
    authorised = double.present_card(intent["id"])
    intent["status"] = "succeeded"
    assert deliver(client, double, double.event("payment_intent.succeeded", intent)).json["outcome"] == "confirmed"
    assert deliver(client, double, authorised).json["outcome"] == "already_succeeded"
    # an event about an intent we have not recorded (its checkout still committing): 503, Stripe delivers it again
    stranger = double.event("payment_intent.succeeded", {**intent, "id": "pi_test_unknown", "metadata": {"shelfside_payment": "pay_unknown"}})
    early = deliver(client, double, stranger)
    assert early.status_code == 503 and early.json["error"]["code"] == "payment_not_yet_known"
    assert (
        db.session.scalar(select(func.count()).select_from(pos.ProcessedGatewayEvent).where(pos.ProcessedGatewayEvent.event_id == stranger["id"]))
        == 0
    )


def test_a_declined_card_on_the_reader_leaves_the_sale_open_for_another_tender(ana, client, double, on_double):
    cart, order = sell(ana, "card")
    intent_id = pos.get_payment(order["payment"]["id"]).gateway_payment_id
    assert deliver(client, double, double.present_card(intent_id, decline=True)).json["outcome"] == "failed"
    payment = ana.get(f"/api/v1/payments/{order['payment']['id']}").json
    assert payment["status"] == "failed" and payment["failure_reason"] == "Your card was declined."
    assert payment["order_status"] == "awaiting_payment" and payment["balance_due"] == eur(12900)
    again = ana.post(f"/api/v1/carts/{cart['id']}/checkout", json={"tenders": [{"kind": "card", "amount": eur(12900)}]}, key="k2")
    assert again.status_code == 202 and again.json["payment"]["id"] != order["payment"]["id"]


def test_a_retried_checkout_sends_the_same_idempotency_keys_and_gets_the_same_intent(ana, double, on_double):
    cart = ana.post("/api/v1/carts", json={"store": "S1", "register": "T1"}).json
    ana.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": "JKT-M", "quantity": 1})
    original = on_double.start_card_payment
    calls = []

    def lost_answer(**kw):  # the intent is made and handed to the reader, then our answer is lost
        started = original(**kw)
        calls.append(started)
        if len(calls) == 1:
            raise pos.GatewayError("Stripe: the connection dropped")
        return started

    on_double.start_card_payment = lost_answer
    body = {"tenders": [{"kind": "card", "amount": eur(12900)}]}
    assert ana.post(f"/api/v1/carts/{cart['id']}/checkout", json=body, key="a").status_code == 502
    assert ana.post(f"/api/v1/carts/{cart['id']}/checkout", json=body, key="b").status_code == 202
    assert calls[0].payment_id == calls[1].payment_id and len(double.intents) == 1  # one intent, never two charges


def test_pay_by_qr_is_a_checkout_session_completed_by_its_webhook(ana, client, double, on_double):
    cart, order = sell(ana, "qr")
    payment = order["payment"]
    session_id = pos.get_payment(payment["id"]).gateway_reference
    session = double.sessions[session_id]
    assert payment["payment_url"] == session["url"] and session["url"].startswith("https://checkout.stripe.com/")
    assert session["amount_total"] == 12900 and session["metadata"]["shelfside_payment"] == payment["id"]
    assert session["payment_intent_data"]["metadata"]["shelfside_payment"] == payment["id"]
    answer = deliver(client, double, double.pay_session(session_id, "visa", "1881"))
    assert answer.status_code == 200 and answer.json["outcome"] == "confirmed", answer.json
    polled = ana.get(f"/api/v1/payments/{payment['id']}").json
    assert polled["status"] == "succeeded" and polled["order_status"] == "completed" and polled["card"] == {"brand": "visa", "last4": "1881"}
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "checked_out"
    # refunds go to the session's PaymentIntent
    stored = pos.get_payment(payment["id"])
    refund_id = pos.refund_payment(stored, 2900, "ret_test_1", pos_actor())
    db.session.commit()
    assert double.refunds[refund_id]["amount"] == 2900 and double.intents[stored.gateway_payment_id]["amount_refunded"] == 2900


def test_an_expired_checkout_session_fails_the_qr_payment(ana, client, double, on_double):
    _, order = sell(ana, "qr")
    session_id = pos.get_payment(order["payment"]["id"]).gateway_reference
    assert deliver(client, double, double.expire_session(session_id)).json["outcome"] == "failed"
    assert ana.get(f"/api/v1/payments/{order['payment']['id']}").json["status"] == "failed"


def test_cancelling_the_sale_expires_the_session_and_a_late_payment_is_refunded(ana, client, double, on_double):
    cart, order = sell(ana, "qr")
    session_id = pos.get_payment(order["payment"]["id"]).gateway_reference
    assert ana.post(f"/api/v1/orders/{order['id']}/cancel", json={}).status_code == 200
    assert double.sessions[session_id]["status"] == "expired"
    late = deliver(client, double, double.pay_session(session_id))  # paid in the instant before it expired
    assert late.json["outcome"] == "refunded"
    intent_id = double.sessions[session_id]["payment_intent"]
    assert double.intents[intent_id]["amount_refunded"] == 12900
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "abandoned"


# --- PaymentIntents, capture, refunds and webhook signatures, against localstripe -----------------------


class LocalstripeReader(pos.StripeGateway):
    """localstripe has no Terminal: the reader is played by confirming a ``card`` intent with a test card
    (manual capture, as at a real reader).  Everything else is the Stripe gateway as it is."""

    card_number = "4242424242424242"

    def start_card_payment(self, *, amount, currency, reader, description, metadata, idempotency_key):
        import stripe

        method = self.client.v1.payment_methods.create(
            params={"type": "card", "card": {"number": self.card_number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}}
        )
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": currency.lower(),
                "payment_method_types": ["card"],
                "payment_method": method.id,
                "capture_method": "manual",
                "metadata": metadata,  # (localstripe refuses a description)
            },
            options={"idempotency_key": f"{idempotency_key}:intent"},
        )
        try:
            self.client.v1.payment_intents.confirm(intent.id)  # no arguments: localstripe answers 500 to a payment method here
        except stripe.CardError:
            pass  # declined on the "reader": localstripe sends payment_intent.payment_failed
        return pos.StartedPayment(payment_id=intent.id, reference=reader)


@pytest.fixture
def on_localstripe(localstripe, live_server):
    answer = requests.post(
        f"{localstripe}/_config/webhooks/shelfside", data={"url": f"{live_server}/webhooks/stripe", "secret": LOCALSTRIPE_SECRET}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    gateway = LocalstripeReader("sk_test_local", LOCALSTRIPE_SECRET, api_base=localstripe, readers={"S1/T1": "tmr_localstripe"})
    previous = pos.use_gateway(gateway)
    yield gateway
    pos.use_gateway(previous)


def wait_for(condition, seconds=15.0):
    """localstripe sends its webhooks a second after the change, from its own loop: wait for their effect."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # a fresh snapshot each look
        value = condition()
        if value:
            return value
        db.session.rollback()  # and no lock held while waiting (SQLite: the webhook's request needs the write lock)
        time.sleep(0.1)
    raise AssertionError("localstripe's webhook did not arrive")


def pos_actor():
    from core.actor import SYSTEM

    return SYSTEM


def test_localstripe_capture_refund_and_its_signed_webhook(ana, client, on_localstripe):
    _, order = sell(ana, "card")
    payment = pos.get_payment(order["payment"]["id"])
    intent = on_localstripe.client.v1.payment_intents.retrieve(payment.gateway_payment_id)
    assert intent.status == "requires_capture" and intent.capture_method == "manual" and intent.amount == 12900
    # the authorisation reaches us (localstripe sends no amount_capturable_updated: we sign it as Stripe would)
    event = {"id": "evt_local_auth", "object": "event", "type": "payment_intent.amount_capturable_updated", "created": int(time.time())}
    event["data"] = {"object": intent.to_dict()}
    signer = StripeDouble(LOCALSTRIPE_SECRET)
    answer = deliver(client, signer, event)
    assert answer.status_code == 200 and answer.json["outcome"] == "captured", answer.json
    db.session.commit()
    assert on_localstripe.client.v1.payment_intents.retrieve(payment.gateway_payment_id).status == "succeeded"
    paid = ana.get(f"/api/v1/payments/{payment.public_id}").json
    assert paid["status"] == "succeeded" and paid["card"] == {"brand": "visa", "last4": "4242"} and paid["order_status"] == "completed"
    # the capture made localstripe send payment_intent.succeeded, signed: verified and found already done
    succeeded = wait_for(
        lambda: db.session.scalar(select(pos.ProcessedGatewayEvent).where(pos.ProcessedGatewayEvent.event_type == "payment_intent.succeeded"))
    )
    assert succeeded.outcome == "already_succeeded"
    # a partial refund through the SDK
    payment = pos.get_payment(payment.public_id)
    refund_id = pos.refund_payment(payment, 4900, "ret_local_1", pos_actor())
    db.session.commit()
    refund = on_localstripe.client.v1.refunds.retrieve(refund_id)
    assert refund.amount == 4900 and pos.get_payment(payment.public_id).refunded_amount == 4900


def test_localstripe_declined_card_fails_the_payment_by_its_signed_webhook(ana, on_localstripe):
    on_localstripe.card_number = "4000000000000341"  # attaches, then the charge is declined
    cart, order = sell(ana, "card")
    failed = wait_for(lambda: pos.get_payment(order["payment"]["id"]).status == "failed")
    assert failed
    polled = ana.get(f"/api/v1/payments/{order['payment']['id']}").json
    assert polled["order_status"] == "awaiting_payment" and polled["failure_reason"]
    assert ana.get(f"/api/v1/carts/{cart['id']}").json["status"] == "awaiting_payment"
