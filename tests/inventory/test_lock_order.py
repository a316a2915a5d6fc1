"""One lock order for every path that writes stock or reservations (see ``inventory/stock.py``).

Each test takes two write paths that can meet on one stock row and forces the dangerous
interleaving on PostgreSQL: the first holds its transaction open right after its first (or
n-th) row lock, the second starts and queues behind it, then the first goes on.  Two paths
taking their locks in opposite orders deadlock here every time; with one order the second
simply waits.  Then the same pair is released together a few times with a barrier.  Both must
end as a commit or a domain refusal (409/422 over HTTP), never a database error, and the stock
rows must still agree with the ledger and with the held reservations.
"""

from datetime import timedelta

import pytest

import inventory
from core import clock, db
from tests.concurrency import interleave, race, stock_consistency


@pytest.fixture
def shop(create_location, create_product, set_stock):
    """Stores S1 and S2; SKUs A-1 and A-2 with 10 units each at S1 (stock rows 1 and 2, so A-1's row
    comes first in id order) and 10 each at S2."""
    create_location("S1")
    create_location("S2")
    create_product(handle="a", skus=("A-1", "A-2"))
    for store in ("S1", "S2"):
        set_stock(store, "A-1", 10)
        set_stock(store, "A-2", 10)


def hold(*lines, store="S1", overdue=False) -> str:
    """A committed reservation of (sku, quantity) lines; ``overdue``: its expiry already passed."""
    reservation = inventory.reserve(store, [{"sku": sku, "quantity": quantity} for sku, quantity in lines], "online_order", expires_in=600)
    if overdue:
        reservation.expires_at = clock.now() - timedelta(minutes=5)
    db.session.commit()
    return reservation.public_id


# the units of work, as callables for the threads


def reserve(*lines, store="S1"):
    return lambda: inventory.reserve(store, [{"sku": sku, "quantity": quantity} for sku, quantity in lines], "online_order").public_id


def commit(public_id):
    return lambda: inventory.commit_reservation(public_id).status


def release(public_id):
    return lambda: inventory.release_reservation(public_id).status


def expire(public_id):
    # as the dispatcher does it: the due reservation is read first, then expired
    return lambda: inventory.expire_reservation(inventory.get_reservation(public_id))


def count(*lines, store="S1"):
    return lambda: inventory.count_location(store, list(lines))


def move(sku, kind, quantity, store="S1"):
    return lambda: inventory.record_movement(store, sku, kind, quantity)[0].on_hand


def transfer(*lines):
    return lambda: inventory.create_transfer("S1", "S2", [{"sku": sku, "quantity": quantity} for sku, quantity in lines]).public_id


def receive(public_id):
    return lambda: inventory.receive_transfer(public_id).status


def status(public_id):
    db.session.rollback()
    return inventory.get_reservation(public_id).status


def check_pair(app, first, second, pause_after=1, expect=None, races=3, setup_again=None):
    forced = interleave(app, first(), second(), pause_after=pause_after)
    assert forced.paused, f"the first path never reached its pause point: {forced.statements}"
    assert forced.second_blocked, "the second path never waited for the first: the test did not force the interleaving"
    assert all(o.kind in ("ok", "refused") for o in forced.outcomes), forced.outcomes
    if expect:
        assert [o.kind for o in forced.outcomes] == list(expect), forced.outcomes
    assert stock_consistency() == []
    for _ in range(races if setup_again else 0):
        first_work, second_work = setup_again()
        outcomes = race(app, [first_work, second_work])
        assert all(o.kind in ("ok", "refused") for o in outcomes), outcomes
        assert stock_consistency() == []
    return forced


def test_two_multi_line_holds_in_opposite_orders_queue(app, row_locks, shop):
    check_pair(
        app,
        lambda: reserve(("A-1", 1), ("A-2", 1)),
        lambda: reserve(("A-2", 1), ("A-1", 1)),
        expect=("ok", "ok"),
        setup_again=lambda: (reserve(("A-1", 1), ("A-2", 1)), reserve(("A-2", 1), ("A-1", 1))),
    )


def test_expiry_holding_the_reservation_and_a_hold_that_needs_its_units(app, row_locks, shop):
    overdue = hold(("A-1", 10), overdue=True)
    check_pair(app, lambda: expire(overdue), lambda: reserve(("A-1", 5)), expect=("ok", "ok"))
    assert status(overdue) == "expired"


def test_hold_finding_an_overdue_hold_while_the_expiry_runs(app, row_locks, shop):
    overdue = hold(("A-1", 10), overdue=True)
    check_pair(app, lambda: reserve(("A-1", 5)), lambda: expire(overdue), expect=("ok", "ok"))
    assert status(overdue) == "expired"
    assert inventory.availability(["A-1"], "S1")[0][0]["reserved"] == 5


def test_release_of_an_overdue_hold_and_a_hold_that_needs_its_units(app, row_locks, shop):
    overdue = hold(("A-1", 10), ("A-2", 3), overdue=True)
    check_pair(app, lambda: release(overdue), lambda: reserve(("A-1", 5)), expect=("ok", "ok"))
    assert status(overdue) == "released"


def test_hold_finding_an_overdue_hold_while_it_is_released(app, row_locks, shop):
    overdue = hold(("A-2", 3), ("A-1", 10), overdue=True)
    check_pair(app, lambda: reserve(("A-1", 5)), lambda: release(overdue), expect=("ok", "ok"))
    assert status(overdue) in ("expired", "released")


def test_two_holds_expiring_the_same_overdue_hold_on_two_rows(app, row_locks, shop):
    overdue = hold(("A-1", 10), ("A-2", 10), overdue=True)
    check_pair(app, lambda: reserve(("A-2", 1)), lambda: reserve(("A-1", 1)), expect=("ok", "ok"))
    assert status(overdue) == "expired"


def test_commit_holding_a_row_and_a_hold_on_the_same_rows(app, row_locks, shop):
    held = hold(("A-2", 2), ("A-1", 2))
    # pause after the reservation's lock and the first stock row
    check_pair(app, lambda: commit(held), lambda: reserve(("A-2", 1), ("A-1", 1)), pause_after=2, expect=("ok", "ok"))


def test_hold_holding_a_row_and_a_commit_on_the_same_rows(app, row_locks, shop):
    held = hold(("A-2", 2), ("A-1", 2))
    check_pair(app, lambda: reserve(("A-1", 1), ("A-2", 1)), lambda: commit(held), expect=("ok", "ok"))


def test_commit_and_release_of_one_reservation(app, row_locks, shop):
    held = hold(("A-1", 2), ("A-2", 1))
    check_pair(app, lambda: commit(held), lambda: release(held), expect=("ok", "refused"))
    assert status(held) == "committed"


def test_commit_and_release_of_two_reservations_with_opposite_lines(app, row_locks, shop):
    one, other = hold(("A-1", 2), ("A-2", 1)), hold(("A-2", 2), ("A-1", 1))
    check_pair(app, lambda: commit(one), lambda: release(other), pause_after=2, expect=("ok", "ok"))


def test_commit_and_expiry_of_two_reservations_on_the_same_rows(app, row_locks, shop):
    live, overdue = hold(("A-1", 2), ("A-2", 1)), hold(("A-2", 2), ("A-1", 1), overdue=True)
    check_pair(app, lambda: commit(live), lambda: expire(overdue), pause_after=2, expect=("ok", "ok"))


def test_expiry_and_commit_of_two_reservations_on_the_same_rows(app, row_locks, shop):
    live, overdue = hold(("A-1", 2), ("A-2", 1)), hold(("A-2", 2), ("A-1", 1), overdue=True)
    check_pair(app, lambda: expire(overdue), lambda: commit(live), pause_after=2, expect=("ok", "ok"))


def test_commit_and_expiry_of_one_overdue_reservation(app, row_locks, shop):
    overdue = hold(("A-1", 2), overdue=True)
    check_pair(app, lambda: expire(overdue), lambda: commit(overdue), expect=("ok", "refused"))
    assert status(overdue) == "expired"


def test_count_naming_rows_in_reverse_and_a_hold(app, row_locks, shop):
    check_pair(
        app,
        lambda: count(("A-2", 7), ("A-1", 7)),
        lambda: reserve(("A-1", 1), ("A-2", 1)),
        expect=("ok", "ok"),
        setup_again=lambda: (count(("A-2", 9), ("A-1", 9)), reserve(("A-1", 1), ("A-2", 1))),
    )


def test_two_counts_naming_the_same_rows_in_opposite_orders(app, row_locks, shop):
    check_pair(
        app,
        lambda: count(("A-2", 7), ("A-1", 7)),
        lambda: count(("A-1", 8), ("A-2", 8)),
        expect=("ok", "ok"),
        setup_again=lambda: (count(("A-2", 9), ("A-1", 9)), count(("A-1", 11), ("A-2", 11))),
    )
    items = {i["sku"]: i["on_hand"] for i in inventory.availability(["A-1", "A-2"], "S1")[0]}
    assert items["A-1"] == items["A-2"]


def test_count_naming_rows_in_reverse_and_a_commit(app, row_locks, shop):
    held = hold(("A-1", 2), ("A-2", 2))
    check_pair(app, lambda: count(("A-2", 7), ("A-1", 7)), lambda: commit(held), expect=("ok", "ok"))


def test_transfer_out_and_a_hold_on_the_same_rows(app, row_locks, shop):
    check_pair(
        app,
        lambda: transfer(("A-2", 1), ("A-1", 1)),
        lambda: reserve(("A-1", 1), ("A-2", 1)),
        expect=("ok", "ok"),
        setup_again=lambda: (transfer(("A-2", 1), ("A-1", 1)), reserve(("A-1", 1), ("A-2", 1))),
    )


def test_transfer_receipt_and_a_count_at_the_destination(app, row_locks, shop):
    sent = inventory.create_transfer("S1", "S2", [{"sku": "A-2", "quantity": 2}, {"sku": "A-1", "quantity": 2}]).public_id
    db.session.commit()
    # pause after the transfer's lock and the first destination row
    check_pair(app, lambda: receive(sent), lambda: count(("A-2", 4), ("A-1", 4), store="S2"), pause_after=2, expect=("ok", "ok"))


def test_movement_and_a_hold_on_the_same_row(app, row_locks, shop):
    check_pair(
        app,
        lambda: move("A-1", "adjust", -1),
        lambda: reserve(("A-2", 1), ("A-1", 1)),
        expect=("ok", "ok"),
        setup_again=lambda: (move("A-1", "receive", 2), reserve(("A-2", 1), ("A-1", 1))),
    )
