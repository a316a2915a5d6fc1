"""Appointments: a store's opening hours, when its associates work, the appointments themselves and
the half-hour slots each one occupies in its associate's day.

``AppointmentSlotClaim`` is what makes double booking impossible: one row per 30-minute grid slot an
appointment occupies, unique on (staff_id, starts_at).  Of two transactions booking one associate's
slot at once, one inserts its claims and the other meets the unique index (on PostgreSQL it waits for
the first to commit, then fails), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db

APPOINTMENT_STATUSES = ("booked", "checked_in", "completed", "no_show", "cancelled")
BOOKING_CHANNELS = ("web", "store", "partner", "phone", "kiosk")


class StoreHours(db.Model):
    """When a store is open on one weekday (0 Monday … 6 Sunday), in minutes after local midnight.
    Several rows per day are allowed (a store closed over lunch)."""

    __tablename__ = "store_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("opens_minute >= 0 AND opens_minute < closes_minute AND closes_minute <= 1440", name="minutes"),
        Index("ix_store_hours_location_weekday", "location_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    opens_minute: Mapped[int]
    closes_minute: Mapped[int]


class AssociateAvailability(db.Model):
    """When an associate works at a store on one weekday, in minutes after the store's local midnight."""

    __tablename__ = "associate_availability"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday"),
        CheckConstraint("starts_minute >= 0 AND starts_minute < ends_minute AND ends_minute <= 1440", name="minutes"),
        Index("ix_associate_availability_location_weekday", "location_id", "weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    starts_minute: Mapped[int]
    ends_minute: Mapped[int]


class Appointment(db.Model):
    """A customer's appointment with an associate at a store: ``apt_…`` for the API, and a short
    ``code`` people can read out or scan at the kiosk."""

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("status in ('booked', 'checked_in', 'completed', 'no_show', 'cancelled')", name="status"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_appointment_location_starts", "location_id", "starts_at"),
        Index("ix_appointment_associate_starts", "associate_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    service: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    ends_at: Mapped[object] = mapped_column(UTCDateTime)
    associate_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="booked")
    questionnaire: Mapped[dict] = mapped_column(db.JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    checked_in_at: Mapped[object | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)  # completed, marked no-show or cancelled
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")  # who booked it (core.actor.Actor)
    actor_id: Mapped[int | None]

    location = relationship("Location", lazy="joined")
    associate = relationship("Staff", lazy="joined")
    customer = relationship("Customer", lazy="joined")

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class AppointmentSlotClaim(db.Model):
    """One 30-minute grid slot of an associate's day taken by an appointment."""

    __tablename__ = "appointment_slot_claim"
    __table_args__ = (UniqueConstraint("staff_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    starts_at: Mapped[object] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"), index=True)
