"""The gateway events already processed (written only by ``pos.payments``)."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.db import UTCDateTime, db


class ProcessedGatewayEvent(db.Model):
    """One gateway event (a Stripe ``evt_…``) that was acted on.  The unique (gateway, event id) makes each event
    processed once: a redelivery, or two deliveries racing, find the row and do nothing.  The row is written in
    the same transaction as what the event changed, so an event whose processing rolled back is processed again
    on its next delivery."""

    __tablename__ = "processed_gateway_event"
    __table_args__ = (UniqueConstraint("gateway", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    payment_id: Mapped[int | None] = mapped_column(db.ForeignKey("payment.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(String(40))  # what was done: confirmed, failed, refunded, duplicate-free no-op …
    processed_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
