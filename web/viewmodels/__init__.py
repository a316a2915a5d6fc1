"""View models shared by every face (tablet, kiosk, and the screens to come).

Plain functions from domain objects to dicts of strings and numbers, so that templates hold no
business rule.  The one availability rule (in stock / low / out) is ``stock.stock_state``; each
face only chooses its words for those three states.
"""

from .descriptions import clean_description
from .images import gallery, image_src, variant_image_index
from .products import (
    PAGE_SIZE,
    exact_variant,
    option_label,
    option_names,
    option_values,
    pick_variant,
    picker_view,
    price_label,
    product_cards,
    product_page,
    variant_views,
)
from .stock import (
    kiosk_badge,
    kiosk_stock,
    product_stock_here,
    split_stock,
    stock_state,
    tablet_badge,
    tablet_stock,
)

__all__ = [
    "clean_description",
    "gallery",
    "image_src",
    "variant_image_index",
    "PAGE_SIZE",
    "exact_variant",
    "option_label",
    "option_names",
    "option_values",
    "pick_variant",
    "picker_view",
    "price_label",
    "product_cards",
    "product_page",
    "variant_views",
    "kiosk_badge",
    "kiosk_stock",
    "product_stock_here",
    "split_stock",
    "stock_state",
    "tablet_badge",
    "tablet_stock",
]
