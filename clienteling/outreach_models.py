"""Tasks and follow-ups, outgoing messages, and feedback (its request links and the answers).

A ``Task`` is something an associate should do for a customer: made by hand, or by the product
itself (a wishlist item back in stock, a thank-you after a purchase; those carry a unique
``dedupe_key``, so a second run of ``create_follow_ups`` makes none twice).  A ``Message`` is one
email or SMS, written before it is sent and updated once the provider answered.  A
``FeedbackRequest`` is a single-use link (only the hash of its token is stored); its ``Feedback``
is the answer.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db

TASK_KINDS = ("manual", "wishlist_back_in_stock", "thank_you")
TASK_STATUSES = ("open", "done", "dismissed")
MESSAGE_CHANNELS = ("email", "sms")
MESSAGE_STATUSES = ("queued", "sent", "failed")
FEEDBACK_CHANNELS = ("store", "email", "sms")


class Task(db.Model):
    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint("kind in ('manual', 'wishlist_back_in_stock', 'thank_you')", name="kind"),
        CheckConstraint("status in ('open', 'done', 'dismissed')", name="status"),
        Index("ix_task_assignee_status_due", "assignee_id", "status", "due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "tsk_…"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="manual")
    reason: Mapped[str] = mapped_column(Text)
    due_on: Mapped[object] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    # automatic tasks only: "wishlist:<customer>:<sku>:<event>", "thank_you:<event>"; a second run makes none twice
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    done_at: Mapped[object | None] = mapped_column(UTCDateTime)  # completed or dismissed
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")  # who created it
    actor_id: Mapped[int | None]

    customer = relationship("Customer", lazy="joined")
    assignee = relationship("Staff", lazy="joined")
    store = relationship("Location", lazy="joined")

    @property
    def created_by(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class Message(db.Model):
    """One email or SMS to a customer: queued in the transaction that decided to send it, sent after
    that transaction committed, then marked sent or failed."""

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint("channel in ('email', 'sms')", name="channel"),
        CheckConstraint("status in ('queued', 'sent', 'failed')", name="status"),
        Index("ix_message_customer", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "msg_…"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    template: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str] = mapped_column(String(320))  # the email or the E.164 phone number it went to
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    error: Mapped[str | None] = mapped_column(String(500))
    provider_id: Mapped[str | None] = mapped_column(String(200))  # the provider's id for it (Message-ID, ...)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")
    actor_id: Mapped[int | None]

    customer = relationship("Customer", lazy="joined")
    store = relationship("Location", lazy="joined")


class FeedbackRequest(db.Model):
    """A single-use link to the public feedback page.  Only the SHA-256 of its token is kept: the
    link is shown (or sent) once, when it is made."""

    __tablename__ = "feedback_request"
    __table_args__ = (CheckConstraint("channel in ('store', 'email', 'sms')", name="channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "fbr_…"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    associate_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    appointment_id: Mapped[str | None] = mapped_column(String(40))  # the appointment's public id, when it follows one
    channel: Mapped[str] = mapped_column(String(10), default="store")  # how the link reached the customer
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[object] = mapped_column(UTCDateTime)
    answered_at: Mapped[object | None] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")
    actor_id: Mapped[int | None]

    customer = relationship("Customer", lazy="joined")
    store = relationship("Location", lazy="joined")
    associate = relationship("Staff", lazy="joined")


class Feedback(db.Model):
    """A customer's answer to a feedback request: CSAT 1–5 and/or NPS 0–10 and a comment (plain text,
    escaped wherever it is shown)."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("csat is null or (csat between 1 and 5)", name="csat"),
        CheckConstraint("nps is null or (nps between 0 and 10)", name="nps"),
        CheckConstraint("csat is not null or nps is not null", name="a_score"),
        Index("ix_feedback_store_created", "store_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("feedback_request.id", ondelete="CASCADE"), unique=True)  # answered once
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    csat: Mapped[int | None]
    nps: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    associate_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    channel: Mapped[str] = mapped_column(String(10))
    appointment_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
