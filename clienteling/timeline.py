"""The customer's timeline: one list of events from every channel, newest first.

``record_activity`` is how the product writes its own store-side entries (an appointment booked
or checked in, a message sent, feedback given, a purchase in store); the e-commerce site's
events arrive in batches through ``clienteling.events``.
"""

from __future__ import annotations

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.outbox import new_id
from inventory import find_variant_by_sku

from .events import PURCHASE_TYPES, record_purchased_items
from .models import CHANNELS, Customer, CustomerEvent


def record_activity(
    customer: Customer,
    type: str,
    channel: str = "store",
    actor: Actor = SYSTEM,
    occurred_at=None,
    sku: str | None = None,
    variant_id: int | None = None,
    store_id: int | None = None,
    staff_id: int | None = None,
    data: dict | None = None,
    event_id: str | None = None,
) -> CustomerEvent:
    """Append one entry to ``customer``'s timeline in the current transaction (flushed).  The
    product's own entries get an ``evt_…`` id; pass ``event_id`` to make the write idempotent
    (a unique constraint refuses a second one)."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    if sku and variant_id is None:  # the SKU as the catalogue knows it, so merges of SKUs and reports follow it
        variant = find_variant_by_sku(sku)
        variant_id = variant.id if variant is not None else None
    event = CustomerEvent(
        event_id=event_id or new_id("evt"),
        customer_id=customer.id,
        type=type,
        channel=channel,
        occurred_at=occurred_at or clock.now(),
        sku=sku,
        variant_id=variant_id,
        store_id=store_id,
        staff_id=staff_id,
        data=data or {},
        **actor.columns(),
    )
    db.session.add(event)
    db.session.flush()
    if type in PURCHASE_TYPES and event.data.get("lines"):
        record_purchased_items([(event.id, event.data["lines"])])
    return event


# online channels: what a customer did on the brand's site, app, social or chat; hidden from staff
# when the customer has withdrawn (or never given) consent to personalisation
ONLINE_CHANNELS = ("web", "app", "social", "chat")


def timeline_page(
    customer: Customer,
    cursor: tuple[str, int] | None = None,
    channel: str | None = None,
    type: str | None = None,
    limit: int = 50,
    show_online: bool = True,
) -> tuple[list[CustomerEvent], tuple[str, int] | None]:
    """One page of ``customer``'s timeline, newest first, keyset-paged on (occurred_at, id);
    ``cursor`` is the (ISO time, id) of the last entry of the previous page.  Filters by channel
    and type; ``show_online=False`` (no personalisation consent) leaves out what the customer did on
    the online channels — the e-commerce site's events — but keeps the product's own entries about
    them (an appointment booked on the web, a message sent): those are the service, not tracking.
    Answers the page and the next page's cursor (None on the last page)."""
    from datetime import datetime

    from sqlalchemy import and_, or_, select

    query = select(CustomerEvent).where(CustomerEvent.customer_id == customer.id)
    if channel:
        query = query.where(CustomerEvent.channel == channel)
    if type:
        query = query.where(CustomerEvent.type == type)
    if not show_online:
        from sqlalchemy import or_ as either

        from .events import STORE_EVENT_TYPES

        query = query.where(either(CustomerEvent.channel.not_in(ONLINE_CHANNELS), CustomerEvent.type.in_(STORE_EVENT_TYPES)))
    if cursor is not None:
        at, last_id = datetime.fromisoformat(cursor[0]), int(cursor[1])
        query = query.where(or_(CustomerEvent.occurred_at < at, and_(CustomerEvent.occurred_at == at, CustomerEvent.id < last_id)))
    rows = list(db.session.scalars(query.order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = (rows[-1].occurred_at.isoformat(), rows[-1].id)
    return rows, next_cursor
