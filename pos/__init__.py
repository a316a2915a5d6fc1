"""Checkout at the shelf: the public face other packages may call."""

# --- pricing and promotions ---
from .pricing import (
    CASH_ROUNDING,
    TAX_MODES,
    CartTotals,
    LineInput,
    LineTotals,
    TenderShort,
    allocate,
    cash_change,
    cash_step,
    divide_half_up,
    needs_approval,
    override_needs_approval,
    price_cart,
    round_cash,
)
from .promotions import PromoUsedUp, create_promo, find_promo, normalise_promo_code, redeem_promo
from .promotions_models import PROMO_KINDS, PromoCode

__all__ = [
    # --- pricing and promotions ---
    "CASH_ROUNDING",
    "TAX_MODES",
    "CartTotals",
    "LineInput",
    "LineTotals",
    "TenderShort",
    "allocate",
    "cash_change",
    "cash_step",
    "divide_half_up",
    "needs_approval",
    "override_needs_approval",
    "price_cart",
    "round_cash",
    "PromoUsedUp",
    "create_promo",
    "find_promo",
    "normalise_promo_code",
    "redeem_promo",
    "PROMO_KINDS",
    "PromoCode",
]
