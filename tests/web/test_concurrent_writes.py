"""Concurrent writes over real HTTP: every path that writes stock or reservations answers 2xx,
409 or 422, never a 5xx, and the stock rows still agree with the ledger and the held reservations.

Requests go to the app served by a threaded WSGI server (``live_server``), each on its own
connection and database session, released together by a barrier.  The same probes run on
SQLite (writers queue on BEGIN IMMEDIATE) and on PostgreSQL (row locks: the interesting case).
"""

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core import db
from tests.concurrency import stock_consistency

SKUS = ("P-1", "P-2", "P-3")


@pytest.fixture
def shelf(create_location, create_product, set_stock, create_key):
    create_location("S1")
    create_location("S2")
    create_product(handle="probe", skus=SKUS)
    for sku in SKUS:
        set_stock("S1", sku, 6)
        set_stock("S2", sku, 2)
    return {"Authorization": f"Bearer {create_key()}"}


def _fire(base, headers, requests_):
    """Send (method, path, body, idempotent) requests at once; answer (status, body, request) for each."""
    barrier = threading.Barrier(len(requests_))

    def send(request):
        method, path, body, idempotent = request
        extra = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
        barrier.wait()
        answer = requests.request(method, base + path, json=body, headers={**headers, **extra}, timeout=120)
        try:
            data = answer.json()
        except ValueError:
            data = answer.text
        return answer.status_code, data, request

    with ThreadPoolExecutor(len(requests_)) as pool:
        return list(pool.map(send, requests_))


def test_two_counts_of_the_same_skus_in_opposite_orders_never_fail(app, shelf, live_server):
    for run in range(16):
        lines = [{"sku": sku, "counted": 5 + run % 3} for sku in SKUS]
        answers = _fire(
            live_server,
            shelf,
            [
                ("POST", "/api/v1/stock/counts", {"store": "S1", "lines": lines}, True),
                ("POST", "/api/v1/stock/counts", {"store": "S1", "lines": lines[::-1]}, True),
            ],
        )
        assert [status for status, _, _ in answers] == [201, 201], answers
    assert stock_consistency() == []


def test_mixed_concurrent_writes_on_a_few_skus_never_answer_5xx(app, shelf, live_server):
    rng = random.Random(20261204)
    held: list[str] = []
    transfers: list[str] = []
    seen: dict[int, int] = {}
    failures = []
    stop = threading.Event()

    def expiry_loop():
        from web.webhooks import expire_due_reservations

        with app.app_context():
            try:
                while not stop.is_set():
                    expire_due_reservations()
                    time.sleep(0.05)
            except Exception as error:
                failures.append(f"expiry loop: {error!r}")
            finally:
                db.session.remove()

    def lines(count, key="quantity", low=1, high=2):
        return [{"sku": sku, key: rng.randint(low, high)} for sku in rng.sample(SKUS, count)]

    def plan_request():
        op = rng.choice(["reserve", "reserve", "reserve", "commit", "release", "count", "movement", "transfer", "receive"])
        if op == "reserve":
            store = rng.choice(["S1", "S1", "S2"])
            body = {"store": store, "lines": lines(rng.randint(1, 3)), "reference": "probe", "expires_in": rng.choice([1, 600])}
            return ("POST", "/api/v1/reservations", body, True)
        if op in ("commit", "release") and held:
            return ("POST", f"/api/v1/reservations/{rng.choice(held)}/{op}", None, False)
        if op == "count":
            return ("POST", "/api/v1/stock/counts", {"store": rng.choice(["S1", "S2"]), "lines": lines(rng.randint(2, 3), "counted", 3, 8)}, True)
        if op == "movement":
            kind = rng.choice(["receive", "adjust", "count"])
            quantity = {"receive": rng.randint(1, 3), "adjust": rng.choice([-2, -1, 1]), "count": rng.randint(2, 8)}[kind]
            return (
                "POST",
                "/api/v1/stock/movements",
                {"store": rng.choice(["S1", "S2"]), "sku": rng.choice(SKUS), "kind": kind, "quantity": quantity},
                True,
            )
        if op == "receive" and transfers:
            return ("POST", f"/api/v1/transfers/{rng.choice(transfers)}/receive", {}, False)
        return ("POST", "/api/v1/transfers", {"source": "S1", "destination": "S2", "lines": lines(rng.randint(1, 3), high=1)}, True)

    expirer = threading.Thread(target=expiry_loop)
    expirer.start()
    try:
        for round_ in range(10):
            answers = _fire(live_server, shelf, [plan_request() for _ in range(16)])
            for status, body, request in answers:
                seen[status] = seen.get(status, 0) + 1
                if status >= 500 or status not in (200, 201, 409, 422):
                    failures.append((status, body, request))
                if status == 201 and request[1] == "/api/v1/reservations":
                    held.append(body["id"])
                if status == 201 and request[1] == "/api/v1/transfers":
                    transfers.append(body["id"])
            if round_ == 4:
                time.sleep(1.1)  # the 1-second holds run out: reservations now meet overdue holds on short rows
    finally:
        stop.set()
        expirer.join(60)
    assert failures == [], failures
    assert seen.get(201, 0) and seen.get(409, 0), seen  # the probe did meet both outcomes
    assert stock_consistency() == []
