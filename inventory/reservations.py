"""Holds on stock: reserve all lines or none, commit, release, expire."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.errors import InsufficientStock, InvalidTransition, NotFound, ValidationError
from core.outbox import emit, new_id

from .models import RESERVATION_KINDS, Location, Reservation, ReservationLine, StockLevel, Variant
from .stock import change_level, get_location, lock_level_ids

MAX_EXPIRY_SECONDS = 30 * 24 * 3600
DEFAULT_EXPIRY_SECONDS = 15 * 60


def reserve(store: str, lines: list[dict], kind: str, reference: str = "", expires_in: int | None = DEFAULT_EXPIRY_SECONDS, actor: Actor = SYSTEM) -> Reservation:
    """Hold ``lines`` ([{"sku", "quantity"}]) at ``store``: all of them or none.

    Locks the stock rows in id order and checks availability under the lock.  Raises
    ValidationError naming the line for unknown SKUs or bad quantities, and one
    InsufficientStock listing every short line (requested and available).
    """
    if kind not in RESERVATION_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(RESERVATION_KINDS)}", field="kind")
    if expires_in is not None and not (1 <= expires_in <= MAX_EXPIRY_SECONDS):
        raise ValidationError(f"expires_in must be between 1 and {MAX_EXPIRY_SECONDS} seconds", field="expires_in")
    if not lines:
        raise ValidationError("a reservation needs at least one line", field="lines")
    location = get_location(store)

    # each SKU's stock row at this store (None: the SKU exists but has never had stock here), unlocked
    skus = [line["sku"] for line in lines]
    level_ids: dict[str, int | None] = dict(
        db.session.execute(
            select(Variant.sku, StockLevel.id)
            .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id, StockLevel.location_id == location.id))
            .where(Variant.sku.in_(skus))
        ).all()
    )
    wanted: dict[str, int] = {}
    errors = {}
    for index, line in enumerate(lines):
        if line["sku"] not in level_ids:
            errors[f"lines.{index}.sku"] = [f"unknown SKU {line['sku']!r}"]
        if not isinstance(line["quantity"], int) or line["quantity"] < 1:
            errors[f"lines.{index}.quantity"] = ["must be a whole number of at least 1"]
        else:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["quantity"]
    if errors:
        raise ValidationError("some lines are not valid", details=errors)

    # Everything that needs no lock happens first: the stock rows are found, the subscriber list
    # is loaded, the reservation header is inserted.  The stock rows are locked last, so the
    # hottest rows are held only for SELECT ... FOR NO KEY UPDATE, the UPDATE, the line inserts
    # (after the lock: their foreign-key check share-locks the stock row) and the commit.
    missing = [{"sku": sku, "requested": quantity, "available": 0} for sku, quantity in wanted.items() if level_ids[sku] is None]
    if missing:
        raise InsufficientStock(missing)

    when = clock.now()
    reservation = Reservation(
        public_id=new_id("rsv"), location_id=location.id, kind=kind, reference=reference or "", status="held",
        created_at=when, expires_at=when + timedelta(seconds=expires_in) if expires_in else None, **actor.columns(),
    )
    reservation.location = location
    reservation.lines = []
    db.session.add(reservation)
    db.session.flush()  # the header now; its lines (whose foreign key share-locks the stock row) after the lock

    levels = lock_level_ids([level_ids[sku] for sku in wanted])
    short = []
    for sku, quantity in wanted.items():
        level = levels[level_ids[sku]]
        if level.available < quantity:
            short.append({"sku": sku, "requested": quantity, "available": max(level.available, 0)})
    if short:
        db.session.delete(reservation)
        db.session.flush()
        # a hold that has run out may still sit on the rows: release overdue ones and look again
        if _expire_overdue_on(list(levels.values())):
            return reserve(store, lines, kind, reference, expires_in, actor)
        raise InsufficientStock(short)
    for sku, quantity in wanted.items():
        level = levels[level_ids[sku]]
        change_level(level, reserved_delta=quantity, sku=sku)
        reservation.lines.append(ReservationLine(stock_level_id=level.id, stock_level=level, quantity=quantity))
    reservation._line_skus = {level_ids[sku]: sku for sku in wanted}
    db.session.flush()
    emit("reservation.held", reservation_payload(reservation))
    return reservation


def get_reservation(public_id: str, lock: bool = False) -> Reservation:
    query = select(Reservation).where(Reservation.public_id == public_id).options(selectinload(Reservation.lines))
    if lock:
        query = query.with_for_update(of=Reservation).execution_options(populate_existing=True)
    reservation = db.session.scalar(query)
    if reservation is None:
        raise NotFound(f"no reservation {public_id}")
    return reservation


def commit_reservation(public_id: str, actor: Actor = SYSTEM) -> Reservation:
    """The held units leave: on hand and reserved both go down, a ``sale`` ledger line per line.

    Committing a committed reservation answers it unchanged (safe to retry).  A released or
    expired one (or one past its expiry) is InvalidTransition.
    """
    reservation = get_reservation(public_id, lock=True)
    if reservation.status == "committed":
        return reservation
    _require_live(reservation)
    skus = line_skus(reservation)
    levels = lock_level_ids([line.stock_level_id for line in reservation.lines])
    for line in reservation.lines:
        change_level(
            levels[line.stock_level_id], on_hand_delta=-line.quantity, reserved_delta=-line.quantity, kind="sale",
            reference=reservation.reference or reservation.public_id, reason=f"reservation {reservation.public_id} ({reservation.kind})", actor=actor,
            sku=skus[line.stock_level_id],
        )
    reservation.status = "committed"
    reservation.closed_at = clock.now()
    db.session.flush()
    emit("reservation.committed", reservation_payload(reservation))
    return reservation


def release_reservation(public_id: str, actor: Actor = SYSTEM) -> Reservation:
    """The held units become available again.  Releasing a released (or expired) reservation
    answers it unchanged; a committed one is InvalidTransition."""
    reservation = get_reservation(public_id, lock=True)
    if reservation.status in ("released", "expired"):
        return reservation
    if reservation.status != "held":
        raise InvalidTransition(f"reservation {public_id} is {reservation.status} and cannot be released", {"status": reservation.status})
    _close(reservation, "released")
    emit("reservation.released", reservation_payload(reservation))
    return reservation


def _require_live(reservation: Reservation) -> None:
    if reservation.status != "held":
        raise InvalidTransition(f"reservation {reservation.public_id} is {reservation.status}", {"status": reservation.status})
    if reservation.expires_at is not None and reservation.expires_at <= clock.now():
        raise InvalidTransition(f"reservation {reservation.public_id} expired at {clock.isoformat(reservation.expires_at)}", {"status": "expired"})


def _close(reservation: Reservation, status: str) -> None:
    skus = line_skus(reservation)
    levels = lock_level_ids([line.stock_level_id for line in reservation.lines])
    for line in reservation.lines:
        change_level(levels[line.stock_level_id], reserved_delta=-line.quantity, sku=skus[line.stock_level_id])
    reservation.status = status
    reservation.closed_at = clock.now()
    db.session.flush()


def expire_reservation(reservation: Reservation) -> bool:
    """Expire one overdue held reservation (locks it first); False if it was no longer held."""
    reservation = get_reservation(reservation.public_id, lock=True)
    if reservation.status != "held" or reservation.expires_at is None or reservation.expires_at > clock.now():
        return False
    _close(reservation, "expired")
    emit("reservation.expired", reservation_payload(reservation))
    return True


def due_reservations(limit: int = 200) -> list[Reservation]:
    return list(
        db.session.scalars(
            select(Reservation).where(Reservation.status == "held", Reservation.expires_at <= clock.now()).order_by(Reservation.expires_at).limit(limit)
        )
    )


def _expire_overdue_on(levels: list[StockLevel]) -> bool:
    ids = [level.id for level in levels]
    if not ids:
        return False
    overdue = db.session.scalars(
        select(Reservation).join(ReservationLine).where(
            ReservationLine.stock_level_id.in_(ids), Reservation.status == "held", Reservation.expires_at <= clock.now()
        ).distinct()
    ).all()
    expired = False
    for reservation in overdue:
        expired = expire_reservation(reservation) or expired
    return expired


def line_skus(reservation: Reservation) -> dict[int, str]:
    """The SKU of each line's stock row, in one query, remembered on the reservation object so
    that locking, the ledger and the answer don't each look the variants up again."""
    ids = {line.stock_level_id for line in reservation.lines}
    known = reservation.__dict__.get("_line_skus")
    if known is None or not ids <= known.keys():
        known = dict(db.session.execute(
            select(StockLevel.id, Variant.sku).join(Variant, StockLevel.variant_id == Variant.id).where(StockLevel.id.in_(ids))
        ).all())
        reservation._line_skus = known
    return known


def reservation_payload(reservation: Reservation) -> dict:
    skus = line_skus(reservation)
    lines = [{"sku": skus[line.stock_level_id], "quantity": line.quantity} for line in reservation.lines]
    location = reservation.location or db.session.get(Location, reservation.location_id)
    return {
        "id": reservation.public_id,
        "status": reservation.status,
        "kind": reservation.kind,
        "store": location.code,
        "reference": reservation.reference,
        "expires_at": clock.isoformat(reservation.expires_at),
        "created_at": clock.isoformat(reservation.created_at),
        "lines": lines,
    }
