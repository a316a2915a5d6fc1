"""Checkout under concurrency, on PostgreSQL's row locks (``row_locks``: skipped on SQLite, which
serialises its writers with ``BEGIN IMMEDIATE``).

Every path that meets a checkout on a row follows the one lock order (BRIEF / ``pos.checkout``): the cart,
reservation headers in id order, stock rows in id order, the shift (cash drawer), then new rows.  Each pair
below is run twice with ``tests.concurrency.interleave`` — each path in turn holds its transaction open just
after the lock that matters while the other starts and queues behind it — so a reversed lock order would
deadlock every time, and then a few times released together with ``race``.  Every unit of work must end as
a commit or a domain refusal (409/422 over HTTP), never a database error, and afterwards the stock rows
agree with the ledger and with the held reservations (``stock_consistency``), no unit is sold twice, and
the drawer's expected cash holds every cash sale of the shift.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff
from core import Money, clock, db
from tests.concurrency import interleave, race, stock_consistency

SKU, OTHER = "LAST-1", "LAST-2"

# the statements that matter for a pause: the cart's lock, a reservation header's lock, a stock row's
# lock (a conditional UPDATE is the lock) and the shift's lock
CART_LOCK = re.compile(r"FROM cart\b.*FOR UPDATE", re.S)
RESERVATION_LOCK = re.compile(r"FROM reservation\b.*FOR UPDATE", re.S)
STOCK_LOCK = re.compile(r"^\s*UPDATE stock_level\b|FROM stock_level\b.*FOR (NO KEY )?UPDATE", re.S)
SHIFT_LOCK = re.compile(r"FROM shift\b.*FOR (NO KEY )?UPDATE", re.S)


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


CASH = [{"kind": "cash", "amount": eur(50000)}]


@pytest.fixture
def shop(create_location, create_product):
    """Store S1 with registers T1 and T2 (an open shift each, 100.00 float), SKUs LAST-1 and LAST-2 at 49.00
    (none in stock yet), and Ana, an associate."""
    create_location("S1")
    create_product("last", "Last One", skus=(SKU, OTHER), price=4900)
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    for register in ("T1", "T2"):
        pos.ensure_register("S1", register)
        pos.open_shift("S1", register, eur(10000), ana.actor)
    db.session.commit()
    return {"actor": ana.actor}


@pytest.fixture
def actor(shop):
    return shop["actor"]


def stock(sku: str, on_hand: int) -> None:
    inventory.record_movement("S1", sku, "count", on_hand, reason="test setup")
    db.session.commit()


def new_cart(actor, *skus, register: str = "T1") -> str:
    """A committed open cart with one unit of each SKU (held when the records have it, else unheld)."""
    cart = pos.open_cart("S1", register, actor)
    for sku in skus:
        pos.add_line(cart, actor, sku=sku)
    db.session.commit()
    return cart.public_id


def cart(public_id: str) -> pos.Cart:
    db.session.rollback()
    return pos.get_cart(public_id)


def is_held(public_id: str) -> list[bool]:
    found = cart(public_id)
    holds = {r.id: r for r in db.session.scalars(select(inventory.Reservation).where(inventory.Reservation.reference == public_id))}
    return [line.reservation_id is not None and holds[line.reservation_id].status == "held" for line in found.lines]


def levels(sku: str = SKU) -> dict:
    db.session.rollback()
    item = inventory.availability([sku], "S1")[0][0]
    return {"on_hand": item["on_hand"], "reserved": item["reserved"], "available": item["available"]}


def orders() -> list[pos.Order]:
    db.session.rollback()
    return list(db.session.scalars(select(pos.Order).order_by(pos.Order.id)))


# the units of work, as callables for the threads


def checkout(public_id: str, actor, tenders=CASH):
    return lambda: pos.checkout(public_id, tenders, actor).number


def partner_reserve(sku: str = SKU):
    return lambda: inventory.reserve("S1", [{"sku": sku, "quantity": 1}], "online_order", reference="WEB-1").public_id


def add_line(public_id: str, actor, sku: str = SKU):
    return lambda: pos.add_line(public_id, actor, sku=sku)[1].reservation_id is not None


def remove_line(public_id: str, actor, sku: str):
    def work():
        line = next(line for line in pos.get_cart(public_id).lines if line.sku == sku)
        return len(pos.remove_line(public_id, line.id, actor).lines)

    return work


def expire(reservation_public_id: str):
    # as the expiry job does it: the due reservation is read first, then expired under its lock
    return lambda: inventory.expire_reservation(inventory.get_reservation(reservation_public_id))


def close(actor, register: str = "T1", counted: int = 10000):
    return lambda: pos.close_shift(pos.find_open_shift("S1", register), eur(counted), None, actor).status


def forced(app, first, second, pattern, pause_after: int = 1, must_queue: bool = True):
    """``first`` paused after its ``pause_after``-th statement matching ``pattern``, ``second`` started meanwhile;
    both end as a commit or a domain refusal and the stock rows stay consistent."""
    result = interleave(app, first, second, pause_after=pause_after, pattern=pattern)
    assert result.paused, f"the first path never reached its pause point: {result.statements}"
    if must_queue:
        assert result.second_blocked, "the second path never waited for the first: the interleaving was not forced"
    assert all(o.kind in ("ok", "refused") for o in result.outcomes), result.outcomes
    assert stock_consistency() == []
    return result


def assert_drawers_hold_every_cash_sale() -> None:
    """No shift's expected cash misses a sale: each completed cash order's cash is in its shift's movements, and
    a closed shift's expected equals the sum of its movements."""
    db.session.rollback()
    for order in orders():
        if order.status != "completed":
            continue
        cash = [p for p in order.payments if p.kind == "cash"]
        if not cash:
            continue
        shift = db.session.get(pos.Shift, order.shift_id)
        moved = db.session.scalar(
            select(func.coalesce(func.sum(pos.CashMovement.amount), 0)).where(
                pos.CashMovement.shift_id == shift.id, pos.CashMovement.reference == order.number
            )
        )
        assert moved == cash[0].amount, f"order {order.number}: {moved} in the drawer, {cash[0].amount} paid in cash"
    for shift in db.session.scalars(select(pos.Shift)):
        total = db.session.scalar(select(func.coalesce(func.sum(pos.CashMovement.amount), 0)).where(pos.CashMovement.shift_id == shift.id))
        if shift.status == "closed":
            assert shift.expected_amount == total, f"shift {shift.public_id} closed expecting {shift.expected_amount}, its movements add to {total}"


# --- the last unit, two carts ----------------------------------------------------------------------


@pytest.mark.parametrize("held", ["neither_held", "one_held"])
def test_checkout_last_unit_twice_sells_once(app, row_locks, actor, held):
    if held == "one_held":
        stock(SKU, 1)
        first, second = new_cart(actor, SKU), new_cart(actor, SKU, register="T2")
        assert is_held(first) == [True] and is_held(second) == [False]
    else:
        first, second = new_cart(actor, SKU), new_cart(actor, SKU, register="T2")
        stock(SKU, 1)  # found after both lines were scanned: neither line holds it
    outcomes = race(app, [checkout(first, actor), checkout(second, actor)])
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
    if held == "one_held":
        assert outcomes[0].kind == "ok", "the cart holding the unit sells it"
    (refusal,) = [o for o in outcomes if o.kind == "refused"]
    assert refusal.value.startswith("insufficient_stock") and f"{SKU} (requested 1, available 0)" in refusal.value
    (order,) = orders()
    loser = second if order.cart_id == cart(first).id else first
    assert cart(loser).status == "open" and len(cart(loser).lines) == 1, "the refused cart stays open as it was"
    assert levels() == {"on_hand": 0, "reserved": 0, "available": 0}
    assert stock_consistency() == [] and inventory.ledger_mismatches() == []
    assert_drawers_hold_every_cash_sale()


@pytest.mark.parametrize("order_of_locks", ["first_checkout_holds_the_row", "second_checkout_holds_the_row"])
def test_two_checkouts_of_the_last_unit_queue_on_its_stock_row(app, row_locks, actor, order_of_locks):
    one, two = new_cart(actor, SKU), new_cart(actor, SKU, register="T2")
    stock(SKU, 1)
    if order_of_locks == "second_checkout_holds_the_row":
        one, two = two, one
    result = forced(app, checkout(one, actor), checkout(two, actor), STOCK_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "refused"], result.outcomes
    assert "available 0" in result.second.value
    assert len(orders()) == 1 and cart(two).status == "open"


def test_two_checkouts_of_two_last_units_scanned_in_opposite_orders_queue(app, row_locks, actor):
    one, two = new_cart(actor, SKU, OTHER), new_cart(actor, OTHER, SKU, register="T2")
    stock(SKU, 1)
    stock(OTHER, 1)
    result = forced(app, checkout(one, actor), checkout(two, actor), STOCK_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "refused"], result.outcomes
    (order,) = orders()
    assert sorted(line.sku for line in order.lines) == [SKU, OTHER]
    assert levels(SKU)["on_hand"] == levels(OTHER)["on_hand"] == 0


# --- checkout against a partner's reservation of the last unit ---------------------------------------


def test_checkout_and_a_partner_reservation_of_the_last_unit_exactly_one_wins(app, row_locks, actor):
    for _ in range(3):
        db.session.rollback()
        for reservation in db.session.scalars(select(inventory.Reservation).where(inventory.Reservation.status == "held")):
            inventory.release_reservation(reservation.public_id)
        db.session.commit()
        stock(SKU, 0)
        public_id = new_cart(actor, SKU)  # unheld: none on record when scanned
        stock(SKU, 1)
        outcomes = race(app, [checkout(public_id, actor), partner_reserve()])
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        assert all(o.value.startswith("insufficient_stock") for o in outcomes if o.kind == "refused"), outcomes
        assert levels()["available"] == 0 and stock_consistency() == []
        if outcomes[0].kind == "refused":
            assert cart(public_id).status == "open"


@pytest.mark.parametrize("who_locks_first", ["checkout", "partner"])
def test_checkout_and_a_partner_reservation_queue_on_the_stock_row(app, row_locks, actor, who_locks_first):
    public_id = new_cart(actor, SKU)  # unheld: none on record when scanned
    stock(SKU, 1)
    works = [checkout(public_id, actor), partner_reserve()]
    if who_locks_first == "partner":
        works.reverse()
    result = forced(app, works[0], works[1], STOCK_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "refused"], result.outcomes
    assert result.second.value.startswith("insufficient_stock")
    assert len(orders()) == (1 if who_locks_first == "checkout" else 0)
    assert levels() == (
        {"on_hand": 0, "reserved": 0, "available": 0} if who_locks_first == "checkout" else {"on_hand": 1, "reserved": 1, "available": 0}
    )


def test_a_partner_cannot_take_the_unit_a_cart_holds(app, row_locks, actor):
    stock(SKU, 1)
    public_id = new_cart(actor, SKU)
    outcomes = race(app, [checkout(public_id, actor), partner_reserve()])
    assert [o.kind for o in outcomes] == ["ok", "refused"], outcomes
    assert levels() == {"on_hand": 0, "reserved": 0, "available": 0}


# --- checkout against add_line on another cart --------------------------------------------------------


@pytest.mark.parametrize("who_locks_first", ["checkout", "add_line"])
def test_checkout_and_a_scan_on_another_cart_never_both_have_the_unit(app, row_locks, actor, who_locks_first):
    selling = new_cart(actor, SKU)  # unheld
    scanning = new_cart(actor, register="T2")
    stock(SKU, 1)
    works = [checkout(selling, actor), add_line(scanning, actor)]
    if who_locks_first == "add_line":
        works.reverse()
    result = forced(app, works[0], works[1], STOCK_LOCK)
    sold = len(orders()) == 1
    scanned_held = is_held(scanning) == [True]
    assert sold != scanned_held, f"exactly one of the sale and the other cart's hold: {result.outcomes}"
    assert sold == (who_locks_first == "checkout")
    assert len(cart(scanning).lines) == 1, "the scan adds its line either way (unheld when the unit is gone)"
    if not sold:
        assert cart(selling).status == "open" and "available 0" in result.second.value


def test_checkout_and_scans_on_other_carts_released_together(app, row_locks, actor):
    for _ in range(3):
        selling = new_cart(actor, SKU)
        scanning = new_cart(actor, register="T2")
        stock(SKU, 1)
        outcomes = race(app, [checkout(selling, actor), add_line(scanning, actor)])
        assert all(o.kind in ("ok", "refused") for o in outcomes), outcomes
        sold = cart(selling).status == "checked_out"
        assert sold != (is_held(scanning) == [True])
        assert stock_consistency() == []
        pos.abandon_cart(scanning, actor)
        if not sold:
            pos.abandon_cart(selling, actor)
        db.session.commit()


# --- checkout against the release of the cart's own hold (a line removed on another request) ------------


def test_checkout_waits_for_a_line_removal_on_the_same_cart_and_sells_what_is_left(app, row_locks, actor):
    stock(SKU, 1)
    stock(OTHER, 1)
    public_id = new_cart(actor, SKU, OTHER)
    assert is_held(public_id) == [True, True]
    result = forced(app, remove_line(public_id, actor, OTHER), checkout(public_id, actor), CART_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "ok"], result.outcomes
    (order,) = orders()
    assert [line.sku for line in order.lines] == [SKU], "the removed line is not sold"
    assert levels(SKU)["on_hand"] == 0 and levels(OTHER) == {"on_hand": 1, "reserved": 0, "available": 1}


def test_a_line_removal_waits_for_the_checkout_and_is_refused(app, row_locks, actor):
    stock(SKU, 1)
    stock(OTHER, 1)
    public_id = new_cart(actor, SKU, OTHER)
    result = forced(app, checkout(public_id, actor), remove_line(public_id, actor, OTHER), CART_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "refused"], result.outcomes
    assert result.second.value.startswith("invalid_transition")
    (order,) = orders()
    assert sorted(line.sku for line in order.lines) == [SKU, OTHER]
    assert levels(SKU)["on_hand"] == levels(OTHER)["on_hand"] == 0


def test_removing_the_only_line_while_checking_out_sells_it_or_leaves_an_empty_cart(app, row_locks, actor):
    for _ in range(3):
        stock(SKU, 1)
        public_id = new_cart(actor, SKU)
        outcomes = race(app, [checkout(public_id, actor), remove_line(public_id, actor, SKU)])
        assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
        if outcomes[0].kind == "ok":
            assert levels()["on_hand"] == 0
        else:
            assert "empty" in outcomes[0].value and levels() == {"on_hand": 1, "reserved": 0, "available": 1}
        assert stock_consistency() == []


# --- two checkouts of the same cart -----------------------------------------------------------------------


def test_two_checkouts_of_the_same_cart_make_one_order(app, row_locks, actor):
    stock(SKU, 5)
    public_id = new_cart(actor, SKU)
    result = forced(app, checkout(public_id, actor), checkout(public_id, actor), CART_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "refused"], result.outcomes
    assert result.second.value.startswith("invalid_transition") and "checked out" in result.second.value
    for _ in range(3):
        public_id = new_cart(actor, SKU)
        outcomes = race(app, [checkout(public_id, actor) for _ in range(4)])
        assert sorted(o.kind for o in outcomes) == ["ok", "refused", "refused", "refused"], outcomes
    assert len(orders()) == 4 and levels()["on_hand"] == 1
    assert_drawers_hold_every_cash_sale()


# --- checkout against the expiry of the cart's overdue hold ---------------------------------------------------


def overdue_cart(actor) -> tuple[str, str]:
    stock(SKU, 1)
    public_id = new_cart(actor, SKU)
    reservation = db.session.get(inventory.Reservation, cart(public_id).lines[0].reservation_id)
    reservation.expires_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    return public_id, reservation.public_id


def test_checkout_holding_its_overdue_hold_and_the_expiry_job(app, row_locks, actor):
    public_id, hold = overdue_cart(actor)
    result = forced(app, checkout(public_id, actor), expire(hold), RESERVATION_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "ok"], result.outcomes
    assert result.second.value is False, "the hold was consumed by the sale: nothing to expire"
    assert inventory.get_reservation(hold).status == "committed"
    assert levels() == {"on_hand": 0, "reserved": 0, "available": 0}


def test_expiry_job_holding_the_overdue_hold_and_the_checkout(app, row_locks, actor):
    public_id, hold = overdue_cart(actor)
    result = forced(app, expire(hold), checkout(public_id, actor), RESERVATION_LOCK)
    assert result.first.kind == "ok" and result.first.value is True
    # the hold expired first, so the sale takes the unit it gave back: it is still here, nobody else has it
    assert result.second.kind == "ok", result.outcomes
    assert inventory.get_reservation(hold).status == "expired"
    assert levels() == {"on_hand": 0, "reserved": 0, "available": 0}


def test_checkout_and_the_expiry_job_released_together(app, row_locks, actor):
    for _ in range(3):
        public_id, hold = overdue_cart(actor)
        outcomes = race(app, [checkout(public_id, actor), expire(hold)])
        assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes
        assert levels() == {"on_hand": 0, "reserved": 0, "available": 0} and stock_consistency() == []


# --- cash checkout against the close of the shift on the same register -----------------------------------------------


def shift_of(register: str = "T1") -> pos.Shift:
    db.session.rollback()
    return db.session.scalars(select(pos.Shift).join(pos.Register).where(pos.Register.code == register).order_by(pos.Shift.id.desc())).first()


def test_cash_checkout_holding_the_drawer_lands_before_the_close(app, row_locks, actor):
    stock(SKU, 1)
    public_id = new_cart(actor, SKU)
    result = forced(app, checkout(public_id, actor), close(actor), SHIFT_LOCK)
    assert [o.kind for o in result.outcomes] == ["ok", "ok"], result.outcomes
    shift = shift_of()
    assert shift.status == "closed" and shift.expected_amount == 10000 + 4900, "the sale's cash is in the expected cash"
    assert shift.variance_amount == -4900
    assert_drawers_hold_every_cash_sale()


def test_close_holding_the_drawer_refuses_the_cash_checkout_and_it_sells_nothing(app, row_locks, actor):
    stock(SKU, 1)
    public_id = new_cart(actor, SKU)
    result = forced(app, close(actor), checkout(public_id, actor), SHIFT_LOCK)
    assert result.first.kind == "ok" and result.second.kind == "refused", result.outcomes
    assert result.second.value.startswith(("invalid_transition", "no_open_shift")), result.second.value
    assert orders() == [] and cart(public_id).status == "open" and is_held(public_id) == [True]
    assert levels() == {"on_hand": 1, "reserved": 1, "available": 0}
    assert shift_of().expected_amount == 10000


def test_close_between_the_checkouts_stock_and_its_drawer_refuses_the_sale(app, row_locks, actor):
    """The close does not wait here (the checkout holds no lock on the shift yet): it closes, and the checkout,
    reaching the drawer, finds the shift closed and rolls the whole sale back."""
    stock(SKU, 1)
    public_id = new_cart(actor, SKU)
    result = forced(app, checkout(public_id, actor), close(actor), STOCK_LOCK, must_queue=False)
    assert result.second.kind == "ok", result.outcomes
    assert result.first.kind == "refused" and result.first.value.startswith("invalid_transition"), result.outcomes
    assert orders() == [] and levels() == {"on_hand": 1, "reserved": 1, "available": 0}
    assert_drawers_hold_every_cash_sale()


def test_cash_checkouts_and_the_close_released_together_never_lose_a_sale(app, row_locks, actor):
    stock(SKU, 10)
    carts = [new_cart(actor, SKU) for _ in range(4)]
    outcomes = race(app, [checkout(public_id, actor) for public_id in carts] + [close(actor)])
    assert all(o.kind in ("ok", "refused") for o in outcomes), outcomes
    assert outcomes[-1].kind == "ok"
    sold = [o for o in outcomes[:-1] if o.kind == "ok"]
    assert len(orders()) == len(sold)
    assert shift_of().expected_amount == 10000 + 4900 * len(sold)
    assert levels()["on_hand"] == 10 - len(sold) and stock_consistency() == []
    assert_drawers_hold_every_cash_sale()


# --- 64 tablets, 10 units -------------------------------------------------------------------------------------


@pytest.mark.parametrize("holds", ["none_held", "ten_held"])
def test_sixty_four_checkouts_of_ten_units_sell_exactly_ten(app, row_locks, actor, holds):
    registers = [f"R{n}" for n in range(8)]
    for register in registers:
        pos.ensure_register("S1", register)
        pos.open_shift("S1", register, eur(10000), actor)
    db.session.commit()
    if holds == "ten_held":
        stock(SKU, 10)
    carts = [new_cart(actor, SKU, register=registers[n % len(registers)]) for n in range(64)]
    if holds == "none_held":
        stock(SKU, 10)
        assert not any(held for public_id in carts for held in is_held(public_id))
    outcomes = race(app, [checkout(public_id, actor) for public_id in carts])
    kinds = [o.kind for o in outcomes]
    assert kinds.count("ok") == 10 and kinds.count("refused") == 54, outcomes
    assert all(o.value.startswith("insufficient_stock") for o in outcomes if o.kind == "refused"), outcomes
    if holds == "ten_held":
        assert kinds[:10] == ["ok"] * 10, "the ten carts holding units are the ten sales"
    assert len(orders()) == 10
    assert levels() == {"on_hand": 0, "reserved": 0, "available": 0}
    assert inventory.ledger_mismatches() == [] and stock_consistency() == []
    sold = db.session.scalar(select(func.coalesce(func.sum(inventory.StockMovement.quantity), 0)).where(inventory.StockMovement.kind == "sale"))
    assert sold == -10
    assert all(cart(public_id).status == "open" for public_id, o in zip(carts, outcomes, strict=True) if o.kind == "refused")
    assert_drawers_hold_every_cash_sale()
