from datetime import timedelta

import pytest
from sqlalchemy import text

import inventory
from core import clock, db
from core.errors import InsufficientStock, InvalidTransition, ValidationError


@pytest.fixture
def shop(create_location, create_product, set_stock):
    create_location("S1")
    create_location("S2")
    create_product(skus=("JKT-S", "JKT-M"))
    set_stock("S1", "JKT-S", 3)
    set_stock("S1", "JKT-M", 1)


def level(sku, store):
    items, _ = inventory.availability([sku], store)
    return items[0]


def test_reserve_holds_units_and_availability_drops(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "online_order", "WEB-1")
    db.session.commit()
    assert reservation.status == "held"
    assert level("JKT-S", "S1") == {"sku": "JKT-S", "store": "S1", "on_hand": 3, "reserved": 2, "available": 1}


def test_reserve_short_line_reserves_nothing_and_lists_every_short_line(shop):
    with pytest.raises(InsufficientStock) as caught:
        inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 1}, {"sku": "JKT-M", "quantity": 2}], "online_order")
    db.session.rollback()
    assert caught.value.lines == [{"sku": "JKT-M", "requested": 2, "available": 1}]
    assert level("JKT-S", "S1")["reserved"] == 0


def test_reserve_unknown_sku_names_the_line(shop):
    with pytest.raises(ValidationError) as caught:
        inventory.reserve("S1", [{"sku": "NOPE", "quantity": 1}], "online_order")
    assert "lines.0.sku" in caught.value.details


def test_reserve_a_sku_never_stocked_at_the_store_is_insufficient_with_nothing_available(shop):
    with pytest.raises(InsufficientStock) as caught:
        inventory.reserve("S2", [{"sku": "JKT-S", "quantity": 1}], "online_order")
    db.session.rollback()
    assert caught.value.lines == [{"sku": "JKT-S", "requested": 1, "available": 0}]
    assert inventory.availability(["JKT-S"], "S2")[0] == [{"sku": "JKT-S", "store": "S2", "on_hand": 0, "reserved": 0, "available": 0}]


def test_commit_takes_units_off_hand_with_a_sale_in_the_ledger(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "pickup")
    inventory.commit_reservation(reservation.public_id)
    db.session.commit()
    assert level("JKT-S", "S1") == {"sku": "JKT-S", "store": "S1", "on_hand": 1, "reserved": 0, "available": 1}
    kinds = [m.kind for m in inventory.movements("S1", "JKT-S")]
    assert kinds == ["sale", "count"]
    assert inventory.ledger_mismatches() == []


def test_release_then_commit_is_refused(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "pickup")
    inventory.release_reservation(reservation.public_id)
    db.session.commit()
    assert level("JKT-S", "S1")["available"] == 3
    with pytest.raises(InvalidTransition):
        inventory.commit_reservation(reservation.public_id)


def test_expired_hold_is_released_and_its_units_sell_again(shop, monkeypatch):
    reservation = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order", expires_in=60)
    db.session.commit()
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(InvalidTransition):
        inventory.commit_reservation(reservation.public_id)
    db.session.rollback()
    # a new hold on the last unit finds the overdue one and expires it first
    second = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order")
    db.session.commit()
    assert inventory.get_reservation(reservation.public_id).status == "expired"
    assert second.status == "held"


@pytest.fixture
def statements(app):
    """The SQL statements the test runs from here on (SQLite's BEGIN IMMEDIATE left out: PostgreSQL's
    BEGIN is not a statement here either)."""
    from sqlalchemy import event

    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_hold_locks_its_row_with_the_update_itself_and_writes_its_lines_in_the_next_statement(shop, statements, backend):
    db.session.commit()
    statements.clear()
    inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 1}], "online_order", "WEB-9")
    assert not any("FOR UPDATE" in s or "FOR NO KEY UPDATE" in s for s in statements), statements
    kinds = [s.split(" (")[0][:40] for s in statements]
    update = next(i for i, s in enumerate(statements) if s.startswith("UPDATE stock_level SET reserved="))
    assert "WHERE stock_level.id = " in statements[update] and "stock_level.on_hand - stock_level.reserved >=" in statements[update]
    if backend == "postgresql":
        # the stock rows and the subscribers are read, then the savepoint; under the row lock only the insert of header and lines
        assert len(statements) == 5, kinds
        assert statements[update + 1].startswith("WITH header AS ( INSERT INTO reservation") and update + 2 == len(statements)
    else:
        assert len(statements) == 6, kinds
        assert [s[:30] for s in statements[update + 1 :]] == ["INSERT INTO reservation (publi", "INSERT INTO reservation_line ("]
    db.session.commit()
    assert level("JKT-S", "S1")["reserved"] == 1


def test_a_hold_that_the_last_committed_numbers_already_refuse_takes_no_lock(shop, statements):
    db.session.commit()
    statements.clear()
    with pytest.raises(InsufficientStock):
        inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 2}], "online_order")
    assert len(statements) == 2, statements  # the stock rows, and a look for overdue holds on them
    assert not any("UPDATE" in s or "SAVEPOINT" in s for s in statements), statements
    db.session.rollback()


def test_a_multi_line_hold_short_on_its_last_row_changes_nothing_and_lists_every_short_line(shop, create_product, set_stock):
    create_product(handle="cap", skus=("CAP-1",))
    set_stock("S1", "CAP-1", 1)
    # JKT-S and JKT-M look available, then a competitor takes JKT-M's last unit after our read:
    # simulated by taking it in the same transaction between the read and the UPDATEs
    from inventory import stock

    original = stock.find_levels

    def read_then_lose_the_race(store, skus):
        answer = original(store, skus)
        db.session.execute(
            text(
                "UPDATE stock_level SET reserved = reserved + 1 WHERE id = (SELECT s.id FROM stock_level s JOIN variant v ON v.id = s.variant_id WHERE v.sku = 'JKT-M')"
            )
        )
        return answer

    import inventory.reservations as reservations

    reservations.find_levels = read_then_lose_the_race
    try:
        with pytest.raises(InsufficientStock) as caught:
            inventory.reserve(
                "S1", [{"sku": "CAP-1", "quantity": 1}, {"sku": "JKT-S", "quantity": 1}, {"sku": "JKT-M", "quantity": 1}], "online_order"
            )
    finally:
        reservations.find_levels = original
    assert caught.value.lines == [{"sku": "JKT-M", "requested": 1, "available": 0}]
    # the savepoint took back the rows held before the short one
    assert level("CAP-1", "S1")["reserved"] == 0 and level("JKT-S", "S1")["reserved"] == 0
    assert db.session.execute(text("SELECT count(*) FROM reservation")).scalar() == 0
    db.session.rollback()


def test_holds_emit_stock_changed_and_reservation_events_through_the_outbox(shop, monkeypatch):
    from core.outbox import OutboxEvent, register_endpoint

    register_endpoint("http://127.0.0.1:9/hooks", ["*"])
    db.session.commit()

    def events():
        rows = db.session.query(OutboxEvent).order_by(OutboxEvent.id).all()
        return [(e.type, e.payload["data"].get("sku") or [l["sku"] for l in e.payload["data"]["lines"]]) for e in rows]

    held = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}, {"sku": "JKT-S", "quantity": 2}], "online_order", "WEB-5", expires_in=60)
    db.session.commit()
    assert events() == [("stock.changed", "JKT-S"), ("stock.changed", "JKT-M"), ("reservation.held", ["JKT-M", "JKT-S"])]
    payload = db.session.query(OutboxEvent).filter_by(type="reservation.held").one().payload["data"]
    assert payload["id"] == held.public_id and payload["status"] == "held" and payload["store"] == "S1" and payload["reference"] == "WEB-5"
    with pytest.raises(InsufficientStock):
        inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order")
    db.session.rollback()
    assert len(events()) == 3
    # once the hold has run out, the next hold on its last unit expires it first
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "pickup")
    db.session.commit()
    assert [kind for kind, _ in events()[3:]] == ["stock.changed", "stock.changed", "reservation.expired", "stock.changed", "reservation.held"]
