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
    return event
