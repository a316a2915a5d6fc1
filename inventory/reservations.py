"""Holds on stock: reserve all lines or none, commit, release, expire.

Locks follow the one order written down in ``inventory/stock.py``: a reservation's header
before any stock row, stock rows in id order, new rows last.

Who reaches a reservation: a partner API key (and any actor other than staff and the system)
reaches only the reservations it made; for any other the answer is NotFound, exactly as for one
that does not exist.  Staff and the system are not restricted here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import make_transient_to_detached, selectinload

from core import clock
from core.actor import SYSTEM, Actor
from core.db import UTCDateTime, db
from core.errors import InsufficientStock, InvalidTransition, NotFound, ValidationError
from core.outbox import emit, new_id, preload_subscribers

from .models import RESERVATION_KINDS, Location, Reservation, ReservationLine, StockLevel, Variant
from .stock import Change, apply_changes, find_levels, lock_level_ids, take_units

MAX_EXPIRY_SECONDS = 30 * 24 * 3600
DEFAULT_EXPIRY_SECONDS = 15 * 60
UNRESTRICTED_ACTORS = ("staff", "system")


@dataclass
class _Request:
    store: str
    location_id: int
    holds: list[tuple[str, int | None, int]]  # (sku, stock row id or None if never stocked here, quantity), in request order
    kind: str
    reference: str
    expires_in: int | None
    actor: Actor

    def changes(self) -> list[Change]:
        return [Change(level_id, sku, reserved=quantity) for sku, level_id, quantity in self.holds]


def reserve(
    store: str, lines: list[dict], kind: str, reference: str = "", expires_in: int | None = DEFAULT_EXPIRY_SECONDS, actor: Actor = SYSTEM
) -> Reservation:
    """Hold ``lines`` ([{"sku", "quantity"}]) at ``store``: all of them or none.

    Raises ValidationError naming the line (``lines.0.sku``, ``lines.1.quantity``) for unknown SKUs
    or bad quantities, and one InsufficientStock listing every short line (requested and available).

    The hot path holds the stock rows for the fewest round trips: one conditional
    ``UPDATE ... SET reserved = reserved + n WHERE on_hand - reserved >= n RETURNING`` per row, in
    stock-row id order, is both the lock and the check (``stock.take_units``); the header and its
    lines follow in one more statement.  Everything that needs no lock comes first (the SKUs'
    stock rows and their last committed numbers in one query, the webhook subscribers).  When the
    unlocked numbers already say a line is short, nothing is locked at all.  A hold that has run out
    may still sit on a short row: then the UPDATEs are rolled back to their savepoint (releasing
    their locks), the overdue holds are locked header first and expired, and the request is decided
    under the locks of every row involved, taken once in id order.
    """
    if kind not in RESERVATION_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(RESERVATION_KINDS)}", field="kind")
    if expires_in is not None and not (1 <= expires_in <= MAX_EXPIRY_SECONDS):
        raise ValidationError(f"expires_in must be between 1 and {MAX_EXPIRY_SECONDS} seconds", field="expires_in")
    if not lines:
        raise ValidationError("a reservation needs at least one line", field="lines")
    db.session.flush()  # the caller's pending changes go first, not under the stock rows' locks
    location_id, found = find_levels(store, [line["sku"] for line in lines])
    wanted: dict[str, int] = {}
    errors = {}
    for index, line in enumerate(lines):
        sku, quantity = line["sku"], line["quantity"]
        if sku not in found:
            errors[f"lines.{index}.sku"] = [f"unknown SKU {sku!r}"]
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[f"lines.{index}.quantity"] = ["must be a whole number of at least 1"]
        else:
            wanted[sku] = wanted.get(sku, 0) + quantity
    if errors:
        raise ValidationError("some lines are not valid", details=errors)
    request = _Request(
        store, location_id, [(sku, found[sku][0], quantity) for sku, quantity in wanted.items()], kind, reference or "", expires_in, actor
    )

    short = [
        {"sku": sku, "requested": quantity, "available": max(found[sku][1], 0)}
        for sku, level_id, quantity in request.holds
        if level_id is None or found[sku][1] < quantity
    ]
    if not short:
        preload_subscribers()
        held = _Held(request)  # everything about the answer is ready before the first lock
        _, refused = take_units(request.changes(), store)
        if refused is None:
            return held.record()
    return _reserve_after_expiry(request, short)


class _Held:
    """A reservation about to be written: its values, the ORM object that will answer it and its
    payload are built before any lock, so that under the lock only the insert remains."""

    def __init__(self, request: _Request):
        when = clock.now()
        self.request = request
        self.values = {
            "public_id": new_id("rsv"),
            "location_id": request.location_id,
            "kind": request.kind,
            "reference": request.reference,
            "status": "held",
            "expires_at": when + timedelta(seconds=request.expires_in) if request.expires_in else None,
            "created_at": when,
            **request.actor.columns(),
        }
        self.reservation = Reservation(closed_at=None, **self.values)
        _remember(self.reservation, [(level_id, sku, quantity) for sku, level_id, quantity in request.holds], request.store)
        self.payload = reservation_payload(self.reservation)

    def record(self) -> Reservation:
        """Insert the header and its lines (one statement on PostgreSQL) and answer the Reservation,
        persistent in the session without being read back; emits ``reservation.held``."""
        holds = self.request.holds
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            reservation_id = connection.execute(
                _insert_held(), {**self.values, "levels": [level_id for _, level_id, _ in holds], "quantities": [q for _, _, q in holds]}
            ).scalar()
        else:
            reservation_id = connection.execute(_insert_header(), self.values).scalar_one()
            connection.execute(
                ReservationLine.__table__.insert(),
                [{"reservation_id": reservation_id, "stock_level_id": level_id, "quantity": quantity} for _, level_id, quantity in holds],
            )
        reservation = self.reservation
        reservation.id = reservation_id
        make_transient_to_detached(reservation)  # it is in the database: attach it as loaded, not as new
        db.session.add(reservation)
        emit("reservation.held", self.payload)
        return reservation


def _reserve_after_expiry(request: _Request, short: list[dict]) -> Reservation:
    """The slow path, entered holding no lock of this request: a line looked short (``short``: at the
    last committed numbers), or the UPDATEs found fewer units than those numbers said (``short``
    empty).  Overdue holds on the rows are expired first; the answer is decided under the lock."""
    level_ids = [level_id for _, level_id, _ in request.holds if level_id is not None]
    if short and len(level_ids) < len(request.holds):
        raise InsufficientStock(short)  # a SKU never stocked here: nothing can free units for it
    # only a hold on a short row can change the answer (after a lost race: on any of the rows)
    short_skus = {line["sku"] for line in short}
    overdue = _overdue_on([level_id for sku, level_id, _ in request.holds if not short or sku in short_skus])
    if short and not overdue:
        raise InsufficientStock(short)  # nothing to free: no lock needed to say so
    preload_subscribers()
    held = _Held(request)
    # 1. the overdue holds' headers, in id order; 2. every row involved, at once, in id order
    expiring = [r for r in _lock_reservations(overdue) if _is_overdue(r)]
    their_lines = _load_lines(expiring)
    levels = lock_level_ids(level_ids + [level_id for lines in their_lines.values() for level_id, _, _ in lines])
    for reservation in expiring:
        _close(reservation, "expired", their_lines[reservation.id])
        emit("reservation.expired", reservation_payload(reservation))
    short = [
        {"sku": sku, "requested": quantity, "available": max(levels[level_id].available, 0)}
        for sku, level_id, quantity in request.holds
        if levels[level_id].available < quantity
    ]
    if short:
        raise InsufficientStock(short)
    _, refused = take_units(request.changes(), request.store)  # the rows are locked and checked: this cannot refuse
    if refused is not None:
        raise InsufficientStock([{"sku": sku, "requested": q, "available": 0} for sku, level_id, q in request.holds if level_id == refused])
    return held.record()


@cache
def _insert_held():
    """PostgreSQL: the header and its lines in one statement (a data-modifying CTE); the SQL text
    does not depend on the number of lines, so psycopg prepares it."""
    return text(
        """WITH header AS (
               INSERT INTO reservation (public_id, location_id, kind, reference, status, expires_at, created_at, actor_kind, actor_id)
               VALUES (:public_id, :location_id, :kind, :reference, :status, :expires_at, :created_at, :actor_kind, :actor_id)
               RETURNING id
           )
           INSERT INTO reservation_line (reservation_id, stock_level_id, quantity)
           SELECT header.id, line.stock_level_id, line.quantity
           FROM header CROSS JOIN unnest(CAST(:levels AS INTEGER[]), CAST(:quantities AS INTEGER[])) WITH ORDINALITY AS line (stock_level_id, quantity, position)
           ORDER BY line.position
           RETURNING reservation_id"""
    ).bindparams(bindparam("expires_at", type_=UTCDateTime()), bindparam("created_at", type_=UTCDateTime()))


@cache
def _insert_header():
    table = Reservation.__table__
    return insert(table).returning(table.c.id)


# --- reaching, committing, releasing, expiring -----------------------------------------------


def _visible_to(query, actor: Actor):
    if actor.kind not in UNRESTRICTED_ACTORS:
        query = query.where(Reservation.actor_kind == actor.kind, Reservation.actor_id == actor.id)
    return query


def get_reservation(public_id: str, lock: bool = False, actor: Actor = SYSTEM) -> Reservation:
    """The reservation with this public id.  NotFound if there is none, or if ``actor`` may not reach
    it (a partner API key reaches only the reservations it made; staff and the system reach all).
    ``lock``: locked ``FOR UPDATE`` and freshly read (the first lock in the order, see inventory.stock)."""
    if lock:
        return _locked(public_id, actor)
    reservation = db.session.scalar(
        _visible_to(select(Reservation).where(Reservation.public_id == public_id), actor).options(selectinload(Reservation.lines))
    )
    if reservation is None:
        raise NotFound(f"no reservation {public_id}")
    return reservation


def _locked(public_id: str, actor: Actor) -> Reservation:
    query = _visible_to(select(Reservation).where(Reservation.public_id == public_id), actor)
    reservation = db.session.scalar(query.with_for_update(of=Reservation).execution_options(populate_existing=True))
    if reservation is None:
        raise NotFound(f"no reservation {public_id}")
    return reservation


def commit_reservation(public_id: str, actor: Actor = SYSTEM) -> Reservation:
    """The held units leave: on hand and reserved both go down, a ``sale`` ledger line per line.

    Locks the reservation, then its stock rows in id order.  Committing a committed reservation
    answers it unchanged (safe to retry).  A released or expired one (or one past its expiry) is
    InvalidTransition; one ``actor`` may not reach (see ``get_reservation``) is NotFound.
    """
    preload_subscribers()
    reservation = _locked(public_id, actor)
    if reservation.status == "committed":
        return reservation
    _require_live(reservation)
    lines = _load_lines([reservation])[reservation.id]
    apply_changes(
        [Change(level_id, sku, on_hand=-quantity, reserved=-quantity, kind="sale") for level_id, sku, quantity in lines],
        reservation.location.code,
        reference=reservation.reference or reservation.public_id,
        reason=f"reservation {reservation.public_id} ({reservation.kind})",
        actor=actor,
    )
    reservation.status = "committed"
    reservation.closed_at = clock.now()
    db.session.flush()
    emit("reservation.committed", reservation_payload(reservation))
    return reservation


def release_reservation(public_id: str, actor: Actor = SYSTEM) -> Reservation:
    """The held units become available again.  Locks the reservation, then its stock rows in id
    order.  Releasing a released (or expired) reservation answers it unchanged; a committed one is
    InvalidTransition; one ``actor`` may not reach (see ``get_reservation``) is NotFound."""
    preload_subscribers()
    reservation = _locked(public_id, actor)
    if reservation.status in ("released", "expired"):
        return reservation
    if reservation.status != "held":
        raise InvalidTransition(f"reservation {public_id} is {reservation.status} and cannot be released", {"status": reservation.status})
    _close(reservation, "released", _load_lines([reservation])[reservation.id])
    emit("reservation.released", reservation_payload(reservation))
    return reservation


def expire_reservation(reservation: Reservation) -> bool:
    """Expire one overdue held reservation: locks it first, then its stock rows in id order.
    False if it was no longer held (or not yet due) once locked."""
    preload_subscribers()
    reservation = _locked(reservation.public_id, SYSTEM)
    if not _is_overdue(reservation):
        return False
    _close(reservation, "expired", _load_lines([reservation])[reservation.id])
    emit("reservation.expired", reservation_payload(reservation))
    return True


def due_reservations(limit: int = 200) -> list[Reservation]:
    return list(
        db.session.scalars(
            select(Reservation)
            .where(Reservation.status == "held", Reservation.expires_at <= clock.now())
            .order_by(Reservation.expires_at)
            .limit(limit)
        )
    )


def _require_live(reservation: Reservation) -> None:
    if reservation.status != "held":
        raise InvalidTransition(f"reservation {reservation.public_id} is {reservation.status}", {"status": reservation.status})
    if reservation.expires_at is not None and reservation.expires_at <= clock.now():
        raise InvalidTransition(f"reservation {reservation.public_id} expired at {clock.isoformat(reservation.expires_at)}", {"status": "expired"})


def _is_overdue(reservation: Reservation) -> bool:
    return reservation.status == "held" and reservation.expires_at is not None and reservation.expires_at <= clock.now()


def _close(reservation: Reservation, status: str, lines: list[tuple[int, str, int]]) -> None:
    """Give a locked held reservation's units back (its stock rows are locked in id order) and close it."""
    apply_changes([Change(level_id, sku, reserved=-quantity) for level_id, sku, quantity in lines], reservation.location.code)
    reservation.status = status
    reservation.closed_at = clock.now()
    db.session.flush()


def _overdue_on(level_ids: list[int]) -> list[int]:
    """Ids of held reservations past their expiry with a line on one of these stock rows (unlocked)."""
    if not level_ids:
        return []
    return list(
        db.session.scalars(
            select(Reservation.id)
            .join(ReservationLine)
            .where(ReservationLine.stock_level_id.in_(level_ids), Reservation.status == "held", Reservation.expires_at <= clock.now())
            .distinct()
            .order_by(Reservation.id)
        )
    )


def _lock_reservations(ids: list[int]) -> list[Reservation]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Reservation)
            .where(Reservation.id.in_(ids))
            .order_by(Reservation.id)
            .with_for_update(of=Reservation)
            .execution_options(populate_existing=True)
        )
    )


def _load_lines(reservations: list[Reservation]) -> dict[int, list[tuple[int, str, int]]]:
    """Each reservation's lines as (stock row id, SKU, quantity), for all of them in one query;
    remembered on each reservation for its payload."""
    if not reservations:
        return {}
    lines: dict[int, list[tuple[int, str, int]]] = {r.id: [] for r in reservations}
    rows = db.session.execute(
        select(ReservationLine.reservation_id, ReservationLine.stock_level_id, Variant.sku, ReservationLine.quantity)
        .join(StockLevel, StockLevel.id == ReservationLine.stock_level_id)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .where(ReservationLine.reservation_id.in_(list(lines)))
        .order_by(ReservationLine.id)
    )
    for reservation_id, level_id, sku, quantity in rows:
        lines[reservation_id].append((level_id, sku, quantity))
    for reservation in reservations:
        _remember(reservation, lines[reservation.id])
    return lines


def _remember(reservation: Reservation, lines: list[tuple[int, str, int]], store: str | None = None) -> None:
    reservation._line_view = [(sku, quantity) for _, sku, quantity in lines]
    reservation._line_skus = {level_id: sku for level_id, sku, _ in lines}
    if store:
        reservation._store_code = store


def line_skus(reservation: Reservation) -> dict[int, str]:
    """The SKU of each line's stock row, in one query, remembered on the reservation object so
    that locking, the ledger and the answer don't each look the variants up again."""
    ids = {line.stock_level_id for line in reservation.lines}
    known = reservation.__dict__.get("_line_skus")
    if known is None or not ids <= known.keys():
        known = dict(
            db.session.execute(
                select(StockLevel.id, Variant.sku).join(Variant, StockLevel.variant_id == Variant.id).where(StockLevel.id.in_(ids))
            ).all()
        )
        reservation._line_skus = known
    return known


def reservation_payload(reservation: Reservation) -> dict:
    view = reservation.__dict__.get("_line_view")
    if view is None:
        skus = line_skus(reservation)
        view = [(skus[line.stock_level_id], line.quantity) for line in reservation.lines]
    store = reservation.__dict__.get("_store_code") or (reservation.location or db.session.get(Location, reservation.location_id)).code
    return {
        "id": reservation.public_id,
        "status": reservation.status,
        "kind": reservation.kind,
        "store": store,
        "reference": reservation.reference,
        "expires_at": clock.isoformat(reservation.expires_at),
        "created_at": clock.isoformat(reservation.created_at),
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in view],
    }
