"""Customers and what we know about them: identities across channels, consent history, the
timeline of events from every channel, associate notes, and who opened which profile.

Appointments, tasks, messages and feedback have their own modules' models (``appointment_models``,
``outreach_models``), all in this package.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db

CUSTOMER_KINDS = ("customer", "lead")  # a lead: known only from events (an email on a cart), never served in store
IDENTITY_KINDS = ("email", "phone", "loyalty", "external")
CONSENT_PURPOSES = ("email_marketing", "sms_marketing", "personalisation")
CHANNELS = ("web", "app", "store", "kiosk", "email", "sms", "phone", "chat", "social")


class Customer(db.Model):
    __tablename__ = "customer"
    __table_args__ = (CheckConstraint("kind in ('customer', 'lead')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "cus_…", what the API shows
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="customer")
    loyalty_code: Mapped[str | None] = mapped_column(String(40), unique=True)  # printed on the card, in the QR code
    home_store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"), index=True)
    preferred_associate_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    sizes: Mapped[dict] = mapped_column(db.JSON, default=dict)  # {"tops": "M", "shoes": "EU 42"}
    preferences: Mapped[dict] = mapped_column(db.JSON, default=dict)  # {"colours": "earth tones", "fit": "relaxed"}
    tags: Mapped[list] = mapped_column(db.JSON, default=list)
    # the name folded for search (casefold, accents removed), with the primary email and phone digits
    search_name: Mapped[str] = mapped_column(String(400), default="", index=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    erased_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    home_store = relationship("Location", lazy="joined")
    preferred_associate = relationship("Staff", lazy="joined")
    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", order_by="CustomerIdentity.id", lazy="selectin", cascade="all, delete-orphan"
    )

    def identity_values(self, kind: str) -> list[str]:
        return [identity.value for identity in self.identities if identity.kind == kind]

    @property
    def email(self) -> str | None:
        values = self.identity_values("email")
        return values[0] if values else None

    @property
    def phone(self) -> str | None:
        values = self.identity_values("phone")
        return values[0] if values else None

    @property
    def active(self) -> bool:
        return self.merged_into_id is None and self.erased_at is None


class CustomerIdentity(db.Model):
    """One way to recognise a customer: an email (lower-cased), a phone (E.164), a loyalty code or
    the e-commerce site's customer id.  A value belongs to one customer only."""

    __tablename__ = "customer_identity"
    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint("kind in ('email', 'phone', 'loyalty', 'external')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    customer: Mapped[Customer] = relationship(back_populates="identities")


class ConsentRecord(db.Model):
    """Consent is a history: each grant or withdrawal is a new row; the newest per purpose holds."""

    __tablename__ = "consent_record"
    __table_args__ = (
        Index("ix_consent_record_customer_purpose", "customer_id", "purpose", "id"),
        CheckConstraint("purpose in ('email_marketing', 'sms_marketing', 'personalisation')", name="purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(30))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(40))  # the channel it was given on: web, store, kiosk, email, import...
    recorded_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")
    actor_id: Mapped[int | None]

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class CustomerEvent(db.Model):
    """One entry on a customer's timeline, from any channel: the e-commerce site's events (its own
    ids, idempotent) and the product's own (``evt_…``)."""

    __tablename__ = "customer_event"
    __table_args__ = (
        Index("ix_customer_event_timeline", "customer_id", "occurred_at", "id"),
        Index("ix_customer_event_customer_type", "customer_id", "type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)  # the sender's id: a second one is a duplicate
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="web")
    occurred_at: Mapped[object] = mapped_column(UTCDateTime)
    received_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    sku: Mapped[str | None] = mapped_column(String(100))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id", ondelete="SET NULL"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    data: Mapped[dict] = mapped_column(db.JSON, default=dict)
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")
    actor_id: Mapped[int | None]


class CustomerNote(db.Model):
    __tablename__ = "customer_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    author = relationship("Staff", lazy="joined")


class ProfileView(db.Model):
    """A staff member opened a customer's profile (the privacy log admins read)."""

    __tablename__ = "profile_view"
    __table_args__ = (Index("ix_profile_view_customer", "customer_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(20), default="api")  # api, tablet
    viewed_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, index=True)

    staff = relationship("Staff", lazy="joined")
