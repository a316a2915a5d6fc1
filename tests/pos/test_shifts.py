"""Registers and shifts: float, cash in and out, cash sales and refunds, the closing count, the variance,
the report; a register has one open shift, and no movement lands on a closed shift, under concurrency too."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import pos
from accounts import create_staff
from core import Money, db
from core.audit import audit_entries
from core.errors import InvalidTransition, ValidationError
from tests.concurrency import interleave, race


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def world(create_location):
    create_location("S1")
    create_location("S2")
    create_location("WH", kind="warehouse")
    pos.seed_registers(["S1", "S2"])
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    db.session.commit()
    return {"actor": ana.actor}


@pytest.fixture
def actor(world):
    return world["actor"]


@pytest.fixture
def shift(actor):
    opened = pos.open_shift("S1", "T1", eur(20000), actor)
    db.session.commit()
    return opened


def test_demo_registers_are_two_tablets_per_store_and_seeding_twice_adds_none(world):
    assert [(r.code, r.name) for r in pos.list_registers("S1")] == [("T1", "Tablet 1"), ("T2", "Tablet 2")]
    assert pos.seed_registers(["S1", "S2"]) == 0
    assert pos.seed_registers() == 0  # every store: the warehouse gets none
    assert db.session.scalar(select(func.count()).select_from(pos.Register)) == 4


def test_ensure_register_refuses_a_bad_code_and_an_unknown_store(world):
    with pytest.raises(ValidationError) as bad:
        pos.ensure_register("S1", "T 1")
    assert "code" in bad.value.details
    with pytest.raises(ValidationError) as unknown:
        pos.ensure_register("NOPE", "T3")
    assert "store" in unknown.value.details
    with pytest.raises(ValidationError) as warehouse:
        pos.ensure_register("WH", "T1")
    assert "store" in warehouse.value.details


def test_opening_an_unknown_register_is_invalid_naming_register(actor):
    with pytest.raises(ValidationError) as error:
        pos.open_shift("S1", "T9", eur(100), actor)
    assert list(error.value.details) == ["register"]
    assert db.session.scalar(select(func.count()).select_from(pos.Shift)) == 0


def test_a_negative_float_is_invalid(actor):
    with pytest.raises(ValidationError) as error:
        pos.open_shift("S1", "T1", eur(-1), actor)
    assert list(error.value.details) == ["opening_float"]


def test_a_register_has_one_open_shift_and_another_register_opens_alongside(shift, actor):
    with pytest.raises(pos.ShiftAlreadyOpen) as error:
        pos.open_shift("S1", "T1", eur(100), actor)
    assert error.value.code == "shift_open" and error.value.details["register"] == "T1" and error.value.details["shift_id"] == shift.public_id
    db.session.rollback()
    other = pos.open_shift("S1", "T2", eur(100), actor)
    assert other.status == "open" and pos.find_open_shift("S1", "T2").id == other.id
    assert pos.find_open_shift("S2", "T1") is None


def test_open_then_close_with_variance_fixes_expected_counted_and_variance(shift, actor):
    pos.record_cash_sale(shift, eur(5000), eur(1010), "ord_1", actor)  # a 39.90 sale paid with a 50 note
    pos.record_cash_movement(shift, eur(1500), "change roll from the bank", actor)
    pos.record_cash_movement(shift, eur(-800), "window cleaner", actor)
    pos.record_cash_refund(shift, eur(1990), "ret_1", actor)
    db.session.commit()
    expected = 20000 + 5000 - 1010 + 1500 - 800 - 1990
    assert pos.expected_cash(shift) == eur(expected)
    closed = pos.close_shift(shift, eur(expected - 250), None, actor)
    db.session.commit()
    assert (closed.status, closed.expected_amount, closed.counted_amount, closed.variance_amount) == ("closed", expected, expected - 250, -250)
    payload = pos.shift_payload(closed)
    assert payload["expected"] == {"amount": expected, "currency": "EUR"} and payload["variance"] == {"amount": -250, "currency": "EUR"}
    assert payload["closed_by"] == actor.ref and payload["closed_at"]


def test_closing_by_denomination_counts_their_sum_and_keeps_the_count(shift, actor):
    closed = pos.close_shift(shift, None, {"50": 2, "100.00": 1, "0.05": 3, "0.5": 1}, actor)
    assert closed.counted_amount == 2 * 5000 + 10000 + 3 * 5 + 50
    assert closed.counted_by_denomination == {"100.00": 1, "50.00": 2, "0.50": 1, "0.05": 3}
    assert closed.variance_amount == closed.counted_amount - 20000


def test_a_count_by_denomination_and_a_total_must_agree(shift, actor):
    with pytest.raises(ValidationError) as error:
        pos.close_shift(shift, eur(1000), {"50.00": 1}, actor)
    assert list(error.value.details) == ["counted"]
    assert pos.close_shift(shift, eur(5000), {"50.00": 1}, actor).counted_amount == 5000


@pytest.mark.parametrize(
    "count, field",
    [
        ({"3.00": 1}, "counted_by_denomination.3.00"),  # no 3-euro note
        ({"0.001": 1}, "counted_by_denomination.0.001"),
        ({"fifty": 1}, "counted_by_denomination.fifty"),
        ({"50.00": -1}, "counted_by_denomination.50.00"),
        ({"50.00": 1.5}, "counted_by_denomination.50.00"),
        ({"50.00": True}, "counted_by_denomination.50.00"),
        ({"50.00": 1, "50": 1}, "counted_by_denomination.50"),
        ({}, "counted_by_denomination"),
    ],
)
def test_a_bad_count_by_denomination_is_invalid_naming_the_denomination(shift, actor, count, field):
    with pytest.raises(ValidationError) as error:
        pos.close_shift(shift, None, count, actor)
    assert list(error.value.details) == [field]
    db.session.rollback()
    assert pos.get_shift(shift.public_id).status == "open"


def test_a_currency_without_known_denominations_closes_with_a_total(actor, world):
    shift = pos.open_shift("S1", "T2", Money(1000, "HUF"), actor)
    with pytest.raises(ValidationError) as error:
        pos.close_shift(shift, None, {"1000": 1}, actor)
    assert "counted_by_denomination" in error.value.details
    assert pos.close_shift(shift, Money(1000, "HUF"), None, actor).variance_amount == 0


def test_the_denominations_of_a_currency_without_cents_are_whole_units():
    assert [pos.denomination_label(v) for v in pos.denominations("JPY")][:2] == ["10000", "5000"]
    assert pos.count_denominations("JPY", {"1000": 3, "5": 2}) == (Money(3010, "JPY"), {"1000": 3, "5": 2})


def test_closing_needs_a_count_in_the_shift_currency(shift, actor):
    with pytest.raises(ValidationError) as missing:
        pos.close_shift(shift, None, None, actor)
    assert list(missing.value.details) == ["counted"]
    with pytest.raises(ValidationError) as other:
        pos.close_shift(shift, Money(100, "USD"), None, actor)
    assert list(other.value.details) == ["counted"]


def test_a_paid_out_beyond_the_drawers_cash_is_refused_and_changes_nothing(shift, actor):
    with pytest.raises(pos.InsufficientCash) as error:
        pos.record_cash_movement(shift, eur(-20001), "supplier", actor)
    assert error.value.code == "insufficient_cash" and error.value.details["expected"] == {"amount": 20000, "currency": "EUR"}
    db.session.rollback()
    pos.record_cash_movement(shift, eur(-20000), "to the safe", actor)  # all of it is fine
    assert pos.expected_cash(shift) == eur(0)
    with pytest.raises(pos.InsufficientCash):
        pos.record_cash_refund(shift, eur(1), "ret_2", actor)


def test_a_cash_in_or_out_needs_a_reason_and_a_nonzero_amount_in_the_shift_currency(shift, actor):
    for amount, reason, field in [(eur(100), "  ", "reason"), (eur(0), "x", "amount"), (Money(100, "USD"), "x", "amount")]:
        with pytest.raises(ValidationError) as error:
            pos.record_cash_movement(shift, amount, reason, actor)
        assert list(error.value.details) == [field]
        db.session.rollback()
    with pytest.raises(ValidationError) as sign:
        pos.record_cash_movement(shift, eur(-100), "x", actor, kind="cash_in")
    assert list(sign.value.details) == ["amount"]
    assert len(pos.shift_movements(shift)) == 1  # the float only


def test_change_cannot_exceed_the_cash_tendered(shift, actor):
    with pytest.raises(ValidationError) as error:
        pos.record_cash_sale(shift, eur(1000), eur(1001), "ord_1", actor)
    assert list(error.value.details) == ["change"]


def test_a_movement_after_close_is_an_invalid_transition_and_a_second_close_too(shift, actor):
    pos.close_shift(shift, eur(20000), None, actor)
    db.session.commit()
    for attempt in (
        lambda: pos.record_cash_movement(shift, eur(100), "late", actor),
        lambda: pos.record_cash_sale(shift, eur(100), eur(0), "ord_9", actor),
        lambda: pos.record_cash_refund(shift, eur(100), "ret_9", actor),
        lambda: pos.close_shift(shift, eur(1), None, actor),
    ):
        with pytest.raises(InvalidTransition):
            attempt()
        db.session.rollback()
    assert len(pos.shift_movements(shift)) == 1
    assert pos.get_shift(shift.public_id).counted_amount == 20000


def test_require_open_shift_answers_no_open_shift_for_checkout(world):
    with pytest.raises(pos.NoOpenShift) as error:
        pos.require_open_shift("S1", "T1")
    assert error.value.code == "no_open_shift"


def test_the_report_adds_up_to_expected_and_lists_every_movement(shift, actor):
    pos.record_cash_sale(shift, eur(5000), eur(1010), "ord_1", actor)
    pos.record_cash_sale(shift, eur(2500), eur(0), "ord_2", actor)
    pos.record_cash_refund(shift, eur(1990), "ret_1", actor)
    pos.record_cash_movement(shift, eur(1500), "change roll", actor)
    pos.record_cash_movement(shift, eur(-800), "window cleaner", actor)
    report = pos.shift_report(shift)
    amount = {
        key: report[key]["amount"]
        for key in ("opening_float", "cash_tendered", "change_given", "cash_sales", "cash_refunds", "cash_in", "cash_out", "expected")
    }
    assert amount == {
        "opening_float": 20000,
        "cash_tendered": 7500,
        "change_given": 1010,
        "cash_sales": 6490,
        "cash_refunds": 1990,
        "cash_in": 1500,
        "cash_out": 800,
        "expected": 20000 + 6490 - 1990 + 1500 - 800,
    }
    assert report["counted"] is None and report["variance"] is None
    assert report["tenders"]["cash"] == {
        "sales": {"amount": 6490, "currency": "EUR"},
        "refunds": {"amount": 1990, "currency": "EUR"},
        "net": {"amount": 4500, "currency": "EUR"},
        "sale_count": 2,
        "refund_count": 1,
    }
    assert [m["kind"] for m in report["movements"]] == ["float", "sale", "change", "sale", "refund", "cash_in", "cash_out"]
    assert sum(m["amount"]["amount"] for m in report["movements"]) == report["expected"]["amount"]


def test_cash_in_out_and_close_are_in_the_audit_log(shift, actor):
    pos.record_cash_movement(shift, eur(500), "float top-up", actor)
    pos.record_cash_movement(shift, eur(-200), "stamps", actor)
    pos.record_cash_sale(shift, eur(100), eur(0), "ord_1", actor)
    pos.close_shift(shift, eur(20400), None, actor)
    actions = [entry.action for entry in audit_entries("shift", shift.public_id)]
    assert actions == ["shift.closed", "shift.cash_out", "shift.cash_in", "shift.opened"]
    closed = audit_entries("shift", shift.public_id, "shift.closed")[0]
    assert closed.details["variance"] == {"amount": 0, "currency": "EUR"} and closed.actor.is_("staff", actor.id)


# --- concurrency (PostgreSQL row locks) ------------------------------------------------------------


def test_two_concurrent_opens_of_one_register_open_one_shift(app, world, actor, row_locks):
    outcomes = race(app, [lambda: pos.open_shift("S1", "T1", eur(100), actor).public_id for _ in range(4)])
    kinds = sorted(outcome.kind for outcome in outcomes)
    assert kinds == ["ok", "refused", "refused", "refused"], outcomes
    assert all("shift_open" in outcome.value for outcome in outcomes if outcome.kind == "refused")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(pos.Shift).where(pos.Shift.status == "open")) == 1


def test_an_open_waiting_on_the_open_shift_index_is_refused_as_shift_open_not_an_error(app, world, actor, row_locks):
    def open_t1():
        return pos.open_shift("S1", "T1", eur(100), actor).public_id

    # the first has inserted its shift (not committed) when the second looks, finds none, and inserts: the
    # partial unique index makes it wait for the first, then refuse
    result = interleave(app, open_t1, open_t1, pattern=re.compile(r"^\s*INSERT INTO shift\b", re.I))
    assert result.second_blocked, result.statements
    assert result.first.kind == "ok" and result.second.kind == "refused", result.outcomes
    assert "shift_open" in result.second.value
    db.session.rollback()
    assert [s.public_id for s in pos.list_shifts(["S1"])] == [result.first.value]


def test_a_movement_racing_a_close_lands_before_it_or_is_refused(app, shift, actor, row_locks):
    shift_id = shift.public_id

    def move():
        return pos.record_cash_movement(pos.get_shift(shift_id), eur(700), "race", actor).id

    def close():
        return pos.close_shift(pos.get_shift(shift_id), eur(20000), None, actor).expected_amount

    # the close holds the shift's lock while the movement comes: the movement waits, then sees it closed
    closing_first = interleave(app, close, move)
    assert closing_first.second_blocked, closing_first.statements
    assert closing_first.first.kind == "ok" and closing_first.first.value == 20000
    assert closing_first.second.kind == "refused" and "invalid_transition" in closing_first.second.value
    db.session.rollback()
    assert [m.kind for m in pos.shift_movements(shift_id)] == ["float"]


def test_a_movement_holding_the_lock_is_in_the_expected_cash_of_the_close_that_waited(app, world, actor, row_locks):
    shift_id = pos.open_shift("S1", "T2", eur(1000), actor).public_id
    db.session.commit()

    def move():
        return pos.record_cash_movement(pos.get_shift(shift_id), eur(700), "race", actor).id

    def close():
        return pos.close_shift(pos.get_shift(shift_id), eur(1700), None, actor).expected_amount

    moving_first = interleave(app, move, close)
    assert moving_first.second_blocked, moving_first.statements
    assert moving_first.outcomes[0].kind == "ok" and moving_first.outcomes[1].kind == "ok"
    assert moving_first.second.value == 1700, "the close counted the movement that committed before it"
    db.session.rollback()
    closed = pos.get_shift(shift_id)
    assert (closed.status, closed.variance_amount) == ("closed", 0)
    assert sum(m.amount for m in pos.shift_movements(shift_id)) == closed.expected_amount
