"""Click-and-collect at the store: the online orders held for collection, found and handed over at the counter.

A pickup is an inventory reservation of kind ``pickup`` at the store, made by the e-commerce site (``POST
/api/v1/reservations``, ``reference`` = its order number) or by an endless-aisle sale collected where its units are
(``reference`` = the order number).  Its customer is found through that reference: the sale's order here, or the
e-commerce site's ``order_placed`` event whose ``data.order_id`` (or ``data.reference``) is the reference; without a
link the pickup shows its reference only.

``hand_over`` commits the hold (the units leave on hand) and writes the customer's ``pickup_collected`` timeline
entry; ``refuse`` releases it and records why (audit and ``pickup_refused``).  A pickup nobody collects expires and
frees its units through the reservation sweeper (``flask --app web expire-reservations``).

Lock order: the reservation's header, its stock rows (``inventory``), then this module's own rows (timeline, audit).
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

import inventory
from clienteling import Customer, CustomerEvent, find_customer_by_loyalty_code, fold, record_activity
from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.db import db
from core.errors import InvalidTransition, NotFound, ValidationError

from .carts import _title
from .order_models import Order, OrderLine

MAX_PICKUPS = 500
MAX_REASON = 500
MAX_QUERY = 100


# --- who ordered it -----------------------------------------------------------------------------


def _survivor(customer_id: int | None) -> Customer | None:
    customer = db.session.get(Customer, customer_id) if customer_id else None
    for _ in range(20):  # merge chains are short
        if customer is None or customer.merged_into_id is None:
            break
        customer = db.session.get(Customer, customer.merged_into_id)
    if customer is None or customer.erased_at is not None or customer.merged_into_id is not None:
        return None
    return customer


def customers_for_references(references) -> dict[str, Customer]:
    """The customer behind each order reference that has one: an order sold in store with that number, else the
    newest ``order_placed`` event whose ``data.order_id`` or ``data.reference`` is it (a merged profile resolves to
    its survivor; an erased one is no link).  Two queries, whatever the number of references."""
    wanted = sorted({reference for reference in references if reference})
    if not wanted:
        return {}
    owners: dict[str, int] = {}
    for number, customer_id in db.session.execute(
        select(Order.number, Order.customer_id).where(Order.number.in_(wanted), Order.customer_id.is_not(None))
    ):
        owners[number] = customer_id
    order_id = CustomerEvent.data["order_id"].as_string()
    reference = CustomerEvent.data["reference"].as_string()
    rows = db.session.execute(
        select(CustomerEvent.customer_id, order_id, reference)
        .where(CustomerEvent.type == "order_placed", or_(order_id.in_(wanted), reference.in_(wanted)))
        .order_by(CustomerEvent.occurred_at, CustomerEvent.id)  # the newest last: it wins
    )
    sold_here = set(owners)  # an order sold in store decides its reference: events never override it
    for customer_id, by_order_id, by_reference in rows:
        for key in {by_order_id, by_reference} & set(wanted) - sold_here:
            owners[key] = customer_id
    return {key: customer for key, customer_id in owners.items() if (customer := _survivor(customer_id)) is not None}


def pickup_customer(reservation: inventory.Reservation) -> Customer | None:
    """The customer a pickup is for, or None when its reference links to nobody (see the module docstring)."""
    return customers_for_references([reservation.reference]).get(reservation.reference)


# --- reading ------------------------------------------------------------------------------------


def _lines(reservations: list[inventory.Reservation]) -> dict[int, list[dict]]:
    """Each reservation's lines as ``{"sku", "title", "quantity"}``, in two queries for all of them."""
    level_ids = {line.stock_level_id for reservation in reservations for line in reservation.lines}
    if not level_ids:
        return {reservation.id: [] for reservation in reservations}
    variants = {
        level_id: variant
        for level_id, variant in db.session.execute(
            select(inventory.StockLevel.id, inventory.Variant)
            .join(inventory.Variant, inventory.Variant.id == inventory.StockLevel.variant_id)
            .where(inventory.StockLevel.id.in_(level_ids))
            .options(selectinload(inventory.Variant.product))
        )
    }
    return {
        reservation.id: [
            {"sku": variants[line.stock_level_id].sku, "title": _title(variants[line.stock_level_id]), "quantity": line.quantity}
            for line in reservation.lines
        ]
        for reservation in reservations
    }


def pickup_payload(reservation: inventory.Reservation, customer: Customer | None = None, lines: list[dict] | None = None) -> dict:
    """A pickup as the API and the tablet show it: ``{"id", "reference", "status", "store", "expires_at",
    "created_at", "closed_at", "lines": [{"sku", "title", "quantity"}], "units", "customer": {"id", "name",
    "loyalty_code"} or None}``."""
    if lines is None:
        lines = _lines([reservation])[reservation.id]
    return {
        "id": reservation.public_id,
        "reference": reservation.reference,
        "status": reservation.status,
        "store": reservation.location.code,
        "expires_at": clock.isoformat(reservation.expires_at),
        "created_at": clock.isoformat(reservation.created_at),
        "closed_at": clock.isoformat(reservation.closed_at),
        "lines": lines,
        "units": sum(line["quantity"] for line in lines),
        "customer": {"id": customer.public_id, "name": customer.name, "loyalty_code": customer.loyalty_code} if customer else None,
    }


def _words(text: str) -> list[str]:
    return fold(text).split()


def _matches(query: str, reservation: inventory.Reservation, customer: Customer | None, scanned: Customer | None) -> bool:
    if scanned is not None:
        return customer is not None and customer.id == scanned.id
    if query.upper() in (reservation.reference or "").upper():
        return True
    if customer is None or not customer.name:
        return False
    name_words = _words(customer.name)
    return all(any(word.startswith(wanted) for word in name_words) for wanted in _words(query))


def pickups_due(store: str, q: str | None = None) -> list[dict]:
    """The pickups waiting at ``store`` (held ``pickup`` reservations not yet past their expiry), the soonest to
    expire first (those without an expiry last), each as ``pickup_payload`` with its lines, titles and customer.

    ``q`` narrows them: a scanned (or typed) loyalty code finds that customer's pickups; anything else matches the
    order reference (any part of it, any case) or the customer's name (every word the start of a name word,
    accents and case ignored).  Read-only, unlocked.  ValidationError naming ``store`` (unknown) or ``q`` (longer
    than 100 characters)."""
    location = inventory.get_location(store, kinds=("store",))
    query = " ".join((q or "").split())
    if len(query) > MAX_QUERY:
        raise ValidationError(f"a search is at most {MAX_QUERY} characters", field="q")
    now = clock.now()
    Reservation = inventory.Reservation
    reservations = list(
        db.session.scalars(
            select(Reservation)
            .where(
                Reservation.location_id == location.id,
                Reservation.kind == "pickup",
                Reservation.status == "held",
                or_(Reservation.expires_at.is_(None), Reservation.expires_at > now),
            )
            .order_by(Reservation.expires_at.is_(None), Reservation.expires_at, Reservation.id)
            .limit(MAX_PICKUPS)
            .options(selectinload(Reservation.lines))
        )
    )
    reservations = _collected_here(reservations)
    customers = customers_for_references([reservation.reference for reservation in reservations])
    if query:
        scanned = find_customer_by_loyalty_code(query)
        scanned = _survivor(scanned.id) if scanned is not None else None
        reservations = [r for r in reservations if _matches(query, r, customers.get(r.reference), scanned)]
    lines = _lines(reservations)
    return [pickup_payload(r, customers.get(r.reference), lines[r.id]) for r in reservations]


def _collected_here(reservations: list[inventory.Reservation]) -> list[inventory.Reservation]:
    """Leave out the holds an endless-aisle sale made here for collection at *another* store (this location ships
    the units on; the customer never comes here for them)."""
    if not reservations:
        return reservations
    elsewhere = set(
        db.session.scalars(
            select(OrderLine.reservation_id)
            .join(inventory.Reservation, inventory.Reservation.id == OrderLine.reservation_id)
            .where(
                OrderLine.reservation_id.in_([r.id for r in reservations]),
                OrderLine.collect_location_id.is_not(None),
                OrderLine.collect_location_id != inventory.Reservation.location_id,
            )
        )
    )
    return [r for r in reservations if r.id not in elsewhere]


def get_pickup(reservation_id: str, lock: bool = False) -> inventory.Reservation:
    """The pickup reservation with this id (locked with ``lock``: the first lock in the order); NotFound when there
    is none or it holds stock for something else (a cart, an online order, an appointment)."""
    try:
        reservation = inventory.get_reservation(reservation_id, lock=lock)
    except NotFound:
        raise NotFound(f"no pickup {reservation_id}") from None
    if reservation.kind != "pickup":
        raise NotFound(f"no pickup {reservation_id}")
    return reservation


# --- handing over and refusing ------------------------------------------------------------------


def _still_waiting(reservation: inventory.Reservation) -> None:
    if reservation.status == "held" and (reservation.expires_at is None or reservation.expires_at > clock.now()):
        return
    if reservation.status in ("held", "expired"):  # held but past its expiry: the sweeper has not come yet
        when = clock.isoformat(reservation.expires_at)
        raise InvalidTransition(f"pickup {reservation.reference or reservation.public_id} expired at {when}", {"status": "expired"})
    what = {"committed": "was handed over", "released": "was refused or cancelled"}.get(reservation.status, reservation.status)
    raise InvalidTransition(f"pickup {reservation.reference or reservation.public_id} {what}", {"status": reservation.status})


def _timeline(customer: Customer | None, type: str, reservation: inventory.Reservation, actor: Actor, lines: list[dict], **extra) -> None:
    if customer is None:
        return
    record_activity(
        customer,
        type,
        channel="store",
        actor=actor,
        store_id=reservation.location_id,
        staff_id=actor.id if actor.kind == "staff" else None,
        data={
            "reference": reservation.reference,
            "reservation_id": reservation.public_id,
            "store": reservation.location.code,
            "lines": [{"sku": line["sku"], "quantity": line["quantity"]} for line in lines],
            **extra,
        },
        event_id=f"evt_{type}_{reservation.public_id}",
    )


def hand_over(reservation_id: str, actor: Actor) -> dict:
    """The customer collects their pickup: the hold is committed (its units leave on hand: a ``sale`` in the ledger
    with the order reference), an audit entry ``pickup_handed_over`` is written and, when the pickup's customer is
    known, their timeline says ``pickup_collected`` ("Collected in store").  Locks the reservation first.

    Safe to retry: handing over a pickup already handed over answers it unchanged and writes nothing.  NotFound for
    no such pickup; InvalidTransition (422) when it expired or was refused.  Answers ``pickup_payload``."""
    reservation = get_pickup(reservation_id, lock=True)
    customer = pickup_customer(reservation)
    lines = _lines([reservation])[reservation.id]
    if reservation.status == "committed":
        return pickup_payload(reservation, customer, lines)
    _still_waiting(reservation)
    reservation = inventory.commit_reservation(reservation.public_id, actor)
    record_audit(
        "pickup_handed_over",
        actor,
        "reservation",
        reservation.public_id,
        {
            "reference": reservation.reference,
            "store": reservation.location.code,
            "lines": lines,
            "customer_id": customer.public_id if customer else None,
        },
    )
    _timeline(customer, "pickup_collected", reservation, actor, lines)
    return pickup_payload(reservation, customer, lines)


def refuse(reservation_id: str, reason: str, actor: Actor) -> dict:
    """The pickup is not taken (the customer refused it, it was damaged, the wrong item): the hold is released (its
    units available again), an audit entry ``pickup_refused`` keeps the reason and, when the customer is known, their
    timeline says ``pickup_refused``.  Locks the reservation first.

    ``reason`` is required (at most 500 characters): ValidationError naming ``reason``.  Refusing a refused pickup
    answers it unchanged and writes nothing; NotFound for no such pickup; InvalidTransition (422) when it was handed
    over or expired.  Answers ``pickup_payload``."""
    text = " ".join((reason or "").split()) if isinstance(reason, str) else ""
    if not text:
        raise ValidationError("say why the pickup is refused", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationError(f"a reason is at most {MAX_REASON} characters", field="reason")
    reservation = get_pickup(reservation_id, lock=True)
    customer = pickup_customer(reservation)
    lines = _lines([reservation])[reservation.id]
    if reservation.status == "released":
        return pickup_payload(reservation, customer, lines)
    _still_waiting(reservation)
    reservation = inventory.release_reservation(reservation.public_id, actor)
    record_audit(
        "pickup_refused",
        actor,
        "reservation",
        reservation.public_id,
        {
            "reference": reservation.reference,
            "store": reservation.location.code,
            "reason": text,
            "lines": lines,
            "customer_id": customer.public_id if customer else None,
        },
    )
    _timeline(customer, "pickup_refused", reservation, actor, lines, reason=text)
    return pickup_payload(reservation, customer, lines)
