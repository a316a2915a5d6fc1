"""Registers and shifts: the opening float, cash in and out, cash sales and refunds, the closing count,
expected against counted cash and the variance, and the end-of-day report.

Locks.  Every write to a shift — a cash movement, a sale's cash, a refund, the close — first locks the
shift's row (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL; on SQLite the write transaction's
``BEGIN IMMEDIATE`` already serialises writers), re-reads its status under that lock, and only then
sums or appends movements.  So a movement either lands before the close (and is in its expected cash)
or sees the shift closed and is refused; it never lands on a closed shift.  The lock is the only one
these paths take on shift tables, and they take it first: no lock order to get wrong.

Opening: the partial unique index on ``shift(register_id) WHERE status = 'open'`` is what keeps a
register to one open shift under any concurrency; the look-up before it only gives the usual case a
friendly answer.  Services flush; the caller commits.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import inventory
from core import clock, db
from core.actor import Actor
from core.audit import record_audit
from core.errors import Conflict, InvalidTransition, NotFound, ValidationError
from core.money import Money
from core.outbox import new_id

from .order_models import Order, Payment
from .return_models import Refund
from .shift_models import MOVEMENT_KINDS, CashMovement, Register, Shift

REGISTER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$")
MAX_DENOMINATION_COUNT = 1_000_000
MAX_AMOUNT = 10**12

# Notes and coins in circulation, in major units, largest first.  A closing count by denomination is
# accepted in these currencies; elsewhere the counted total is sent as one amount.
DENOMINATIONS = {
    "EUR": ("500", "200", "100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),
    "USD": ("100", "50", "20", "10", "5", "2", "1", "0.50", "0.25", "0.10", "0.05", "0.01"),
    "GBP": ("50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),
    "CHF": ("1000", "200", "100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05"),
    "SEK": ("1000", "500", "200", "100", "50", "20", "10", "5", "2", "1"),
    "DKK": ("1000", "500", "200", "100", "50", "20", "10", "5", "2", "1", "0.50"),
    "NOK": ("1000", "500", "200", "100", "50", "20", "10", "5", "1"),
    "PLN": ("500", "200", "100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"),
    "CAD": ("100", "50", "20", "10", "5", "2", "1", "0.25", "0.10", "0.05"),
    "AUD": ("100", "50", "20", "10", "5", "2", "1", "0.50", "0.20", "0.10", "0.05"),
    "JPY": ("10000", "5000", "2000", "1000", "500", "100", "50", "10", "5", "1"),
}

# the sign each kind of movement has in the drawer
_POSITIVE = {"cash_in", "sale"}
_NEGATIVE = {"cash_out", "refund", "change"}
_MANUAL = {"cash_in", "cash_out"}


class ShiftAlreadyOpen(Conflict):
    """This register already has an open shift."""

    code = "shift_open"


class NoOpenShift(Conflict):
    """This register has no open shift: open one before taking cash."""

    code = "no_open_shift"


class InsufficientCash(Conflict):
    """The drawer does not hold that much cash."""

    code = "insufficient_cash"


# --- registers ------------------------------------------------------------------------------------


def _store(store_code: str):
    return inventory.get_location(store_code, "store", kinds=("store",))


def ensure_register(store_code: str, code: str, name: str | None = None) -> tuple[Register, bool]:
    """The register ``code`` at the store, created when missing (safe to run again: the name of an existing
    register is changed only when ``name`` is given); answers (register, created).  ValidationError on
    ``store`` for an unknown store, on ``code`` for a code that is not 1-20 letters, digits, '-' or '_'."""
    location = _store(store_code)
    code = (code or "").strip() if isinstance(code, str) else ""
    if not REGISTER_CODE.match(code):
        raise ValidationError("a register code is 1 to 20 letters, digits, '-' or '_', like T1", field="code")
    if name is not None and len(name) > 200:
        raise ValidationError("a register name has at most 200 characters", field="name")
    register = db.session.scalar(select(Register).where(Register.location_id == location.id, Register.code == code))
    if register is not None:
        if name:
            register.name = name.strip()
            db.session.flush()
        return register, False
    register = Register(location_id=location.id, code=code, name=(name or "").strip() or f"Register {code}", active=True, created_at=clock.now())
    db.session.add(register)
    db.session.flush()
    return register, True


def get_register(store_code: str, register_code: str) -> Register:
    """The active register ``register_code`` at the store; ValidationError naming ``store`` or ``register``."""
    location = _store(store_code)
    register = None
    if isinstance(register_code, str) and register_code:
        register = db.session.scalar(select(Register).where(Register.location_id == location.id, Register.code == register_code))
    if register is None or not register.active:
        raise ValidationError(f"unknown register {register_code!r} at {location.code}", field="register")
    return register


def list_registers(store_code: str) -> list[Register]:
    """The store's active registers by code."""
    location = _store(store_code)
    return list(db.session.scalars(select(Register).where(Register.location_id == location.id, Register.active.is_(True)).order_by(Register.code)))


def seed_registers(store_codes: list[str] | None = None) -> int:
    """Demo registers: two tablets, "T1" and "T2", at every active store (or at ``store_codes``).  Safe to
    run again; answers how many were created."""
    if store_codes is None:
        store_codes = [location.code for location in inventory.list_locations(kinds=("store",))]
    created = 0
    for store_code in store_codes:
        for number in (1, 2):
            _, made = ensure_register(store_code, f"T{number}", f"Tablet {number}")
            created += made
    return created


# --- shifts ----------------------------------------------------------------------------------------


def _check_money(value, field: str, currency: str | None = None, allow_negative: bool = False) -> Money:
    if not isinstance(value, Money):
        raise ValidationError("an amount is {amount, currency}", field=field)
    if currency is not None and value.currency != currency:
        raise ValidationError(f"this shift counts cash in {currency}, not {value.currency}", field=field)
    if abs(value.amount) > MAX_AMOUNT or (value.amount < 0 and not allow_negative):
        raise ValidationError("the amount must be between 0 and 10^12 minor units", field=field)
    return value


def open_shift(store_code: str, register_code: str, opening_float: Money, actor: Actor) -> Shift:
    """Open a shift on a register with its opening float (recorded as the drawer's first movement).

    Raises ValidationError naming ``store``, ``register`` or ``opening_float``; ShiftAlreadyOpen (409
    ``shift_open``, details name the register and its open shift) when the register has an open shift —
    also when a concurrent open of the same register committed first (the partial unique index)."""
    register = get_register(store_code, register_code)
    _check_money(opening_float, "opening_float")
    existing = open_shift_of(register)
    if existing is not None:
        raise _already_open(register, existing)
    now = clock.now()
    shift = Shift(
        public_id=new_id("shf"),
        register_id=register.id,
        location_id=register.location_id,
        status="open",
        currency=opening_float.currency,
        opening_float=opening_float.amount,
        opened_by_kind=actor.kind,
        opened_by_id=actor.id,
        opened_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(shift)
            db.session.flush()
    except IntegrityError:  # a concurrent open of this register committed first
        winner = open_shift_of(register)
        raise _already_open(register, winner) from None
    db.session.add(
        CashMovement(shift_id=shift.id, kind="float", amount=opening_float.amount, reason="opening float", created_at=now, **actor.columns())
    )
    db.session.flush()
    record_audit("shift.opened", actor, "shift", shift.public_id, {"register": register.code, "opening_float": opening_float.to_dict()})
    return shift


def open_shift_of(register: Register) -> Shift | None:
    """The register's open shift (freshly read), None when it has none.  Unlocked."""
    return db.session.scalar(select(Shift).where(Shift.register_id == register.id, Shift.status == "open").execution_options(populate_existing=True))


def _already_open(register: Register, existing: Shift | None) -> ShiftAlreadyOpen:
    return ShiftAlreadyOpen(
        f"register {register.code} at {register.location.code} already has an open shift",
        {"register": register.code, "store": register.location.code, "shift_id": existing.public_id if existing else None},
    )


def get_shift(public_id: str) -> Shift:
    """The shift with this id; NotFound otherwise."""
    shift = db.session.scalar(select(Shift).where(Shift.public_id == public_id)) if isinstance(public_id, str) else None
    if shift is None:
        raise NotFound(f"no shift {public_id}")
    return shift


def find_open_shift(store_code: str, register_code: str) -> Shift | None:
    """The register's open shift, None when it has none.  ValidationError naming ``store`` or ``register``
    when there is no such store or register."""
    return open_shift_of(get_register(store_code, register_code))


def require_open_shift(store_code: str, register_code: str) -> Shift:
    """The register's open shift; NoOpenShift (409 ``no_open_shift``) when it has none (for cash at checkout)."""
    shift = find_open_shift(store_code, register_code)
    if shift is None:
        raise NoOpenShift(f"register {register_code} at {store_code} has no open shift", {"register": register_code, "store": store_code})
    return shift


def list_shifts(store_codes: list[str] | None, status: str | None = None, before_id: int | None = None, limit: int = 50) -> list[Shift]:
    """Shifts newest first, at the stores ``store_codes`` (None: every store), optionally of one status;
    ``before_id`` pages on (shifts with a smaller internal id)."""
    query = select(Shift).order_by(Shift.id.desc()).limit(limit)
    if store_codes is not None:
        query = query.where(Shift.location_id.in_(select(inventory.Location.id).where(inventory.Location.code.in_(store_codes))))
    if status:
        query = query.where(Shift.status == status)
    if before_id is not None:
        query = query.where(Shift.id < before_id)
    return list(db.session.scalars(query))


def _resolve(shift) -> Shift:
    return get_shift(shift) if isinstance(shift, str) else shift


def _lock(shift: Shift) -> Shift:
    """The shift re-read under its row lock (PostgreSQL ``FOR NO KEY UPDATE``: movements' foreign-key checks
    are not blocked; SQLite: the transaction began IMMEDIATE)."""
    locked = db.session.scalar(
        select(Shift).where(Shift.id == shift.id).with_for_update(key_share=True, of=Shift).execution_options(populate_existing=True)
    )
    if locked is None:
        raise NotFound(f"no shift {shift.public_id}")
    return locked


def _drawer_total(shift: Shift) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(CashMovement.amount), 0)).where(CashMovement.shift_id == shift.id))


def expected_cash(shift) -> Money:
    """What the drawer should hold now: the sum of the shift's movements (its float included); for a closed
    shift, the expected cash fixed at the close."""
    shift = _resolve(shift)
    if shift.status == "closed":
        return shift.money(shift.expected_amount)
    return Money(_drawer_total(shift), shift.currency)


def _locked_open(shift) -> Shift:
    shift = _lock(_resolve(shift))
    if shift.status != "open":
        raise InvalidTransition(f"shift {shift.public_id} is closed", {"shift_id": shift.public_id, "status": shift.status})
    return shift


def _append(shift: Shift, kind: str, amount: int, reason: str, reference: str, actor: Actor) -> CashMovement:
    movement = CashMovement(
        shift_id=shift.id, kind=kind, amount=amount, reason=reason, reference=reference, created_at=clock.now(), **actor.columns()
    )
    db.session.add(movement)
    return movement


def _check_text(value, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(f"at most {limit} characters", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationError("say why the cash goes in or out", field=field)
    return value


def record_cash_movement(shift, amount: Money, reason: str, actor: Actor, kind: str | None = None, reference: str = "") -> CashMovement:
    """Put cash into the drawer (``amount`` positive: ``cash_in``) or take it out (negative: ``cash_out``, a
    paid-out), with a reason (required for these two).  ``kind`` may also name ``sale``, ``refund`` or
    ``change`` (the signs must agree: sale positive, the others negative); prefer ``record_cash_sale`` and
    ``record_cash_refund`` for those.

    Locks the shift's row first.  Raises ValidationError naming ``amount``, ``reason`` or ``kind``;
    InvalidTransition (422) when the shift is closed; InsufficientCash (409) when more would leave the
    drawer than its expected cash."""
    _check_money(amount, "amount", allow_negative=True)
    if kind is None:
        kind = "cash_in" if amount.amount > 0 else "cash_out"
    if kind not in MOVEMENT_KINDS or kind == "float":
        raise ValidationError(f"a movement is one of {', '.join(k for k in MOVEMENT_KINDS if k != 'float')}", field="kind")
    if amount.amount == 0:
        raise ValidationError("a movement of nothing is not a movement", field="amount")
    if (kind in _POSITIVE) != (amount.amount > 0):
        raise ValidationError(f"a {kind} is {'positive' if kind in _POSITIVE else 'negative'}", field="amount")
    reason = _check_text(reason, "reason", 500, required=kind in _MANUAL)
    reference = _check_text(reference, "reference", 200)
    shift = _locked_open(shift)
    _check_money(amount, "amount", shift.currency, allow_negative=True)
    if amount.amount < 0:
        _require_cash(shift, -amount.amount)
    movement = _append(shift, kind, amount.amount, reason, reference, actor)
    db.session.flush()
    if kind in _MANUAL:
        record_audit(f"shift.{kind}", actor, "shift", shift.public_id, {"amount": amount.to_dict(), "reason": reason, "movement_id": movement.id})
    return movement


def _require_cash(shift: Shift, needed: int) -> None:
    held = _drawer_total(shift)
    if needed > held:
        raise InsufficientCash(
            f"the drawer should hold {Money(held, shift.currency).format()}: it cannot pay out {Money(needed, shift.currency).format()}",
            {"expected": Money(held, shift.currency).to_dict(), "requested": Money(needed, shift.currency).to_dict(), "field": "amount"},
        )


def record_cash_sale(shift, amount: Money, change: Money, reference: str, actor: Actor) -> list[CashMovement]:
    """The cash a sale took: ``amount`` tendered goes in (``sale``), ``change`` given back goes out (``change``,
    when not zero).  ``reference`` names the order.  Locks the shift's row first.  Raises ValidationError
    naming ``amount`` or ``change`` (change more than tendered, another currency), InvalidTransition (422)
    when the shift is closed."""
    _check_money(amount, "amount")
    _check_money(change, "change")
    if amount.amount <= 0:
        raise ValidationError("cash tendered must be more than zero", field="amount")
    if change.currency != amount.currency or change.amount > amount.amount:
        raise ValidationError("change is at most the cash tendered, in its currency", field="change")
    reference = _check_text(reference, "reference", 200)
    shift = _locked_open(shift)
    _check_money(amount, "amount", shift.currency)
    movements = [_append(shift, "sale", amount.amount, "cash sale", reference, actor)]
    if change.amount:
        movements.append(_append(shift, "change", -change.amount, "change given", reference, actor))
    db.session.flush()
    return movements


def record_cash_refund(shift, amount: Money, reference: str, actor: Actor) -> CashMovement:
    """Cash paid back to a customer (``refund``); ``amount`` is positive, ``reference`` names the return.  Locks
    the shift's row first.  Raises ValidationError naming ``amount``, InvalidTransition (422) when the shift
    is closed, InsufficientCash (409) when the drawer does not hold that much."""
    _check_money(amount, "amount")
    if amount.amount <= 0:
        raise ValidationError("a refund is more than zero", field="amount")
    reference = _check_text(reference, "reference", 200)
    shift = _locked_open(shift)
    _check_money(amount, "amount", shift.currency)
    _require_cash(shift, amount.amount)
    movement = _append(shift, "refund", -amount.amount, "cash refund", reference, actor)
    db.session.flush()
    return movement


def denominations(currency: str) -> list[Money]:
    """The notes and coins of ``currency``, largest first (empty when Shelfside does not know them)."""
    return [Money.parse_decimal(value, currency) for value in DENOMINATIONS.get(currency.upper(), ())]


def denomination_label(value: Money) -> str:
    """'50.00' for 5000 EUR cents, '1000' for 1000 yen: the key of a count by denomination."""
    exponent = Money.exponent(value.currency)
    if not exponent:
        return str(value.amount)
    major, minor = divmod(value.amount, 10**exponent)
    return f"{major}.{minor:0{exponent}d}"


def count_denominations(currency: str, by_denomination: dict) -> tuple[Money, dict]:
    """The total of a count by denomination ({"50.00": 2, "0.05": 3}: value in major units -> how many) and
    the count with its keys written the one way ("50" and "50.00" are one note).  ValidationError naming
    ``counted_by_denomination`` (or one of its keys) for an unknown denomination, a count that is not a
    whole number from 0 to 1,000,000, the same denomination twice, or a currency without known denominations."""
    field = "counted_by_denomination"
    known = {value.amount: value for value in denominations(currency)}
    if not known:
        raise ValidationError(f"Shelfside knows no denominations of {currency}: send the counted total", field=field)
    if not isinstance(by_denomination, dict) or not by_denomination:
        raise ValidationError('name each denomination counted and how many, like {"50.00": 2}', field=field)
    total, normalised = 0, {}
    for key, count in by_denomination.items():
        try:
            value = Money.parse_decimal(str(key), currency)
        except ValueError:
            value = None
        if value is None or value.amount not in known:
            raise ValidationError(f"{key!r} is not a note or coin of {currency}", field=f"{field}.{key}")
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_DENOMINATION_COUNT:
            raise ValidationError("how many: a whole number from 0 to 1,000,000", field=f"{field}.{key}")
        label = denomination_label(value)
        if label in normalised:
            raise ValidationError(f"{label} is counted twice", field=f"{field}.{key}")
        normalised[label] = count
        total += value.amount * count
    ordered = {denomination_label(v): normalised[denomination_label(v)] for v in known.values() if denomination_label(v) in normalised}
    return Money(total, currency), ordered


def close_shift(shift, counted: Money | None, by_denomination: dict | None, actor: Actor) -> Shift:
    """Close a shift with the cash counted in its drawer: a total (``counted``), a count by denomination
    (``by_denomination``, whose sum is the counted cash), or both when they agree.  Fixes the expected cash
    (the sum of its movements, under the shift's row lock, so no movement lands after it) and the variance
    (counted - expected: negative when cash is missing).

    Raises ValidationError naming ``counted`` or ``counted_by_denomination``; InvalidTransition (422) when
    the shift is already closed."""
    shift = _resolve(shift)
    if counted is None and by_denomination is None:
        raise ValidationError("send the counted cash, as a total or by denomination", field="counted")
    if counted is not None:
        _check_money(counted, "counted", shift.currency)
    normalised = None
    if by_denomination is not None:
        total, normalised = count_denominations(shift.currency, by_denomination)
        if counted is not None and counted != total:
            raise ValidationError(f"the denominations add up to {total.format()}, not {counted.format()}", field="counted")
        counted = total
    shift = _locked_open(shift)
    expected = _drawer_total(shift)
    shift.status = "closed"
    shift.closed_at = clock.now()
    shift.closed_by_kind, shift.closed_by_id = actor.kind, actor.id
    shift.counted_amount = counted.amount
    shift.counted_by_denomination = normalised
    shift.expected_amount = expected
    shift.variance_amount = counted.amount - expected
    db.session.flush()
    record_audit(
        "shift.closed",
        actor,
        "shift",
        shift.public_id,
        {
            "register": shift.register.code,
            "expected": shift.money(expected).to_dict(),
            "counted": counted.to_dict(),
            "variance": shift.money(shift.variance_amount).to_dict(),
        },
    )
    return shift


# --- answers ---------------------------------------------------------------------------------------


def _money_dict(shift: Shift, amount: int | None) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": shift.currency}


def shift_payload(shift: Shift) -> dict:
    """The shift as the API shows it (Money as {amount, currency}); ``expected`` is the running expected cash
    while the shift is open."""
    expected = shift.expected_amount if shift.status == "closed" else _drawer_total(shift)
    return {
        "id": shift.public_id,
        "status": shift.status,
        "store": shift.location.code,
        "register": shift.register.code,
        "register_name": shift.register.name,
        "currency": shift.currency,
        "opening_float": _money_dict(shift, shift.opening_float),
        "opened_at": clock.isoformat(shift.opened_at),
        "opened_by": shift.opened_by.ref,
        "expected": _money_dict(shift, expected),
        "counted": _money_dict(shift, shift.counted_amount),
        "variance": _money_dict(shift, shift.variance_amount),
        "counted_by_denomination": shift.counted_by_denomination,
        "closed_at": clock.isoformat(shift.closed_at),
        "closed_by": shift.closed_by.ref if shift.closed_by else None,
    }


def movement_payload(movement: CashMovement, currency: str) -> dict:
    return {
        "id": movement.id,
        "kind": movement.kind,
        "amount": {"amount": movement.amount, "currency": currency},
        "reason": movement.reason,
        "reference": movement.reference,
        "actor": movement.actor.ref,
        "created_at": clock.isoformat(movement.created_at),
    }


def shift_movements(shift) -> list[CashMovement]:
    """The shift's movements, oldest first."""
    shift = _resolve(shift)
    return list(db.session.scalars(select(CashMovement).where(CashMovement.shift_id == shift.id).order_by(CashMovement.id)))


def _electronic_tenders(shift: Shift) -> dict[str, dict[str, int]]:
    """Card and QR sales of the shift (succeeded payments of the orders sold in it: checkout records the register's
    open shift on every order, card-only ones too) and the card and QR refunds recorded in it."""
    sold_in_shift = Order.shift_id == shift.id
    sales = db.session.execute(
        select(Payment.kind, func.coalesce(func.sum(Payment.amount), 0), func.count(Payment.id))
        .join(Order, Order.id == Payment.order_id)
        .where(sold_in_shift, Payment.kind.in_(("card", "qr")), Payment.status == "succeeded", Payment.currency == shift.currency)
        .group_by(Payment.kind)
    ).all()
    refunds = db.session.execute(
        select(Refund.kind, func.coalesce(func.sum(Refund.amount), 0), func.count(Refund.id))
        .where(Refund.shift_id == shift.id, Refund.kind.in_(("card", "qr")))
        .group_by(Refund.kind)
    ).all()
    tenders = {kind: {"sales": 0, "sale_count": 0, "refunds": 0, "refund_count": 0} for kind in ("card", "qr")}
    for kind, amount, count in sales:
        tenders[kind]["sales"], tenders[kind]["sale_count"] = int(amount), count
    for kind, amount, count in refunds:
        tenders[kind]["refunds"], tenders[kind]["refund_count"] = int(amount), count
    return tenders


def shift_report(shift) -> dict:
    """The end-of-shift (end-of-day) report: the shift, then what moved the drawer — opening float, cash
    sales (tendered, change given, net), cash refunds, cash in, cash out (positive amounts) — and
    ``expected = opening_float + cash_sales - cash_refunds + cash_in - cash_out``, counted and variance
    (None while open).  ``tenders`` has ``cash``, ``card`` and ``qr``, each with sales, refunds, net and their
    counts: cash from the drawer's movements; card and QR from the succeeded payments of the orders sold in the
    shift and the card and QR refunds recorded in it.  Expected against counted is cash only: card and QR money is settled by the gateway, never in
    the drawer.  ``movements`` lists every movement, oldest first."""
    shift = _resolve(shift)
    movements = shift_movements(shift)
    sums = dict.fromkeys(MOVEMENT_KINDS, 0)
    sale_count = refund_count = 0
    for movement in movements:
        sums[movement.kind] += movement.amount
        if movement.kind == "sale":
            sale_count += 1
        elif movement.kind == "refund":
            refund_count += 1
    net_sales = sums["sale"] + sums["change"]
    expected = sum(sums.values())
    if shift.status == "closed":
        expected = shift.expected_amount
    money = lambda amount: _money_dict(shift, amount)  # noqa: E731
    tenders = {
        "cash": {
            "sales": money(net_sales),
            "refunds": money(-sums["refund"]),
            "net": money(net_sales + sums["refund"]),
            "sale_count": sale_count,
            "refund_count": refund_count,
        }
    }
    for kind, figures in _electronic_tenders(shift).items():
        tenders[kind] = {
            "sales": money(figures["sales"]),
            "refunds": money(figures["refunds"]),
            "net": money(figures["sales"] - figures["refunds"]),
            "sale_count": figures["sale_count"],
            "refund_count": figures["refund_count"],
        }
    return {
        "shift": shift_payload(shift),
        "currency": shift.currency,
        "opening_float": money(sums["float"]),
        "cash_tendered": money(sums["sale"]),
        "change_given": money(-sums["change"]),
        "cash_sales": money(net_sales),
        "cash_refunds": money(-sums["refund"]),
        "cash_in": money(sums["cash_in"]),
        "cash_out": money(-sums["cash_out"]),
        "expected": money(expected),
        "counted": money(shift.counted_amount),
        "variance": money(shift.variance_amount),
        "counted_by_denomination": shift.counted_by_denomination,
        "tenders": tenders,
        "movements": [movement_payload(movement, shift.currency) for movement in movements],
    }
