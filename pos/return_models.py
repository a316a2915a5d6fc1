"""Returns of sold items and the refunds paid for them (written only by ``pos.returns``)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db
from core.money import Money
from inventory import Location

REFUND_KINDS = ("cash", "card", "qr")


class Return(db.Model):
    """Items of one order brought back at a store, and what was refunded for them (``total_refunded``, minor units
    of ``currency``: the sum of its refunds).  ``approved_by`` is the manager who approved a refund above the store's
    threshold."""

    __tablename__ = "sale_return"
    __table_args__ = (CheckConstraint("total_refunded >= 0", name="total_refunded_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "ret_…"
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str] = mapped_column(String(3))
    total_refunded: Mapped[int]
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    location: Mapped[Location] = relationship(lazy="joined")
    lines: Mapped[list[ReturnLine]] = relationship(order_by="ReturnLine.id", cascade="all, delete-orphan", back_populates="sale_return")
    refunds: Mapped[list[Refund]] = relationship(order_by="Refund.id", cascade="all, delete-orphan", back_populates="sale_return")

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class ReturnLine(db.Model):
    """Units of one order line brought back: ``restock`` says they went back on hand (false: damaged, kept off the
    shelf); ``amount`` is what they refund, their share of what the customer paid for the line."""

    __tablename__ = "sale_return_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("sale_return.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sale_order_line.id"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int]
    restock: Mapped[bool]
    amount: Mapped[int]

    sale_return: Mapped[Return] = relationship(back_populates="lines")


class Refund(db.Model):
    """Money paid back to one tender of the order: cash from a shift's drawer (``shift_id``), or a card or QR payment
    refunded through its gateway (``gateway_refund_id``).  ``shift_id`` is the shift the refund was recorded in (for
    a card refund: the open shift of the register that made it, if any), which the shift report counts."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("kind in ('cash', 'card', 'qr')", name="kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("sale_return.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    gateway_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    sale_return: Mapped[Return] = relationship(back_populates="refunds")
