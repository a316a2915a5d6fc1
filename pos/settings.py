"""How each store sells: currency, tax, approval thresholds, cart holds (``StoreSettings``)."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.errors import ValidationError
from core.money import Money
from inventory import get_location

from .cart_models import StoreSettings
from .pricing import TAX_MODES, price_cart

# a store with no settings of its own: German VAT, prices include tax
DEFAULTS = {
    "currency": "EUR",
    "tax_mode": "inclusive",
    "tax_rates": {"standard": 1900, "reduced": 700, "zero": 0},
    "discount_approval_percent": 20,
    "refund_approval_amount": 20000,
    "cart_hold_minutes": 30,
}


def store_settings(store_code: str) -> StoreSettings:
    """The store's settings; for a store without its own row, an unsaved one with ``DEFAULTS``.
    ValidationError naming ``store`` for an unknown store."""
    return settings_of(get_location(store_code))


def settings_of(location) -> StoreSettings:
    """The settings of ``location`` (a Location already at hand): its own row, else an unsaved one with ``DEFAULTS``."""
    found = db_settings(location.id)
    if found is not None:
        return found
    return StoreSettings(location_id=location.id, location=location, **{**DEFAULTS, "tax_rates": dict(DEFAULTS["tax_rates"])})


def db_settings(location_id: int) -> StoreSettings | None:
    return db.session.scalar(select(StoreSettings).where(StoreSettings.location_id == location_id))


def configure_store(store_code: str, **values) -> StoreSettings:
    """Create or change a store's settings (only the values given change).  Validates the tax setting the way
    pricing reads it and the thresholds; ValidationError naming the field."""
    location = get_location(store_code)
    settings = settings_of(location)
    if settings.id is None:  # the store sold under the defaults until now: they become its own row
        db.session.add(settings)
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise ValidationError(f"unknown setting {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        Money(0, settings.currency)
    except (TypeError, ValueError):
        raise ValidationError("the currency is a three-letter ISO 4217 code", field="currency") from None
    if settings.tax_mode not in TAX_MODES:
        raise ValidationError("the tax mode is inclusive or exclusive", field="tax_mode")
    price_cart([], settings.store_tax, currency=settings.currency)  # validates the rates
    percent = settings.discount_approval_percent
    if percent is not None and (not isinstance(percent, int) or not 0 <= percent <= 100):
        raise ValidationError("the approval threshold is a whole percent from 0 to 100", field="discount_approval_percent")
    refund = settings.refund_approval_amount
    if refund is not None and (not isinstance(refund, int) or refund < 0):
        raise ValidationError("the refund approval threshold is minor units, zero or more", field="refund_approval_amount")
    if not isinstance(settings.cart_hold_minutes, int) or not 1 <= settings.cart_hold_minutes <= 24 * 60:
        raise ValidationError("a cart holds its units for 1 to 1440 minutes", field="cart_hold_minutes")
    db.session.flush()
    return settings
