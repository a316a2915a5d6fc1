"""The stock ledger.  This module alone writes ``stock_level`` and owns its locking.

Lock order — every path that writes stock or reservations, on both databases
------------------------------------------------------------------------------
A transaction takes its row locks in this order, and never asks for a lock that comes earlier
in it than one it already holds:

1. **Document headers**: the reservation being committed, released or expired, the transfer
   being received (``SELECT ... FOR UPDATE``); several headers in primary-key order.
2. **Stock rows, in primary-key order**: all at once (``lock_levels`` / ``lock_level_ids``:
   ``SELECT ... FOR NO KEY UPDATE ORDER BY id``), or one conditional ``UPDATE`` per row issued in
   id order, the UPDATE itself being the lock (``take_units``, ``apply_changes``).  Missing rows
   are inserted first (``INSERT ... ON CONFLICT DO NOTHING``), before any stock row is locked.
3. **Then only rows of its own**: new ledger lines, reservation headers and lines, outbox events,
   the idempotency record.  Their foreign-key checks take ``KEY SHARE`` locks on stock rows the
   transaction already holds (or on rows nobody write-locks), which wait for no one.

A path that finds, under its locks, that it needs a lock earlier in the order gives up what it
holds first: ``reserve`` meeting an overdue hold on a short row rolls back to the savepoint it
took before its UPDATEs (which releases their row locks), then starts again at step 1 with that
hold's header.  So, for the pairs that can meet on one row: two holds, a hold and a count, a
movement or a transfer queue on the first stock row they share; a commit, release or expiry and
a hold queue on the first shared stock row (the header is theirs alone) or, when the hold came to
expire that very reservation, on its header; two commits, releases or expiries of one reservation
queue on its header.  Nothing waits in a cycle.

Every change is also a conditional ``UPDATE ... WHERE on_hand + delta >= reserved + ...``, and the
table's CHECK constraints (``on_hand >= 0``, ``reserved >= 0``, ``reserved <= on_hand``) are the
last line of defence: no path can take stock below zero.  SQLite has no row locks; there every
write transaction starts with ``BEGIN IMMEDIATE`` (see ``core.db``), which serialises writers
for the same effect.  Nothing here makes a network call; events leave through the outbox after
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db, upsert_insert
from core.errors import Conflict, InsufficientStock, ValidationError
from core.outbox import emit, preload_subscribers

from .models import Location, ShelfPosition, StockLevel, StockMovement, Variant

MOVEMENT_API_KINDS = {"receive": "receive", "adjust": "adjustment", "count": "count"}


# --- look-ups ---------------------------------------------------------------------------


def get_location(code: str, field: str = "store", kinds=("store", "warehouse")) -> Location:
    """The active location with this code; a ValidationError on ``field`` if there is none."""
    location = db.session.scalar(select(Location).where(Location.code == code, Location.active.is_(True)))
    if location is None or location.kind not in kinds:
        raise ValidationError(f"unknown {field} {code!r}", field=field)
    return location


def list_locations(kinds=("store", "warehouse")) -> list[Location]:
    return list(
        db.session.scalars(select(Location).where(Location.active.is_(True), Location.kind.in_(kinds)).order_by(Location.kind, Location.code))
    )


def get_variant(sku: str, field: str = "sku") -> Variant:
    variant = db.session.scalar(select(Variant).where(Variant.sku == sku))
    if variant is None:
        raise ValidationError(f"unknown SKU {sku!r}", field=field)
    return variant


# --- locking ------------------------------------------------------------------------------


def _insert_missing_levels(pairs: list[tuple[int, int]]) -> None:
    if not pairs:
        return
    rows = [{"variant_id": v, "location_id": l, "on_hand": 0, "reserved": 0, "low_stock_threshold": 2, "updated_at": clock.now()} for v, l in pairs]
    db.session.execute(upsert_insert(StockLevel).values(rows).on_conflict_do_nothing(index_elements=["variant_id", "location_id"]))


def lock_levels(pairs: list[tuple[int, int]], create: bool = False) -> dict[tuple[int, int], StockLevel]:
    """Lock the stock rows of these (variant_id, location_id) pairs, all in one statement, in
    primary-key order (step 2 of the lock order above).

    With ``create`` missing rows are inserted first (concurrently safe: ON CONFLICT DO NOTHING),
    before any row is locked.  Answers the locked, freshly read rows by pair; pairs without a row
    are absent.
    """
    pairs = sorted(set(pairs))
    if create:
        _insert_missing_levels(pairs)
    if not pairs:
        return {}
    variant_ids = {v for v, _ in pairs}
    location_ids = {l for _, l in pairs}
    ids = db.session.execute(
        select(StockLevel.id, StockLevel.variant_id, StockLevel.location_id).where(
            StockLevel.variant_id.in_(variant_ids), StockLevel.location_id.in_(location_ids)
        )
    ).all()
    wanted = set(pairs)
    levels = lock_level_ids([row.id for row in ids if (row.variant_id, row.location_id) in wanted])
    return {(level.variant_id, level.location_id): level for level in levels.values()}


def lock_level_ids(ids: list[int]) -> dict[int, StockLevel]:
    """Lock stock rows by id, in id order, freshly read.

    The webhook subscriber list is read first: every stock change emits an event, and reading it
    under the lock would hold the hottest rows for one more round trip."""
    if not ids:
        return {}
    preload_subscribers()
    levels = db.session.scalars(
        select(StockLevel)
        .where(StockLevel.id.in_(sorted(set(ids))))
        .order_by(StockLevel.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {level.id: level for level in levels}


def find_levels(store: str, skus: list[str]) -> tuple[int, dict[str, tuple[int | None, int]]]:
    """The active location ``store`` and, for each known SKU among ``skus``, its stock row there
    and its available units (None and 0 for a SKU never stocked there), in one statement, unlocked:
    the numbers are the last committed ones, a hint to be confirmed under the lock.
    An unknown store is a ValidationError on ``store``; unknown SKUs are simply absent."""
    rows = db.session.connection().execute(_levels_query(), {"store": store, "skus": list(skus)}).all()
    if not rows:
        get_location(store)  # raises: no such active location
    return rows[0][0], {sku: (level_id, available or 0) for _, sku, level_id, available in rows if sku is not None}


@cache
def _levels_query():
    return (
        select(Location.id, Variant.sku, StockLevel.id, StockLevel.on_hand - StockLevel.reserved)
        .select_from(Location)
        .outerjoin(Variant, Variant.sku.in_(bindparam("skus", expanding=True)))
        .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id, StockLevel.location_id == Location.id))
        .where(Location.code == bindparam("store"), Location.active.is_(True))
    )


# --- the one writer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A change to one stock row for ``take_units`` / ``apply_changes``: signed deltas of on hand
    and reserved, the ledger ``kind`` when on hand moves, and for a count what was counted."""

    level_id: int
    sku: str
    on_hand: int = 0
    reserved: int = 0
    kind: str | None = None
    counted: int | None = None


@cache
def _conditional_update():
    """``UPDATE stock_level ... WHERE`` the change keeps every invariant ``RETURNING`` the new numbers:
    built once (this is the hottest write), with the deltas as parameters."""
    table = StockLevel.__table__
    on_hand, reserved = bindparam("on_hand", type_=table.c.on_hand.type), bindparam("reserved", type_=table.c.reserved.type)
    return (
        update(table)
        .where(
            table.c.id == bindparam("level_id"),
            table.c.on_hand + on_hand >= table.c.reserved + reserved,
            table.c.reserved + reserved >= 0,
            table.c.on_hand + on_hand >= 0,
        )
        .values(on_hand=table.c.on_hand + on_hand, reserved=table.c.reserved + reserved, updated_at=bindparam("now", type_=table.c.updated_at.type))
        .returning(table.c.on_hand, table.c.reserved)
    )


@cache
def _take_update():
    """The hold's lock and check in one: ``UPDATE stock_level SET reserved = reserved + :n WHERE id = :id
    AND on_hand - reserved >= :n RETURNING on_hand, reserved``."""
    table = StockLevel.__table__
    quantity = bindparam("quantity", type_=table.c.reserved.type)
    return (
        update(table)
        .where(table.c.id == bindparam("level_id"), table.c.on_hand - table.c.reserved >= quantity)
        .values(reserved=table.c.reserved + quantity, updated_at=bindparam("now", type_=table.c.updated_at.type))
        .returning(table.c.on_hand, table.c.reserved)
    )


def _sync_loaded(level_id: int, on_hand: int, reserved: int) -> None:
    """A StockLevel of this row already in the session gets the numbers just written, as loaded state."""
    level = db.session.identity_map.get(identity_key(StockLevel, level_id))
    if level is not None:
        set_committed_value(level, "on_hand", on_hand)
        set_committed_value(level, "reserved", reserved)
        db.session.expire(level, ["updated_at"])


def _merged(changes: list[Change]) -> list[Change]:
    """One change per stock row (deltas summed), in stock-row id order: the order of the locks."""
    by_row: dict[int, Change] = {}
    for change in changes:
        seen = by_row.get(change.level_id)
        by_row[change.level_id] = (
            change
            if seen is None
            else Change(
                change.level_id,
                change.sku,
                seen.on_hand + change.on_hand,
                seen.reserved + change.reserved,
                seen.kind or change.kind,
                change.counted if seen.counted is None else seen.counted,
            )
        )
    return [by_row[level_id] for level_id in sorted(by_row)]


SAVEPOINT = "shelfside_take_units"


def take_units(changes: list[Change], store: str) -> tuple[dict[int, tuple[int, int]], int | None]:
    """Try every change, all or none: one conditional UPDATE per stock row, issued in stock-row id
    order, each one the lock on its row (no separate ``SELECT ... FOR UPDATE``).

    Answers the new (on_hand, reserved) of every row and None when all applied; then
    ``stock.changed`` is emitted for each row.  When a row cannot take its change, stops there and
    rolls back to a savepoint taken before the first UPDATE: nothing is changed and the row locks
    the UPDATEs took are released again, so the caller may lock in order from step 1 (see the module
    docstring); answers ({}, that row's id).  Ledger lines are not written (use ``apply_changes``
    when on hand moves).  Call ``core.outbox.preload_subscribers()`` before, outside the locks.
    The savepoint is not released (that would be one more round trip under the locks): each call
    leaves one savepoint level open until the transaction ends.
    """
    merged = _merged(changes)
    if any(change.on_hand or change.reserved < 1 for change in merged):
        raise ValueError("take_units holds units (reserved > 0) only; use apply_changes for anything else")
    connection = db.session.connection()
    statement = _take_update()
    now = clock.now()
    taken: dict[int, tuple[int, int]] = {}
    connection.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
    for change in merged:
        row = connection.execute(statement, {"level_id": change.level_id, "quantity": change.reserved, "now": now}).first()
        if row is None:
            connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
            return {}, change.level_id
        taken[change.level_id] = (row[0], row[1])
    for change in merged:
        on_hand, reserved = taken[change.level_id]
        _sync_loaded(change.level_id, on_hand, reserved)
        emit("stock.changed", {"sku": change.sku, "store": store, "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved})
    return taken, None


def apply_changes(changes: list[Change], store: str, *, reason: str = "", reference: str = "", actor: Actor = SYSTEM) -> dict[int, tuple[int, int]]:
    """Apply every change: one conditional UPDATE per stock row in stock-row id order (each takes
    that row's lock unless the caller holds it already), a ledger line for every change of on hand
    and for every count, even one that found no variance (one INSERT for all), ``stock.changed`` for each row.  Answers the new (on_hand, reserved) by row.

    Raises InsufficientStock naming the row that cannot take its change; rows before it in id
    order stay changed, so the caller rolls back (the web layer does).  For changes that cannot
    fail while the invariants hold: a commit, release or expiry of a held reservation.
    """
    merged = _merged(changes)
    if any(change.on_hand and change.kind is None for change in merged):
        raise ValueError("a change of on hand needs a movement kind")
    connection = db.session.connection()
    statement = _conditional_update()
    now = clock.now()
    done: dict[int, tuple[int, int]] = {}
    for change in merged:
        row = connection.execute(statement, {"level_id": change.level_id, "on_hand": change.on_hand, "reserved": change.reserved, "now": now}).first()
        if row is None:
            level = db.session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(StockLevel.id == change.level_id)).one()
            requested = -change.on_hand if change.on_hand < 0 else change.reserved
            raise InsufficientStock([{"sku": change.sku, "requested": requested, "available": level.on_hand - level.reserved}])
        done[change.level_id] = (row[0], row[1])
        _sync_loaded(change.level_id, row[0], row[1])
    movements = [
        {
            "stock_level_id": c.level_id,
            "kind": c.kind,
            "quantity": c.on_hand,
            "on_hand_after": done[c.level_id][0],
            "counted": c.counted,
            "reason": reason or "",
            "reference": reference or "",
            **actor.columns(),
            "created_at": now,
        }
        for c in merged
        if c.on_hand or c.kind == "count"
    ]
    if movements:
        connection.execute(StockMovement.__table__.insert(), movements)
    for change in merged:
        on_hand, reserved = done[change.level_id]
        emit("stock.changed", {"sku": change.sku, "store": store, "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved})
    return done


def change_level(
    level: StockLevel,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    kind: str | None = None,
    reason: str = "",
    reference: str = "",
    actor: Actor = SYSTEM,
    counted: int | None = None,
    sku: str | None = None,
) -> StockMovement | None:
    """Apply a change to a *locked* row; write a ledger line when on hand moves (or for a count).

    Raises InsufficientStock when the change would take on hand below zero or below what is
    reserved, or reserved below zero.  Emits ``stock.changed``.
    """
    if on_hand_delta and kind is None:
        raise ValueError("a change of on hand needs a movement kind")
    result = (
        db.session.connection()
        .execute(_conditional_update(), {"level_id": level.id, "on_hand": on_hand_delta, "reserved": reserved_delta, "now": clock.now()})
        .first()
    )
    sku = sku or db.session.get(Variant, level.variant_id).sku
    if result is None:
        db.session.refresh(level)
        requested = -on_hand_delta if on_hand_delta < 0 else reserved_delta
        raise InsufficientStock([{"sku": sku, "requested": requested, "available": level.available}])
    # the row is already written: record the new numbers as loaded state, not as changes to flush again
    set_committed_value(level, "on_hand", result.on_hand)
    set_committed_value(level, "reserved", result.reserved)
    db.session.expire(level, ["updated_at"])
    movement = None
    if on_hand_delta or kind == "count":
        movement = StockMovement(
            stock_level_id=level.id,
            kind=kind,
            quantity=on_hand_delta,
            on_hand_after=result.on_hand,
            counted=counted,
            reason=reason or "",
            reference=reference or "",
            **actor.columns(),
            created_at=clock.now(),
        )
        db.session.add(movement)
    location = db.session.get(Location, level.location_id)
    emit("stock.changed", {"sku": sku, "store": location.code, "on_hand": level.on_hand, "reserved": level.reserved, "available": level.available})
    return movement


# --- movements ----------------------------------------------------------------------------


def record_movement(
    store: str, sku: str, kind: str, quantity: int, reason: str = "", reference: str = "", actor: Actor = SYSTEM
) -> tuple[StockLevel, StockMovement]:
    """One stock movement from the API: ``receive`` (quantity > 0), ``adjust`` (signed, not 0)
    or ``count`` (on hand becomes ``quantity``; the ledger line holds the variance).

    Locks the row.  Raises ValidationError for bad kinds or quantities, InsufficientStock when
    an adjustment would go below what is available, Conflict when a count is below what is
    held for reservations (release those first: a count never silently drops a customer's hold).
    """
    location = get_location(store)
    variant = get_variant(sku)
    if kind not in MOVEMENT_API_KINDS:
        raise ValidationError(f"kind must be one of {', '.join(MOVEMENT_API_KINDS)}", field="kind")
    if kind == "receive" and quantity <= 0:
        raise ValidationError("a receipt needs a positive quantity", field="quantity")
    if kind == "adjust" and quantity == 0:
        raise ValidationError("an adjustment needs a non-zero quantity", field="quantity")
    if kind == "count" and quantity < 0:
        raise ValidationError("a count cannot be negative", field="quantity")
    level = lock_levels([(variant.id, location.id)], create=True)[(variant.id, location.id)]
    if kind == "count":
        if quantity < level.reserved:
            raise Conflict(
                f"counted {quantity} but {level.reserved} are held for reservations; release holds before recording this count",
                {"sku": sku, "counted": quantity, "reserved": level.reserved},
            )
        movement = change_level(
            level, on_hand_delta=quantity - level.on_hand, kind="count", counted=quantity, reason=reason, reference=reference, actor=actor, sku=sku
        )
    else:
        movement = change_level(
            level, on_hand_delta=quantity, kind=MOVEMENT_API_KINDS[kind], reason=reason, reference=reference, actor=actor, sku=sku
        )
    db.session.flush()
    return level, movement


def count_location(store: str, counts: list[tuple[str, int]], reason: str = "cycle count", actor: Actor = SYSTEM) -> list[dict]:
    """A cycle count of several SKUs at one location: on hand of each becomes what was counted (a
    ``count`` ledger line holds the variance); answers each line's expected, counted and variance.

    All lines or none.  Every line is checked before anything is locked: a ValidationError names
    each bad line (``lines.1.sku`` for an unknown SKU or one counted twice, ``lines.0.counted`` for a
    negative count).  Then all the rows are locked at once, in id order (``lock_levels``, creating
    missing rows), so two counts naming the same SKUs in any order queue instead of deadlocking.
    A line counted below what reservations hold is a Conflict listing every such line.
    """
    location = get_location(store)
    if not counts:
        raise ValidationError("a count needs at least one line", field="lines")
    skus = [sku for sku, _ in counts]
    variant_ids = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(set(skus)))).all())
    errors: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    for index, (sku, counted) in enumerate(counts):
        if sku not in variant_ids:
            errors[f"lines.{index}.sku"] = [f"unknown SKU {sku!r}"]
        elif sku in first_line:
            errors[f"lines.{index}.sku"] = [f"{sku} is already counted on line {first_line[sku]}"]
        first_line.setdefault(sku, index)
        if not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
            errors[f"lines.{index}.counted"] = ["a count cannot be negative" if isinstance(counted, int) else "must be a whole number"]
    if errors:
        raise ValidationError("some lines are not valid", details=errors)
    levels = lock_levels([(variant_ids[sku], location.id) for sku in skus], create=True)
    lines = [(index, sku, counted, levels[(variant_ids[sku], location.id)]) for index, (sku, counted) in enumerate(counts)]
    expected = [(sku, counted, level.on_hand) for _, sku, counted, level in lines]  # before apply_changes syncs the loaded rows
    held = [
        {"line": index, "sku": sku, "counted": counted, "reserved": level.reserved}
        for index, sku, counted, level in lines
        if counted < level.reserved
    ]
    if held:
        raise Conflict(
            "some counts are below what is held for reservations; release holds before recording them: "
            + ", ".join(f"{h['sku']} (counted {h['counted']}, held {h['reserved']})" for h in held),
            {"lines": held},
        )
    apply_changes(
        [Change(level.id, sku, on_hand=counted - level.on_hand, kind="count", counted=counted) for _, sku, counted, level in lines],
        location.code,
        reason=reason,
        actor=actor,
    )
    return [{"sku": sku, "expected": before, "counted": counted, "variance": counted - before} for sku, counted, before in expected]


# --- reading --------------------------------------------------------------------------------


def stock_by_location(variant_ids: list[int], location_ids: list[int] | None = None) -> dict[int, list[dict]]:
    """For each variant: every active location (or only ``location_ids``) with on hand, reserved,
    available and shelf position."""
    if not variant_ids or location_ids == []:
        return {}
    locations = list_locations()
    levels_query = select(StockLevel).where(StockLevel.variant_id.in_(variant_ids))
    shelves_query = select(ShelfPosition).where(ShelfPosition.variant_id.in_(variant_ids))
    if location_ids is not None:
        locations = [location for location in locations if location.id in location_ids]
        levels_query = levels_query.where(StockLevel.location_id.in_(location_ids))
        shelves_query = shelves_query.where(ShelfPosition.location_id.in_(location_ids))
    levels = {(lv.variant_id, lv.location_id): lv for lv in db.session.scalars(levels_query)}
    shelves = {(sp.variant_id, sp.location_id): sp for sp in db.session.scalars(shelves_query)}
    answer: dict[int, list[dict]] = {}
    for variant_id in variant_ids:
        rows = []
        for location in locations:
            level = levels.get((variant_id, location.id))
            shelf = shelves.get((variant_id, location.id))
            on_hand = level.on_hand if level else 0
            reserved = level.reserved if level else 0
            rows.append(
                {
                    "location": location,
                    "on_hand": on_hand,
                    "reserved": reserved,
                    "available": on_hand - reserved,
                    "low": level is not None and 0 < on_hand - reserved <= level.low_stock_threshold,
                    "shelf": shelf,
                }
            )
        answer[variant_id] = rows
    return answer


def set_shelf_position(store: str, sku: str, zone: str, aisle: str = "", bay: str = "") -> ShelfPosition:
    location = get_location(store, kinds=("store",))
    variant = get_variant(sku)
    position = db.session.scalar(select(ShelfPosition).where(ShelfPosition.location_id == location.id, ShelfPosition.variant_id == variant.id))
    if position is None:
        position = ShelfPosition(location_id=location.id, variant_id=variant.id)
        db.session.add(position)
    position.zone, position.aisle, position.bay = zone, aisle, bay
    db.session.flush()
    return position


def movements(store: str, sku: str, limit: int = 50) -> list[StockMovement]:
    location = get_location(store)
    variant = get_variant(sku)
    return list(
        db.session.scalars(
            select(StockMovement)
            .join(StockLevel)
            .where(StockLevel.variant_id == variant.id, StockLevel.location_id == location.id)
            .order_by(StockMovement.id.desc())
            .limit(limit)
        )
    )


def ledger_mismatches() -> list[int]:
    """Stock rows whose on hand differs from the sum of their movements (should always be empty)."""
    sums = (
        select(StockMovement.stock_level_id, func.coalesce(func.sum(StockMovement.quantity), 0).label("total"))
        .group_by(StockMovement.stock_level_id)
        .subquery()
    )
    rows = db.session.execute(
        select(StockLevel.id).outerjoin(sums, sums.c.stock_level_id == StockLevel.id).where(StockLevel.on_hand != func.coalesce(sums.c.total, 0))
    ).all()
    return [row.id for row in rows]


def low_stock(store: str, cursor_after: int | None = None, limit: int = 50) -> list[dict]:
    """Variants stocked at ``store`` whose available units are at or below their low-stock threshold
    (out of stock included), ordered by stock row id for cursor paging."""
    location = get_location(store)
    query = (
        select(StockLevel, Variant)
        .join(Variant, Variant.id == StockLevel.variant_id)
        .where(StockLevel.location_id == location.id, StockLevel.on_hand - StockLevel.reserved <= StockLevel.low_stock_threshold)
        .order_by(StockLevel.id)
        .limit(limit)
    )
    if cursor_after is not None:
        query = query.where(StockLevel.id > cursor_after)
    return [
        {
            "id": level.id,
            "sku": variant.sku,
            "store": location.code,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "available": level.available,
            "threshold": level.low_stock_threshold,
        }
        for level, variant in db.session.execute(query)
    ]


def receive_opening_stock(rows: list[tuple[str, str, int]], reason: str = "Opening stock", reference: str = "OPENING", actor: Actor = SYSTEM) -> int:
    """Bulk-load opening stock for (location code, SKU, units) rows that have no stock row yet.

    Each new row gets the ledger line that explains it — a receipt of its units, or a count of 0
    for a carried but sold-out SKU — so on hand equals the sum of movements, as
    ``record_movement`` would leave it, at a fraction of the cost.  Meant for an initial load:
    a pair that already has a stock row is a Conflict (nothing is written), and no events are
    emitted.  Answers the number of rows written.
    """
    if not rows:
        return 0
    codes = {code for code, _, _ in rows}
    skus = {sku for _, sku, _ in rows}
    location_ids = dict(db.session.execute(select(Location.code, Location.id).where(Location.code.in_(codes))).all())
    variant_ids = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(skus))).all())
    missing = sorted(codes - set(location_ids)) + sorted(skus - set(variant_ids))
    if missing:
        raise ValidationError(f"unknown locations or SKUs: {', '.join(missing[:10])}", field="rows")
    if any(units < 0 for _, _, units in rows):
        raise ValidationError("opening stock cannot be negative", field="rows")
    pairs = {(variant_ids[sku], location_ids[code]) for code, sku, _ in rows}
    existing = db.session.execute(
        select(StockLevel.variant_id, StockLevel.location_id).where(
            StockLevel.location_id.in_(set(location_ids.values())), StockLevel.variant_id.in_(set(variant_ids.values()))
        )
    ).all()
    clash = pairs & {(row.variant_id, row.location_id) for row in existing}
    if clash:
        raise Conflict(f"{len(clash)} of these rows already have stock; use record_movement for changes")
    when = clock.now()
    ordered = sorted(rows)
    db.session.execute(
        StockLevel.__table__.insert(),
        [
            {
                "variant_id": variant_ids[sku],
                "location_id": location_ids[code],
                "on_hand": units,
                "reserved": 0,
                "low_stock_threshold": 2,
                "updated_at": when,
            }
            for code, sku, units in ordered
        ],
    )
    level_ids = {
        (row.variant_id, row.location_id): row.id
        for row in db.session.execute(
            select(StockLevel.id, StockLevel.variant_id, StockLevel.location_id).where(
                StockLevel.location_id.in_(set(location_ids.values())), StockLevel.variant_id.in_(set(variant_ids.values()))
            )
        )
    }
    db.session.execute(
        StockMovement.__table__.insert(),
        [
            {
                "stock_level_id": level_ids[(variant_ids[sku], location_ids[code])],
                "kind": "receive" if units else "count",
                "quantity": units,
                "on_hand_after": units,
                "counted": None if units else 0,
                "reason": reason if units else f"{reason}: sold out",
                "reference": reference,
                **actor.columns(),
                "created_at": when,
            }
            for code, sku, units in ordered
        ],
    )
    return len(ordered)


def set_shelf_positions(rows: list[tuple[str, str, str, str, str]]) -> int:
    """Bulk-place (store code, SKU, zone, aisle, bay) rows that have no shelf position yet; answers the count."""
    if not rows:
        return 0
    location_ids = dict(db.session.execute(select(Location.code, Location.id).where(Location.code.in_({r[0] for r in rows}))).all())
    variant_ids = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_({r[1] for r in rows}))).all())
    db.session.execute(
        ShelfPosition.__table__.insert(),
        [
            {"location_id": location_ids[code], "variant_id": variant_ids[sku], "zone": zone, "aisle": aisle, "bay": bay}
            for code, sku, zone, aisle, bay in rows
        ],
    )
    return len(rows)
