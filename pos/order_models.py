"""Orders, their lines and their payments (written only by ``pos.checkout`` and the payment and return services)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db
from core.money import Money
from inventory import Location

ORDER_STATUSES = ("awaiting_payment", "completed", "cancelled")
TENDER_KINDS = ("cash", "card", "qr")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "cancelled")


class Order(db.Model):
    """A sale at a store: one per cart (``cart_id`` is unique, so a cart is never sold twice).  Totals are fixed at
    checkout, in minor units of ``currency``.  ``receipt_token`` is the unguessable key of the public receipt page."""

    __tablename__ = "sale_order"
    __table_args__ = (
        CheckConstraint("status in ('awaiting_payment', 'completed', 'cancelled')", name="status"),
        CheckConstraint("subtotal >= 0 AND discount >= 0 AND tax >= 0 AND total >= 0", name="totals_not_negative"),
        Index("ix_sale_order_location_created", "location_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "ord_…"
    number: Mapped[str] = mapped_column(String(40), unique=True)  # what a customer reads: "BER-MITTE-000042"
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id"), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shift.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    discount: Mapped[int]
    tax: Mapped[int]
    total: Mapped[int]
    cash_rounding: Mapped[int] = mapped_column(default=0)  # what rounding the cash part to coins added (may be negative)
    tax_mode: Mapped[str] = mapped_column(String(20))
    promo_code: Mapped[str] = mapped_column(String(40), default="")
    receipt_token: Mapped[str] = mapped_column(String(64), unique=True)
    receipt_email: Mapped[str] = mapped_column(String(255), default="")
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    location: Mapped[Location] = relationship(lazy="joined")
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", cascade="all, delete-orphan", back_populates="order")
    payments: Mapped[list[Payment]] = relationship(order_by="Payment.id", cascade="all, delete-orphan", back_populates="order")

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class OrderLine(db.Model):
    """One line of an order as it was priced at checkout.  ``discount`` is everything taken off the line (its own
    discount and its shares of the basket discount and the promo code); ``total`` is what the customer paid for it.
    ``returned_quantity`` grows with returns and never passes ``quantity``."""

    __tablename__ = "sale_order_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity", name="returned_within_quantity"),
        CheckConstraint("fulfilment in ('take_now', 'ship', 'collect')", name="fulfilment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("variant.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int]
    unit_price: Mapped[int]
    list_price: Mapped[int]
    discount: Mapped[int]
    tax: Mapped[int]
    total: Mapped[int]
    tax_class: Mapped[str] = mapped_column(String(40))
    tax_rate: Mapped[str] = mapped_column(String(20))  # basis points as the store stated it: "1900", "887.5"
    fulfilment: Mapped[str] = mapped_column(String(20), default="take_now")
    source_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    collect_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    ship_to: Mapped[dict | None] = mapped_column(db.JSON)
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservation.id", ondelete="SET NULL"))  # endless aisle
    returned_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class Payment(db.Model):
    """One tender of an order.  Cash is ``succeeded`` at once (``tendered`` and ``change`` recorded, ``amount`` is what
    it paid: tendered less change).  A card or QR payment starts ``pending`` with its gateway's ids and becomes
    ``succeeded`` or ``failed`` on the gateway's confirmation.  Only the gateway's ids and the card's brand and last
    4 digits are kept, never card data.  ``refunded_amount`` grows with refunds and never passes ``amount``."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("kind in ('cash', 'card', 'qr')", name="kind"),
        CheckConstraint("status in ('pending', 'succeeded', 'failed', 'cancelled')", name="status"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refunded_within_amount"),
        Index("ix_payment_card_last4", "card_last4"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "pay_…"
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    tendered: Mapped[int | None]  # cash handed over
    change: Mapped[int | None]  # cash given back
    gateway: Mapped[str] = mapped_column(String(20), default="")  # "development", "stripe"
    gateway_payment_id: Mapped[str | None] = mapped_column(String(255), unique=True)  # a PaymentIntent id
    gateway_reference: Mapped[str] = mapped_column(String(255), default="")  # a reader id, a Checkout Session id
    payment_url: Mapped[str] = mapped_column(String(2000), default="")  # where the customer pays (pay by QR)
    card_brand: Mapped[str] = mapped_column(String(40), default="")
    card_last4: Mapped[str] = mapped_column(String(4), default="")
    failure_reason: Mapped[str] = mapped_column(String(500), default="")
    refunded_amount: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="payments")

    def money(self, amount: int | None) -> Money | None:
        return None if amount is None else Money(amount, self.currency)
