"""The transactional outbox and the webhook endpoints it delivers to.

``emit()`` writes an event and one delivery row per subscribed endpoint in the caller's
transaction: an event exists if and only if the change that caused it committed.  A
dispatcher (``web/webhooks.py``) claims due deliveries, sends them after its claim has
committed, and records the outcome.
"""

from __future__ import annotations

import secrets
import weakref
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock, live
from .db import UTCDateTime, db, is_postgresql
from .errors import NotFound, ValidationError

_EVENT_TYPES: dict[str, str] = {}  # type -> the package that declared it


def declare_event_types(package: str, *types: str) -> None:
    """A domain package declares the webhook event types it emits (at import).  The kernel lists
    none of its own; endpoints may subscribe only to declared types.  Declaring a type that
    another package already owns is a programming error."""
    for event_type in types:
        owner = _EVENT_TYPES.setdefault(event_type, package)
        if owner != package:
            raise ValueError(f"event type {event_type} is already declared by {owner}")


def event_types() -> tuple[str, ...]:
    """Every declared event type, sorted."""
    return tuple(sorted(_EVENT_TYPES))


MAX_ATTEMPTS = 12  # 11 waits of 5 s doubling (capped at an hour): about 2.4 hours, then the delivery is dead
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 3600


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(db.JSON)
    secret: Mapped[str] = mapped_column(String(100))  # needed in clear to sign each delivery
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)


class OutboxEvent(db.Model):
    __tablename__ = "outbox_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(db.JSON)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[object | None] = mapped_column(UTCDateTime)

    event: Mapped[OutboxEvent] = relationship(lazy="joined")
    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="joined")


def register_endpoint(url: str, events: list[str]) -> WebhookEndpoint:
    """Create a webhook endpoint with a fresh secret. Unknown event types are a ValidationError."""
    unknown = sorted(set(events) - set(_EVENT_TYPES) - {"*"})
    if unknown:
        raise ValidationError(f"unknown event types: {', '.join(unknown)}", field="events")
    if not events:
        raise ValidationError("name at least one event type", field="events")
    endpoint = WebhookEndpoint(public_id=new_id("we"), url=url, events=sorted(set(events)), secret="whsec_" + secrets.token_hex(24))
    db.session.add(endpoint)
    db.session.flush()
    forget_endpoint_cache()
    return endpoint


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delete_endpoint(public_id: str) -> None:
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {public_id}")
    endpoint.active = False
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="dead", last_error="endpoint deleted")
    )
    db.session.flush()
    forget_endpoint_cache()


def _subscribers(event_type: str) -> list[int]:
    """Active endpoints subscribed to ``event_type``, read once per transaction.

    The cache lives only as long as the transaction that read it, so a long-lived session (the
    dispatcher's, a test's) sees endpoints registered by other transactions since.
    """
    session = db.session()
    cached = session.info.get("outbox_endpoints")
    transaction = session.get_transaction()
    if cached is None or transaction is None or cached[0]() is not transaction:
        rows = session.execute(select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True)))
        endpoints = [(row.id, set(row.events)) for row in rows]
        session.info["outbox_endpoints"] = cached = (weakref.ref(session.get_transaction()), endpoints)
    return [endpoint_id for endpoint_id, events in cached[1] if event_type in events or "*" in events]


def preload_subscribers() -> None:
    """Read the endpoint list for this transaction now, so that emitting later (while stock rows
    are locked) costs no extra query."""
    _subscribers("stock.changed")


def emit(event_type: str, data: dict) -> OutboxEvent | None:
    """Record an event in the current transaction, with a pending delivery per subscriber.

    Event types a live screen listens for (``core.live.route``) are also published live once the
    transaction commits.  Nothing is written when no endpoint subscribes to ``event_type``; nothing survives when the
    caller's transaction rolls back.  The payload's ``id`` (``evt_...``) is unique per event and
    stays the same across retries, so receivers can drop the duplicates at-least-once delivery allows.
    """
    assert event_type in _EVENT_TYPES, f"undeclared event type {event_type}"
    live.forward(event_type, data)  # screens open now hear of it after the commit (core.live)
    endpoint_ids = _subscribers(event_type)
    if not endpoint_ids:
        return None
    when = clock.now()
    event = OutboxEvent(public_id=new_id("evt"), type=event_type, created_at=when, payload={})
    event.payload = {"id": event.public_id, "type": event_type, "created_at": clock.isoformat(when), "data": data}
    db.session.add(event)
    db.session.flush()
    db.session.execute(
        WebhookDelivery.__table__.insert(),
        [{"event_id": event.id, "endpoint_id": eid, "status": "pending", "attempts": 0, "next_attempt_at": when} for eid in endpoint_ids],
    )
    return event


def forget_endpoint_cache(session=None) -> None:
    (session or db.session).info.pop("outbox_endpoints", None)


def claim_due_deliveries(limit: int = 50, lease_seconds: int = 60) -> list[WebhookDelivery]:
    """Claim up to ``limit`` due deliveries for this process and push their next attempt past the lease.

    On PostgreSQL rows are claimed ``FOR UPDATE SKIP LOCKED`` so several dispatchers share the
    work; on SQLite the write transaction itself is exclusive.  The caller must commit right
    after, then deliver: a claimed delivery is invisible to other dispatchers until the lease
    ends, so no event goes out from two processes at once.
    """
    when = clock.now()
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= when)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if is_postgresql():
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    deliveries = list(db.session.scalars(query.execution_options(populate_existing=True)))
    for delivery in deliveries:
        delivery.next_attempt_at = when + timedelta(seconds=lease_seconds)
    db.session.flush()
    return deliveries


def record_delivery_result(delivery_id: int, ok: bool, error: str | None = None, claimed_until: datetime | None = None) -> WebhookDelivery | None:
    """Mark a delivery delivered, or schedule its retry with exponential backoff (dead after MAX_ATTEMPTS).

    With ``claimed_until`` (the lease ``claim_due_deliveries`` set) the result is recorded only
    while that claim still holds: if the lease ran out and another dispatcher claimed the
    delivery since, or it was dropped (endpoint deleted), nothing changes and None is returned.
    """
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).execution_options(populate_existing=True)
    if is_postgresql():
        query = query.with_for_update(of=WebhookDelivery)
    delivery = db.session.scalar(query)
    if delivery is None:
        return None
    if claimed_until is not None and (delivery.status != "pending" or delivery.next_attempt_at != claimed_until):
        return None
    delivery.attempts += 1
    when = clock.now()
    if ok:
        delivery.status = "delivered"
        delivery.delivered_at = when
        delivery.last_error = None
    else:
        delivery.last_error = (error or "failed")[:2000]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "dead"
        else:
            delivery.next_attempt_at = when + retry_delay(delivery.attempts)
    db.session.flush()
    return delivery


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: 5 s, 10 s, 20 s ... capped at an hour."""
    return timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempts - 1)))


def release_claims(claims: list[tuple[int, datetime]]) -> int:
    """Make claimed but unattempted deliveries due now again, each only if its claim (id, lease end)
    still holds.  Used by a dispatcher that stops or runs short of lease before sending them."""
    by_lease: dict[datetime, list[int]] = {}
    for delivery_id, claimed_until in claims:
        by_lease.setdefault(claimed_until, []).append(delivery_id)  # one claim round: one lease end
    released = 0
    for claimed_until, ids in by_lease.items():
        result = db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at == claimed_until)
            .values(next_attempt_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        released += result.rowcount
    return released
