"""Catalogue, locations, stock, ledger, reservations and transfers."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core import clock
from core.actor import Actor, stored_actor
from core.db import UTCDateTime, db
from core.money import Money

PRODUCT_STATUSES = ("active", "draft", "archived")
LOCATION_KINDS = ("store", "warehouse")
MOVEMENT_KINDS = ("receive", "sale", "return", "adjustment", "transfer_out", "transfer_in", "count")
RESERVATION_KINDS = ("online_order", "pickup", "appointment_hold", "cart_hold")
RESERVATION_STATUSES = ("held", "committed", "released", "expired")


class Category(db.Model):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)


class Product(db.Model):
    __tablename__ = "product"
    __table_args__ = (CheckConstraint("status in ('active', 'draft', 'archived')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str] = mapped_column(String(255), default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    tags: Mapped[list] = mapped_column(db.JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")
    # lower-cased title, vendor, category, tags and option values: what a free-text search matches
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    category: Mapped[Category | None] = relationship(lazy="joined")
    variants: Mapped[list[Variant]] = relationship(back_populates="product", order_by="Variant.position", cascade="all, delete-orphan")
    images: Mapped[list[ProductImage]] = relationship(order_by="ProductImage.position", cascade="all, delete-orphan")


class ProductImage(db.Model):
    __tablename__ = "product_image"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    alt: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)


class Variant(db.Model):
    __tablename__ = "variant"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("compare_at_amount IS NULL OR compare_at_amount >= 0", name="compare_at_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100), unique=True)
    # made up by Shelfside (the import brought none); the first real SKU for the variant replaces it
    sku_generated: Mapped[bool] = mapped_column(default=False, server_default=false())
    title: Mapped[str] = mapped_column(String(500), default="")
    options: Mapped[dict] = mapped_column(db.JSON, default=dict)
    price_amount: Mapped[int]
    compare_at_amount: Mapped[int | None]
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(default=0)
    # which of a store's tax rates applies (pos.StoreSettings.tax_rates): "standard", "reduced", "zero"...
    tax_class: Mapped[str] = mapped_column(String(40), default="standard", server_default="standard")

    product: Mapped[Product] = relationship(back_populates="variants")
    barcodes: Mapped[list[Barcode]] = relationship(order_by="Barcode.id", cascade="all, delete-orphan")

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)

    @property
    def compare_at_price(self) -> Money | None:
        return None if self.compare_at_amount is None else Money(self.compare_at_amount, self.currency)


class Barcode(db.Model):
    __tablename__ = "barcode"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(14), unique=True)
    symbology: Mapped[str] = mapped_column(String(10))  # ean13 | upca


class Location(db.Model):
    __tablename__ = "location"
    __table_args__ = (CheckConstraint("kind in ('store', 'warehouse')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="store")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    address: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)


class ShelfPosition(db.Model):
    """Where a variant sits in a store: zone / aisle / bay."""

    __tablename__ = "shelf_position"
    __table_args__ = (UniqueConstraint("location_id", "variant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"), index=True)
    zone: Mapped[str] = mapped_column(String(60))
    aisle: Mapped[str] = mapped_column(String(20), default="")
    bay: Mapped[str] = mapped_column(String(20), default="")

    @property
    def label(self) -> str:
        parts = [self.zone]
        if self.aisle:
            parts.append(f"aisle {self.aisle}")
        if self.bay:
            parts.append(f"bay {self.bay}")
        return " · ".join(parts)


class StockLevel(db.Model):
    """On hand and reserved units of one variant at one location; written only by ``inventory.stock``."""

    __tablename__ = "stock_level"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_level_location_variant", "location_id", "variant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    low_stock_threshold: Mapped[int] = mapped_column(default=2)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(db.Model):
    """One line of the append-only ledger. ``quantity`` is the signed change of on hand."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        CheckConstraint("kind in ('receive', 'sale', 'return', 'adjustment', 'transfer_out', 'transfer_in', 'count')", name="kind"),
        Index("ix_stock_movement_stock_level", "stock_level_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_level.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    on_hand_after: Mapped[int]
    counted: Mapped[int | None]  # for counts: what was counted (quantity is the variance)
    reason: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")  # core.actor.Actor, stored as a reference
    actor_id: Mapped[int | None]
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)

    stock_level: Mapped[StockLevel] = relationship()

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class Reservation(db.Model):
    __tablename__ = "reservation"
    __table_args__ = (
        CheckConstraint("status in ('held', 'committed', 'released', 'expired')", name="status"),
        CheckConstraint("kind in ('online_order', 'pickup', 'appointment_hold', 'cart_hold')", name="kind"),
        Index("ix_reservation_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    kind: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(200), default="", index=True)
    status: Mapped[str] = mapped_column(String(20), default="held")
    expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(String(20), default="system")  # who made the hold (core.actor.Actor)
    actor_id: Mapped[int | None]

    location: Mapped[Location] = relationship(lazy="joined")
    lines: Mapped[list[ReservationLine]] = relationship(order_by="ReservationLine.id", cascade="all, delete-orphan")

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


class ReservationLine(db.Model):
    __tablename__ = "reservation_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservation.id", ondelete="CASCADE"), index=True)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_level.id"), index=True)
    quantity: Mapped[int]

    stock_level: Mapped[StockLevel] = relationship(lazy="joined")


class Transfer(db.Model):
    __tablename__ = "transfer"
    __table_args__ = (CheckConstraint("status in ('in_transit', 'received')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    destination_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    status: Mapped[str] = mapped_column(String(20), default="in_transit")
    reference: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)
    received_at: Mapped[object | None] = mapped_column(UTCDateTime)

    source: Mapped[Location] = relationship(foreign_keys=[source_id], lazy="joined")
    destination: Mapped[Location] = relationship(foreign_keys=[destination_id], lazy="joined")
    lines: Mapped[list[TransferLine]] = relationship(order_by="TransferLine.id", cascade="all, delete-orphan")


class TransferLine(db.Model):
    __tablename__ = "transfer_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfer.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variant.id"))
    quantity: Mapped[int]
    received_quantity: Mapped[int | None]

    variant: Mapped[Variant] = relationship(lazy="joined")
