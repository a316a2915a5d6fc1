"""Registers and shifts: the tables of the cash drawer (written only by ``pos.shifts``)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db
from core.money import Money
from inventory import Location

SHIFT_STATUSES = ("open", "closed")
MOVEMENT_KINDS = ("float", "cash_in", "cash_out", "sale", "refund", "change")


class Register(db.Model):
    """A till at a store: in Shelfside a tablet that takes cash ("T1", "T2"), its code unique in its store."""

    __tablename__ = "register"
    __table_args__ = (UniqueConstraint("location_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    location: Mapped[Location] = relationship(lazy="joined")


class Shift(db.Model):
    """One cash drawer session of a register, from its opening float to its closing count.

    The partial unique index ``uq_shift_open_register`` lets a register have at most one open shift:
    of two concurrent opens one commits and the other fails on it (answered as 409 ``shift_open``)."""

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint("status in ('open', 'closed')", name="status"),
        CheckConstraint("opening_float >= 0", name="opening_float_not_negative"),
        CheckConstraint("status = 'open' or (closed_at is not null and counted_amount is not null)", name="closed_has_count"),
        Index("uq_shift_open_register", "register_id", unique=True, postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "shf_…", what the API shows
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    currency: Mapped[str] = mapped_column(String(3))
    opening_float: Mapped[int]  # minor units
    opened_by_kind: Mapped[str] = mapped_column(String(20))
    opened_by_id: Mapped[int | None]
    opened_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, index=True)
    closed_by_kind: Mapped[str | None] = mapped_column(String(20))
    closed_by_id: Mapped[int | None]
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    counted_amount: Mapped[int | None]  # minor units, at close
    counted_by_denomination: Mapped[dict | None] = mapped_column(db.JSON)  # {"50.00": 2, "0.05": 3}
    expected_amount: Mapped[int | None]  # minor units, fixed at close
    variance_amount: Mapped[int | None]  # counted - expected

    register: Mapped[Register] = relationship(lazy="joined")
    location: Mapped[Location] = relationship(lazy="joined")

    def money(self, amount: int | None) -> Money | None:
        return None if amount is None else Money(amount, self.currency)

    @property
    def opened_by(self) -> Actor:
        return stored_actor(self.opened_by_kind, self.opened_by_id)

    @property
    def closed_by(self) -> Actor | None:
        return stored_actor(self.closed_by_kind, self.closed_by_id) if self.closed_by_kind else None


class CashMovement(db.Model):
    """Cash into (+) or out of (-) a shift's drawer, append-only: the float, a cash sale's tendered cash and its
    change, a cash refund, a manual cash-in or paid-out.  Expected cash is the sum of a shift's movements."""

    __tablename__ = "cash_movement"
    __table_args__ = (
        CheckConstraint("kind in ('float', 'cash_in', 'cash_out', 'sale', 'refund', 'change')", name="kind"),
        CheckConstraint(
            "(kind = 'float' and amount >= 0) or (kind in ('cash_in', 'sale') and amount > 0) "
            "or (kind in ('cash_out', 'refund', 'change') and amount < 0)",
            name="amount_sign",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shift.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]  # signed minor units, in the shift's currency
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")  # an order id, a return id
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)
