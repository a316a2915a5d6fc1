"""Outgoing webhooks (SPEC §3, §4): registration, signatures, the outbox dispatcher, retries.

Every delivery goes over real HTTP to a receiver running in the test; time moves by patching
``core.clock.now``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core import clock, db, emit
from core.outbox import MAX_ATTEMPTS, OutboxEvent, WebhookDelivery, register_endpoint
from web import webhooks
from web.webhooks import Dispatcher, run_dispatcher, sign, verify

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A real HTTP server on a free port that records each request and answers from ``statuses``
    (the last one repeats).  ``on_request(receiver, request)`` runs before answering."""

    def __init__(self, statuses=(200,), on_request=None, delay=0.0):
        self.statuses = list(statuses)
        self.on_request = on_request
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                entry = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                with receiver.lock:
                    receiver.requests.append(entry)
                    status = receiver.statuses[min(len(receiver.requests), len(receiver.statuses)) - 1]
                if receiver.on_request:
                    receiver.on_request(receiver, entry)
                if receiver.delay:
                    receiver.released.wait(receiver.delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        return [json.loads(entry["body"]) for entry in self.requests]

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    started = []

    def start(statuses=(200,), on_request=None, delay=0.0):
        started.append(Receiver(statuses, on_request, delay))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def shop(create_location, create_product, set_stock):
    create_location("S1")
    create_product(skus=("JKT-S", "JKT-M"))
    set_stock("S1", "JKT-S", 3)
    set_stock("S1", "JKT-M", 1)


@pytest.fixture
def endpoint():
    """Register an endpoint directly (committed); returns it."""

    def make(url, events=("*",)):
        registered = register_endpoint(url, list(events))
        db.session.commit()
        return registered

    return make


@pytest.fixture
def later(monkeypatch):
    """Move the clock forward by ``seconds`` from the current (possibly already moved) time."""

    def move(seconds):
        moved = clock.now() + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: moved)
        return moved

    return move


def dispatch(batch=50):
    run_dispatcher(once=True, batch=batch, poll_seconds=0)


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- registration --------------------------------------------------------------------------


def test_registering_an_endpoint_answers_its_id_and_secret_once(partner, receiver):
    response = partner.post("/api/v1/webhook-endpoints", json={"url": receiver().url, "events": ["stock.changed", "reservation.expired"]})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["id"].startswith("we_") and body["secret"].startswith("whsec_")
    assert body["events"] == ["reservation.expired", "stock.changed"]
    listed = partner.get("/api/v1/webhook-endpoints").json["items"]
    assert [item["id"] for item in listed] == [body["id"]] and "secret" not in listed[0]


def test_registering_an_endpoint_with_a_bad_url_or_an_unknown_event_is_400_naming_the_field(partner):
    bad_url = partner.post("/api/v1/webhook-endpoints", json={"url": "not a url", "events": ["stock.changed"]})
    assert bad_url.status_code == 400 and "url" in bad_url.json["error"]["details"]
    bad_event = partner.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x", "events": ["stock.exploded"]})
    assert bad_event.status_code == 400 and "events" in bad_event.json["error"]["details"]
    assert partner.get("/api/v1/webhook-endpoints").json["items"] == []


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.partner.example/x", "https"),
        ("https://127.0.0.1/x", "non-public"),
        ("https://10.1.2.3:8443/x", "non-public"),
        ("https://[::1]/x", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
    ],
)
def test_restricted_registration_refuses_plain_http_and_private_addresses(app, partner, monkeypatch, url, reason):
    monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", True)
    response = partner.post("/api/v1/webhook-endpoints", json={"url": url, "events": ["stock.changed"]})
    assert response.status_code == 400, response.json
    assert reason in response.json["error"]["details"]["url"][0]
    assert partner.get("/api/v1/webhook-endpoints").json["items"] == []


def test_a_url_with_a_port_out_of_range_is_400_in_any_mode(app, partner, monkeypatch):
    for restricted in (False, True):
        monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", restricted)
        response = partner.post("/api/v1/webhook-endpoints", json={"url": "https://93.184.215.14:99999/x", "events": ["stock.changed"]})
        assert response.status_code == 400, response.json
        assert "port" in response.json["error"]["details"]["url"][0]


def test_restricted_registration_accepts_https_to_a_public_address(app, partner, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", True)
    response = partner.post("/api/v1/webhook-endpoints", json={"url": "https://93.184.215.14/hooks", "events": ["stock.changed"]})
    assert response.status_code == 201, response.json


def test_restricted_delivery_is_refused_when_the_host_now_resolves_to_a_private_address(app, shop, receiver, endpoint, set_stock, monkeypatch):
    """DNS rebinding: a host that was public when registered points at 127.0.0.1 by delivery time.
    The address connected to is checked, so the request never goes out."""
    monkeypatch.setitem(app.config, "WEBHOOK_REQUIRE_HTTPS", True)
    hook = receiver()
    endpoint(hook.url.replace("http://", "https://"), ["stock.changed"])  # registered unchecked, as if it had been public
    set_stock("S1", "JKT-S", 7)
    dispatch()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "non-public" in delivery.last_error
    assert hook.requests == []


# --- signatures ----------------------------------------------------------------------------


def test_verify_accepts_a_fresh_signature_and_rejects_a_tampered_body_an_old_timestamp_or_another_secret():
    body = b'{"id":"evt_1","type":"stock.changed"}'
    now = int(time.time())
    header = sign("whsec_a", body, now)
    assert header.startswith(f"t={now},v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_a", body, header)
    assert not verify("whsec_a", body.replace(b"evt_1", b"evt_2"), header)
    assert not verify("whsec_b", body, header)
    assert not verify("whsec_a", body, sign("whsec_a", body, now - 301))
    assert verify("whsec_a", body, sign("whsec_a", body, now - 301), tolerance=600)
    assert not verify("whsec_a", body, sign("whsec_a", body, now + 301))
    for broken in (None, "", "v1=abc", f"t={now}", "t=soon,v1=abc", f"t={now},v1=" + "0" * 64, "t=²,v1=abc", f"t={now},v1=é" + "0" * 63):
        assert not verify("whsec_a", body, broken)


# --- delivery ------------------------------------------------------------------------------


def test_a_stock_movement_is_delivered_as_stock_changed_signed_with_the_endpoint_secret(partner, shop, receiver):
    hook = receiver()
    registered = partner.post("/api/v1/webhook-endpoints", json={"url": hook.url, "events": ["stock.changed"]}).json
    moved = partner.post(
        "/api/v1/stock/movements", json={"store": "S1", "sku": "JKT-M", "kind": "receive", "quantity": 4, "reason": "delivery"}, key="mv-1"
    )
    assert moved.status_code == 201, moved.json
    assert hook.requests == []  # nothing leaves before the dispatcher runs

    dispatch()

    assert len(hook.requests) == 1
    sent = hook.requests[0]
    event = json.loads(sent["body"])
    assert event["type"] == "stock.changed" and event["id"].startswith("evt_")
    assert event["data"] == {"sku": "JKT-M", "store": "S1", "on_hand": 5, "reserved": 0, "available": 5}
    assert sent["path"] == "/hooks"
    assert sent["headers"]["Content-Type"] == "application/json"
    assert sent["headers"]["User-Agent"] == "Shelfside-Webhooks/1"
    assert sent["headers"]["Shelfside-Event-Id"] == event["id"]
    assert sent["headers"]["Shelfside-Event-Type"] == "stock.changed"
    assert verify(registered["secret"], sent["body"], sent["headers"]["Shelfside-Signature"])
    assert not verify(registered["secret"], sent["body"] + b" ", sent["headers"]["Shelfside-Signature"])
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, None)

    dispatch()
    assert len(hook.requests) == 1  # delivered once, never again


def test_each_subscribed_endpoint_gets_its_own_signed_copy_and_others_get_nothing(partner, shop, receiver, endpoint):
    first, second, bystander = receiver(), receiver(), receiver()
    one = endpoint(first.url, ["stock.changed"])
    two = endpoint(second.url, ["*"])
    endpoint(bystander.url, ["transfer.received"])
    partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "JKT-S", "kind": "adjust", "quantity": -1, "reason": "damaged"}, key="mv-2")
    dispatch()
    assert len(first.requests) == len(second.requests) == 1 and bystander.requests == []
    assert first.events()[0]["id"] == second.events()[0]["id"]
    assert verify(one.secret, first.requests[0]["body"], first.requests[0]["headers"]["Shelfside-Signature"])
    assert verify(two.secret, second.requests[0]["body"], second.requests[0]["headers"]["Shelfside-Signature"])
    assert not verify(one.secret, second.requests[0]["body"], second.requests[0]["headers"]["Shelfside-Signature"])


def test_an_endpoint_registered_after_this_session_emitted_still_gets_later_events(shop, receiver, endpoint, set_stock):
    set_stock("S1", "JKT-S", 4)  # emits with no subscriber, in this long-lived session
    hook = receiver()
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 5)
    dispatch()
    assert [event["data"]["on_hand"] for event in hook.events()] == [5]


def test_a_refused_reservation_emits_nothing(partner, shop, receiver, endpoint):
    hook = receiver()
    endpoint(hook.url, ["*"])
    refused = partner.post(
        "/api/v1/reservations",
        json={
            "store": "S1",
            "lines": [{"sku": "JKT-S", "quantity": 1}, {"sku": "JKT-M", "quantity": 2}],
            "reference": "WEB-9",
            "kind": "online_order",
            "expires_in": 600,
        },
        key="rsv-refused",
    )
    assert refused.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert deliveries() == []
    dispatch()
    assert hook.requests == []


def test_an_emit_rolled_back_with_its_transaction_leaves_nothing(receiver, endpoint):
    endpoint(receiver().url, ["*"])
    assert emit("stock.changed", {"sku": "X"}) is not None
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    assert deliveries() == []


# --- failures, retries, backoff ------------------------------------------------------------


def test_a_failed_delivery_is_retried_later_with_growing_backoff_then_delivered(shop, receiver, endpoint, set_stock, later):
    later(0)
    hook = receiver(statuses=(500, 502, 200))
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)

    dispatch()
    [delivery] = deliveries()
    first_wait = delivery.next_attempt_at - clock.now()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "500" in delivery.last_error and first_wait == timedelta(seconds=5)

    dispatch()  # not due yet: nothing is sent
    assert len(hook.requests) == 1

    later(5)
    dispatch()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 2) and "502" in delivery.last_error
    assert delivery.next_attempt_at - clock.now() == timedelta(seconds=10) > first_wait

    later(10)
    dispatch()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)
    assert len({event["id"] for event in hook.events()}) == 1 and len(hook.requests) == 3


def test_a_receiver_that_never_answers_2xx_goes_dead_after_max_attempts(shop, receiver, endpoint, set_stock, later):
    hook = receiver(statuses=(503,))
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    for _ in range(MAX_ATTEMPTS):
        dispatch()
        later(3600)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("dead", MAX_ATTEMPTS) and "503" in delivery.last_error
    later(3600 * 24)
    dispatch()
    assert len(hook.requests) == MAX_ATTEMPTS


def test_a_redirect_is_a_failure_not_followed(shop, receiver, endpoint, set_stock):
    hook = receiver(statuses=(307,))
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    dispatch()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "307" in delivery.last_error
    assert len(hook.requests) == 1


def test_a_refused_connection_counts_as_a_failed_attempt(shop, endpoint, set_stock):
    endpoint(f"http://127.0.0.1:{free_port()}/hooks", ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    dispatch()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "connection" in delivery.last_error.lower()
    assert delivery.next_attempt_at > clock.now()


def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_attempt(app, shop, receiver, endpoint, set_stock, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.2)
    hook = receiver(delay=3)
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    started = time.monotonic()
    dispatch()
    assert time.monotonic() - started < 2
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1) and "timeout" in delivery.last_error.lower()


def lock_probe(backend, probes):
    """A receiver hook: can another connection write-lock the database (SQLite) or every delivery
    row (PostgreSQL) while the request is in flight?  Appends "free" or the error."""
    engine = db.engine

    def probe(_receiver, _request):
        try:
            if backend == "sqlite":
                raw = engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA busy_timeout=100")
                    raw.driver_connection.execute("BEGIN IMMEDIATE")
                    raw.driver_connection.execute("ROLLBACK")
                finally:
                    raw.close()
            else:
                with engine.connect() as conn, conn.begin():
                    conn.execute(select(WebhookDelivery.id).with_for_update(nowait=True)).all()
            probes.append("free")
        except Exception as exc:
            probes.append(repr(exc))

    return probe


def test_no_database_lock_is_held_while_the_request_is_in_flight(shop, receiver, endpoint, set_stock, backend):
    """Another connection can write-lock the delivery's row (PostgreSQL) or the database (SQLite)
    while the receiver is still answering."""
    probes = []
    hook = receiver(on_request=lock_probe(backend, probes))
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    dispatch()
    assert probes == ["free"]
    assert deliveries()[0].status == "delivered"


def test_no_database_lock_is_held_during_the_request_after_a_failed_one(shop, receiver, endpoint, set_stock, backend):
    """Logging a failure reads the rescheduled delivery: that read must not open a transaction
    that stays open (on SQLite: the write lock) through the next request."""
    probes = []
    hook = receiver(statuses=(500, 200), on_request=lock_probe(backend, probes))
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    set_stock("S1", "JKT-M", 5)
    dispatch()
    assert probes == ["free", "free"]
    assert sorted(d.status for d in deliveries()) == ["delivered", "pending"]


def test_a_delivery_whose_claim_lapsed_is_not_recorded_twice(shop, receiver, endpoint, set_stock, later):
    """A dispatcher whose lease ran out (and whose delivery another dispatcher re-claimed)
    leaves the outcome to the new owner."""
    from core.outbox import claim_due_deliveries, record_delivery_result

    endpoint(receiver().url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)
    [first] = claim_due_deliveries(limit=5, lease_seconds=60)
    first_lease = first.next_attempt_at
    db.session.commit()
    later(61)
    [second] = claim_due_deliveries(limit=5, lease_seconds=60)
    second_lease = second.next_attempt_at
    db.session.commit()
    assert record_delivery_result(first.id, True, claimed_until=first_lease) is None
    db.session.commit()
    assert deliveries()[0].attempts == 0
    assert record_delivery_result(second.id, True, claimed_until=second_lease).status == "delivered"


# --- reservation expiry --------------------------------------------------------------------


def test_an_expired_reservation_goes_out_as_reservation_expired(partner, shop, receiver, endpoint, later):
    hook = receiver()
    endpoint(hook.url, ["reservation.expired"])
    held = partner.post(
        "/api/v1/reservations",
        json={"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 2}], "reference": "WEB-7", "kind": "pickup", "expires_in": 1},
        key="rsv-1",
    )
    assert held.status_code == 201, held.json
    dispatch()
    assert hook.requests == []  # still held

    later(5)
    dispatch()  # expires overdue holds, then delivers

    [event] = hook.events()
    assert event["type"] == "reservation.expired"
    assert event["data"]["id"] == held.json["id"] and event["data"]["status"] == "expired"
    assert event["data"]["lines"] == [{"sku": "JKT-S", "quantity": 2}] and event["data"]["store"] == "S1"
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]["available"] == 3


# --- the running dispatcher ----------------------------------------------------------------


def test_sigterm_finishes_the_delivery_in_flight_hands_back_the_rest_and_stops(shop, receiver, endpoint, set_stock, monkeypatch):
    started = []

    class Watched(Dispatcher):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(webhooks, "Dispatcher", Watched)
    watchdog_fired = []

    def watchdog():
        watchdog_fired.append(True)
        started[0].stop()

    def terminate_on_first(receiver, _request):
        if len(receiver.requests) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    hook = receiver(on_request=terminate_on_first)
    endpoint(hook.url, ["stock.changed"])
    for on_hand in (4, 5, 6):
        set_stock("S1", "JKT-S", on_hand)
    before = signal.getsignal(signal.SIGTERM)

    timer = threading.Timer(10, watchdog)
    timer.start()
    try:
        run_dispatcher(once=False, batch=10, poll_seconds=0.01)
    finally:
        timer.cancel()

    assert not watchdog_fired
    assert signal.getsignal(signal.SIGTERM) is before
    assert len(hook.requests) == 1
    first, *rest = deliveries()
    assert (first.status, first.attempts) == ("delivered", 1)
    assert [(d.status, d.attempts) for d in rest] == [("pending", 0), ("pending", 0)]
    assert all(d.next_attempt_at <= clock.now() for d in rest)  # due again at once, for any dispatcher


def test_a_database_hiccup_is_logged_and_the_dispatcher_carries_on(shop, receiver, endpoint, set_stock, monkeypatch, caplog):
    calls = []
    real_claim = webhooks.claim_due_deliveries

    def flaky_claim(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly"))
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(webhooks, "claim_due_deliveries", flaky_claim)
    dispatcher = Dispatcher(batch=10, poll_seconds=0.01)
    hook = receiver(on_request=lambda *_: dispatcher.stop())
    endpoint(hook.url, ["stock.changed"])
    set_stock("S1", "JKT-S", 7)

    timer = threading.Timer(10, dispatcher.stop)
    timer.start()
    try:
        dispatcher.run(once=False)
    finally:
        timer.cancel()

    assert len(calls) >= 2 and len(hook.requests) == 1
    assert deliveries()[0].status == "delivered"
    assert any("outbox round failed" in record.getMessage() for record in caplog.records)


# --- the example receiver ------------------------------------------------------------------


def test_the_example_receiver_accepts_signed_events_and_rejects_forged_ones(shop, endpoint, set_stock):
    port = free_port()
    registered = endpoint(f"http://127.0.0.1:{port}/", ["stock.changed"])
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "webhook_receiver.py"), "--port", str(port), "--secret", registered.secret],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"listening on http://127.0.0.1:{port}/")
        set_stock("S1", "JKT-S", 9)
        dispatch()
        assert deliveries()[0].status == "delivered"
        printed = process.stdout.readline()
        assert "stock.changed" in printed and '"on_hand": 9' in printed

        body = b'{"id":"evt_forged","type":"stock.changed","data":{}}'
        forged = requests.post(
            f"http://127.0.0.1:{port}/", data=body, headers={"Shelfside-Signature": sign("whsec_wrong", body, int(time.time()))}, timeout=5
        )
        assert forged.status_code == 400
        stale = requests.post(
            f"http://127.0.0.1:{port}/", data=body, headers={"Shelfside-Signature": sign(registered.secret, body, int(time.time()) - 3600)}, timeout=5
        )
        assert stale.status_code == 400
    finally:
        process.terminate()
        process.wait(5)


# --- several dispatchers (PostgreSQL) ------------------------------------------------------


def test_several_dispatcher_processes_deliver_each_event_exactly_once(app, backend, receiver, endpoint):
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers; concurrent dispatchers are proven on PostgreSQL (TEST_DATABASE_URL)")
    hook = receiver(delay=0.002)
    endpoint(hook.url, ["stock.changed"])
    for number in range(200):
        emit("stock.changed", {"sku": f"SKU-{number}", "store": "S1", "on_hand": number, "reserved": 0, "available": number})
    db.session.commit()

    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "OUTBOX_POLL_SECONDS": "0.05"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "web", "outbox", "run", "--once", "--batch", "7"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs

    ids = [event["id"] for event in hook.events()]
    assert len(ids) == 200 and len(set(ids)) == 200
    assert {(d.status, d.attempts) for d in deliveries()} == {("delivered", 1)}
