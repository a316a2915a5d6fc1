"""Store checkout settings, carts and their lines (written only by ``pos.settings`` and ``pos.carts``)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.db import UTCDateTime, db
from core.money import Money
from inventory import Location

from .shift_models import Register

CART_STATUSES = ("open", "awaiting_payment", "checked_out", "abandoned")
FULFILMENTS = ("take_now", "ship", "collect")


class StoreSettings(db.Model):
    """How a store sells: its currency, its tax (inclusive VAT or exclusive sales tax, a rate per tax class in
    basis points), what a discount may take before a manager approves it, the refund a manager must approve,
    and how long a cart holds its units.  A store without a row sells under ``pos.settings.DEFAULTS``."""

    __tablename__ = "store_settings"
    __table_args__ = (
        CheckConstraint("tax_mode in ('inclusive', 'exclusive')", name="tax_mode"),
        CheckConstraint(
            "discount_approval_percent IS NULL OR (discount_approval_percent >= 0 AND discount_approval_percent <= 100)", name="approval_percent"
        ),
        CheckConstraint("refund_approval_amount IS NULL OR refund_approval_amount >= 0", name="refund_approval_not_negative"),
        CheckConstraint("cart_hold_minutes >= 1", name="cart_hold_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), unique=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    tax_mode: Mapped[str] = mapped_column(String(20), default="inclusive")
    tax_rates: Mapped[dict] = mapped_column(db.JSON, default=dict)  # {"standard": 1900, "reduced": 700}
    discount_approval_percent: Mapped[int | None] = mapped_column(default=20)  # above this, a manager approves
    refund_approval_amount: Mapped[int | None] = mapped_column(default=20000)  # minor units; above, a manager approves
    cart_hold_minutes: Mapped[int] = mapped_column(default=30)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    location: Mapped[Location] = relationship(lazy="joined")

    @property
    def store_tax(self) -> dict:
        """The setting as ``pos.price_cart`` takes it."""
        return {"mode": self.tax_mode, "rates": dict(self.tax_rates)}


class Cart(db.Model):
    """A basket being sold on a tablet at a store's register.  ``open`` while the associate scans; ``awaiting_payment``
    once checkout waits for a card or a QR payment; ``checked_out`` when its order completed; ``abandoned`` when it
    was given up (its holds released)."""

    __tablename__ = "cart"
    __table_args__ = (
        CheckConstraint("status in ('open', 'awaiting_payment', 'checked_out', 'abandoned')", name="status"),
        Index("ix_cart_location_status", "location_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)  # "crt_…"
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    register_id: Mapped[int] = mapped_column(ForeignKey("register.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)  # the associate selling
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    currency: Mapped[str] = mapped_column(String(3))
    basket_discount: Mapped[dict | None] = mapped_column(db.JSON)  # {"percent": 10} or {"amount": 500}
    basket_discount_approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    promo_code_id: Mapped[int | None] = mapped_column(ForeignKey("promo_code.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    location: Mapped[Location] = relationship(lazy="joined")
    register: Mapped[Register] = relationship(lazy="joined")
    lines: Mapped[list[CartLine]] = relationship(order_by="CartLine.id", cascade="all, delete-orphan", back_populates="cart")


class CartLine(db.Model):
    """One product in a cart.  ``unit_price`` is what it sells for (the list price when it was added, or a manager's
    override); ``reservation_id`` is the cart hold on its units (None when the store's records had none to hold:
    a take-now item the tablet explains, or a line fulfilled elsewhere).  ``fulfilment``: ``take_now`` (the customer
    leaves with it), ``ship`` (from ``source_location_id`` to ``ship_to``) or ``collect`` (at ``collect_location_id``)."""

    __tablename__ = "cart_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("unit_price >= 0 AND list_price >= 0", name="prices_not_negative"),
        CheckConstraint("fulfilment in ('take_now', 'ship', 'collect')", name="fulfilment"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    sku: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500), default="")
    quantity: Mapped[int]
    list_price: Mapped[int]
    unit_price: Mapped[int]
    tax_class: Mapped[str] = mapped_column(String(40), default="standard")
    discount: Mapped[dict | None] = mapped_column(db.JSON)  # {"percent": 10} or {"amount": 500}
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))  # discount or override
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservation.id", ondelete="SET NULL"))
    fulfilment: Mapped[str] = mapped_column(String(20), default="take_now")
    source_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    collect_location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    ship_to: Mapped[dict | None] = mapped_column(db.JSON)  # {"name", "line1", "city", "postal_code", "country"}
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    cart: Mapped[Cart] = relationship(back_populates="lines")

    def money(self, amount: int) -> Money:
        return Money(amount, self.cart.currency)
