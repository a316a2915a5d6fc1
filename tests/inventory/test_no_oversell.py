"""No oversell, ever: many concurrent holds on the last units, on SQLite and on PostgreSQL.

These tests use real threads with their own database connections; the database's locking
(row locks on PostgreSQL, BEGIN IMMEDIATE on SQLite) is what is being tested.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import inventory
from core import db
from core.errors import InsufficientStock

THREADS = 24


@pytest.fixture
def last_units(create_location, create_product, set_stock):
    create_location("S1")
    create_product(skus=("SHOE-42", "SHOE-43"))
    set_stock("S1", "SHOE-42", 5)
    set_stock("S1", "SHOE-43", 3)


def _in_threads(app, count, work):
    """Run ``work(i)`` in ``count`` threads released together; collect answers or exceptions."""
    barrier = threading.Barrier(count)

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                return work(i)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _stock(sku):
    db.session.expire_all()
    return inventory.availability([sku], "S1")[0][0]


def test_concurrent_holds_on_the_last_units_sell_exactly_what_is_there(app, last_units):
    def hold(i):
        try:
            inventory.reserve("S1", [{"sku": "SHOE-42", "quantity": 1}], "online_order", f"WEB-{i}")
            db.session.commit()
            return "held"
        except InsufficientStock:
            db.session.rollback()
            return "short"

    answers = _in_threads(app, THREADS, hold)
    assert answers.count("held") == 5
    assert answers.count("short") == THREADS - 5
    assert _stock("SHOE-42") == {"sku": "SHOE-42", "store": "S1", "on_hand": 5, "reserved": 5, "available": 0}


def test_concurrent_multi_line_holds_are_all_or_nothing(app, last_units):
    # each asks for one of each; SHOE-43 runs out after 3, so exactly 3 succeed and SHOE-42 keeps 2
    def hold(i):
        lines = [{"sku": "SHOE-42", "quantity": 1}, {"sku": "SHOE-43", "quantity": 1}]
        if i % 2:
            lines.reverse()  # opposite lock-request orders must not deadlock
        try:
            inventory.reserve("S1", lines, "online_order")
            db.session.commit()
            return "held"
        except InsufficientStock:
            db.session.rollback()
            return "short"

    answers = _in_threads(app, THREADS, hold)
    assert answers.count("held") == 3
    assert _stock("SHOE-43")["available"] == 0
    assert _stock("SHOE-42")["available"] == 2


def test_concurrent_sales_adjustments_and_holds_never_go_below_zero(app, last_units):
    def act(i):
        try:
            if i % 3 == 0:
                inventory.record_movement("S1", "SHOE-42", "adjust", -1, reason="damaged")
            elif i % 3 == 1:
                reservation = inventory.reserve("S1", [{"sku": "SHOE-42", "quantity": 1}], "pickup")
                inventory.commit_reservation(reservation.public_id)
            else:
                inventory.reserve("S1", [{"sku": "SHOE-42", "quantity": 1}], "cart_hold")
            db.session.commit()
            return "ok"
        except InsufficientStock:
            db.session.rollback()
            return "short"

    answers = _in_threads(app, THREADS, act)
    assert answers.count("ok") == 5
    stock = _stock("SHOE-42")
    assert stock["available"] == 0 and stock["on_hand"] >= 0 and stock["reserved"] >= 0
    assert inventory.ledger_mismatches() == []


def test_concurrent_reservations_over_http_exactly_the_available_count_succeeds(app, last_units, live_server, create_key):
    key = create_key("reservations:write", "inventory:read")
    session_headers = {"Authorization": f"Bearer {key}"}
    barrier = threading.Barrier(THREADS)

    def post(i):
        barrier.wait()
        return requests.post(
            f"{live_server}/api/v1/reservations",
            json={"store": "S1", "lines": [{"sku": "SHOE-42", "quantity": 1}], "reference": f"WEB-{i}", "kind": "online_order"},
            headers={**session_headers, "Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )

    with ThreadPoolExecutor(THREADS) as pool:
        responses = list(pool.map(post, range(THREADS)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 5, codes
    assert codes.count(409) == THREADS - 5, codes
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["details"]["lines"][0]["sku"] == "SHOE-42"
    stock = requests.get(f"{live_server}/api/v1/availability?sku=SHOE-42&store=S1", headers=session_headers, timeout=10).json()["items"][0]
    assert stock == {"sku": "SHOE-42", "store": "S1", "on_hand": 5, "reserved": 5, "available": 0}


def test_one_idempotency_key_fired_concurrently_reserves_once(app, last_units, live_server, create_key):
    key = create_key("reservations:write", "inventory:read")
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "order-7781"}
    body = {"store": "S1", "lines": [{"sku": "SHOE-42", "quantity": 2}], "reference": "WEB-7781", "kind": "online_order"}
    barrier = threading.Barrier(8)

    def post(_):
        barrier.wait()
        return requests.post(f"{live_server}/api/v1/reservations", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert _stock("SHOE-42")["reserved"] == 2


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE stock_level SET on_hand = -1",
        "UPDATE stock_level SET reserved = -1",
        "UPDATE stock_level SET reserved = on_hand + 1",
    ],
)
def test_database_refuses_negative_stock_as_a_last_line_of_defence(last_units, statement):
    with pytest.raises(IntegrityError):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
