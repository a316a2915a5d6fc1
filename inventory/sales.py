"""Units leaving a store in a sale, and why a unit cannot be held.

``sell_units`` is the till's stock write for a sale: it consumes the sale's own holds (cart holds) and takes any
unheld units, all or none, under the lock order of ``inventory/stock.py`` (reservation headers in id order,
then stock rows in id order).  The caller (``pos.checkout``) locks its own document (the cart) before and the
cash drawer after.  ``restock_return`` puts returned units back on hand (a ``return`` ledger line) under the
same lock order.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.errors import InsufficientStock, ValidationError
from core.outbox import emit, preload_subscribers

from .models import Reservation, ReservationLine, StockLevel, Variant
from .reservations import _load_lines, reservation_payload
from .stock import Change, apply_changes, find_levels, get_location, get_variant, lock_levels


def sell_units(store: str, lines: list[dict], reference: str = "", reason: str = "sale", actor: Actor = SYSTEM) -> None:
    """Sell ``lines`` ([{"sku", "quantity", "reservation": public id or None}]) at ``store``: a ``sale`` ledger line
    per SKU, all lines or none.  A caller that has the hold's row id may give ``"reservation_id"`` instead of its
    public id (the till does: it saves reading the public ids first).

    A line's ``reservation`` is its own hold (a cart hold at this store): while it is held — even past its expiry,
    as long as nobody has released it, the units are still set aside for this sale — its units are consumed
    (reserved and on hand both go down) and the reservation becomes ``committed``.  A line without a live hold
    takes units that are available (on hand less every hold).  Raises InsufficientStock listing every short line
    with what was requested and what this sale could have (available plus its own holds); nothing is changed then.
    Locks the reservations (headers, in id order), then reads the stock rows' numbers, then locks the stock rows in
    id order.
    """
    if not lines:
        raise ValidationError("a sale needs at least one line", field="lines")
    preload_subscribers()
    db.session.flush()
    public_ids = sorted({line["reservation"] for line in lines if line.get("reservation")})
    ids = sorted({line["reservation_id"] for line in lines if line.get("reservation_id")})
    reservations = []
    if public_ids or ids:
        reservations = list(
            db.session.scalars(
                select(Reservation)
                .where(or_(Reservation.public_id.in_(public_ids), Reservation.id.in_(ids)))
                .order_by(Reservation.id)
                .with_for_update(of=Reservation)
                .execution_options(populate_existing=True)
            )
        )
    # read after the headers are locked: a hold expired or released while this sale waited for its header has
    # given its units back, and the numbers must say so (read before, they would still count them as held)
    location_id, found = find_levels(store, [line["sku"] for line in lines])
    live = [r for r in reservations if r.status == "held" and r.location_id == location_id]
    held_lines = _load_lines(live)
    held_by_row: dict[int, int] = {}
    for reservation in live:
        for level_id, _sku, quantity in held_lines[reservation.id]:
            held_by_row[level_id] = held_by_row.get(level_id, 0) + quantity

    wanted: dict[str, int] = {}
    for index, line in enumerate(lines):
        if line["sku"] not in found:
            raise ValidationError(f"unknown SKU {line['sku']!r}", field=f"lines.{index}.sku")
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + line["quantity"]
    short = []
    for sku, quantity in wanted.items():
        level_id, available = found[sku]
        could_have = max(available, 0) + held_by_row.get(level_id, 0) if level_id is not None else 0
        if could_have < quantity:
            short.append({"sku": sku, "requested": quantity, "available": could_have})
    if short:
        raise InsufficientStock(short)

    changes = [Change(found[sku][0], sku, on_hand=-quantity, kind="sale") for sku, quantity in wanted.items()]
    sku_of_row = {found[sku][0]: sku for sku in wanted}
    for level_id, quantity in held_by_row.items():
        changes.append(Change(level_id, sku_of_row.get(level_id, ""), reserved=-quantity))
    try:
        apply_changes(changes, store, reason=reason, reference=reference, actor=actor)
    except InsufficientStock as error:  # the numbers moved since they were read: say what this sale could have
        raise InsufficientStock(
            [
                {
                    "sku": item["sku"],
                    "requested": wanted.get(item["sku"], item["requested"]),
                    "available": item["available"] + held_by_row.get(found[item["sku"]][0], 0),
                }
                for item in error.lines
            ]
        ) from None
    now = clock.now()
    for reservation in live:
        reservation.status = "committed"
        reservation.closed_at = now
    db.session.flush()
    for reservation in live:
        emit("reservation.committed", reservation_payload(reservation))


def stock_explanation(store: str, sku: str) -> dict:
    """Why a unit of ``sku`` can or cannot be held at ``store``, for the tablet to say: ``{"on_hand", "reserved",
    "available", "holds": [{"id", "kind", "reference", "quantity", "expires_at"}]}`` (the live holds on it, the
    soonest to expire first; at most 10).  Unlocked: the last committed numbers."""
    location = get_location(store)
    variant = get_variant(sku)
    level = db.session.scalar(select(StockLevel).where(StockLevel.variant_id == variant.id, StockLevel.location_id == location.id))
    if level is None:
        return {"on_hand": 0, "reserved": 0, "available": 0, "holds": []}
    rows = db.session.execute(
        select(Reservation.public_id, Reservation.kind, Reservation.reference, ReservationLine.quantity, Reservation.expires_at)
        .join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .where(ReservationLine.stock_level_id == level.id, Reservation.status == "held")
        .order_by(Reservation.expires_at.is_(None), Reservation.expires_at, Reservation.id)
        .limit(10)
    ).all()
    return {
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.on_hand - level.reserved,
        "holds": [
            {"id": public_id, "kind": kind, "reference": reference, "quantity": quantity, "expires_at": clock.isoformat(expires_at)}
            for public_id, kind, reference, quantity, expires_at in rows
        ],
    }


def restock_return(store: str, lines: list[dict], reference: str = "", actor: Actor = SYSTEM) -> dict[str, int]:
    """Put returned units back on hand at ``store``: a ``return`` ledger line per SKU (``lines`` is
    [{"sku", "quantity" >= 1}]; the same SKU twice adds up), all lines or none.  Answers the new on hand by SKU.

    Only units fit to sell again come here: damaged ones stay off the ledger.  A SKU never stocked at the store
    gets its stock row (inserted before any row is locked).  Locks the stock rows in id order (step 2 of the lock
    order of ``inventory/stock.py``); the caller (``pos.returns``) locks its order before and the cash drawer after.
    Raises ValidationError naming ``lines.N.sku`` or ``lines.N.quantity``."""
    if not lines:
        raise ValidationError("a return to stock needs at least one line", field="lines")
    location = get_location(store)
    wanted: dict[str, int] = {}
    for index, line in enumerate(lines):
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ValidationError("a quantity is a whole number of at least 1", field=f"lines.{index}.quantity")
        get_variant(line.get("sku"), field=f"lines.{index}.sku")
        wanted[line["sku"]] = wanted.get(line["sku"], 0) + quantity
    variant_ids = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(sorted(wanted)))).all())
    levels = lock_levels([(variant_ids[sku], location.id) for sku in wanted], create=True)
    changes = [Change(levels[(variant_ids[sku], location.id)].id, sku, on_hand=quantity, kind="return") for sku, quantity in wanted.items()]
    done = apply_changes(changes, location.code, reason=f"return {reference}".strip(), reference=reference, actor=actor)
    return {change.sku: done[change.level_id][0] for change in changes}
