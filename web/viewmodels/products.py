"""Products as the faces show them: search cards, price labels, the variant picker, product pages."""

from __future__ import annotations

import re

from core.errors import NotFound
from inventory import find_variant_by_barcode, find_variant_by_sku, get_product, stock_by_location

from .descriptions import clean_description
from .images import gallery, gallery_for, image_src, variant_image_index
from .stock import product_stock_here, tablet_badge, tablet_stock

PAGE_SIZE = 24


def exact_variant(query: str):
    """The variant whose barcode or SKU is exactly ``query`` (what a scanner types), or None."""
    compact = re.sub(r"[\s-]", "", query)
    if compact.isdigit() and 8 <= len(compact) <= 14:
        variant = find_variant_by_barcode(compact)
        if variant is not None:
            return variant
    return find_variant_by_sku(query) or (find_variant_by_sku(query.upper()) if query.upper() != query else None)


def price_label(variants) -> str:
    """'€129.00', or 'from €99.00' when the variants differ in price."""
    prices = sorted((v.price for v in variants), key=lambda money: money.amount)
    if not prices:
        return ""
    if prices[0].amount == prices[-1].amount or len({p.currency for p in prices}) > 1:
        return prices[0].format()
    return "from " + prices[0].format()


def product_cards(products, store, badge=tablet_badge) -> list[dict]:
    """Search and category cards with the stock at ``store`` as ``badge(total, low, store)`` words
    (the tablet's by default; the kiosk passes its own)."""
    variant_ids = [v.id for p in products for v in p.variants]
    stock = stock_by_location(variant_ids, location_ids=[store.id] if store else [])  # this store's rows only
    cards = []
    for product in products:
        total, low = product_stock_here(product.variants, stock, store.id if store else None)
        image = product.images[0] if product.images else None
        cards.append(
            {
                "handle": product.handle,
                "title": product.title,
                "vendor": product.vendor,
                "image": image_src(image.url) if image else None,
                "image_alt": (image.alt if image else "") or product.title,
                "price": price_label(product.variants),
                "badge": badge(total, low, store),
            }
        )
    return cards


# --- options and the variant picker ----------------------------------------------------------


def option_names(variants) -> list[str]:
    """Option names in the order they first appear (size before colour when listed so)."""
    names: list[str] = []
    for variant in variants:
        for name in variant.options or {}:
            if name not in names:
                names.append(name)
    return names


def option_values(variants, names) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {name: [] for name in names}
    for variant in variants:
        for name in names:
            value = (variant.options or {}).get(name)
            if value is not None and value not in values[name]:
                values[name].append(value)
    return values


def pick_variant(variants, current, name: str, value: str):
    """The variant to show when ``name`` is set to ``value`` from ``current``: the exact
    combination if it exists, else the one with that value sharing most other options.
    (``static/shared/variant-picker.js`` does the same in the browser.)"""
    best, best_score = None, -1
    for variant in variants:
        options = variant.options or {}
        if options.get(name) != value:
            continue
        score = sum(1 for key, other in (current.options or {}).items() if key != name and options.get(key) == other)
        if score > best_score:
            best, best_score = variant, score
    return best or current


def option_label(name: str) -> str:
    return {"color": "Colour", "colour": "Colour"}.get(name.lower(), name.replace("_", " ").capitalize())


def picker_view(product, selected) -> list[dict]:
    """Option groups with, for each value, the SKU a tap leads to (links work without JS); an
    option with a single value is ``fixed`` (nothing to choose)."""
    names = option_names(product.variants)
    groups = []
    for name, values in option_values(product.variants, names).items():
        if len(values) < 2:  # nothing to choose: shown as a plain fact ("Size: One size")
            groups.append({"name": name, "label": option_label(name), "fixed": values[0] if values else "", "buttons": []})
            continue
        buttons = []
        for value in values:
            target = pick_variant(product.variants, selected, name, value)
            buttons.append({"value": value, "sku": target.sku, "selected": (selected.options or {}).get(name) == value})
        groups.append({"name": name, "label": option_label(name), "fixed": None, "buttons": buttons})
    return groups


# --- product pages -----------------------------------------------------------------------------


def variant_views(product, stock: dict[int, list[dict]], store, stock_view=tablet_stock) -> list[dict]:
    """One view per variant: ids, prices, its picture (``image``: an index into the gallery) and
    its stock as ``stock_view(rows, store)`` (the tablet's numbers by default)."""
    views = []
    for variant in product.variants:
        compare = variant.compare_at_price
        views.append(
            {
                "id": variant.id,
                "sku": variant.sku,
                "title": variant.title,
                "options": dict(variant.options or {}),
                "price": variant.price.format(),
                "compare_at": compare.format() if compare is not None and compare.amount > variant.price_amount else None,
                "barcodes": [barcode.code for barcode in variant.barcodes],
                "image": variant_image_index(product.images, variant),
                "stock": stock_view(stock.get(variant.id, []), store),
            }
        )
    return views


def product_page(handle: str, store, sku: str | None = None, stock_view=tablet_stock, active_only: bool = False) -> dict:
    """What every product page renders: the product, its cleaned description, its pictures (the
    selected variant's first), a view per variant, the selected one, the option picker and the
    picker's data for the browser.  NotFound when there is no such product (or, with
    ``active_only``, no such active product) or it has no variants."""
    product = get_product(handle)
    if active_only and product.status != "active":
        raise NotFound(f"no product with handle {handle!r}")
    if not product.variants:
        raise NotFound(f"{product.title} has no variants to show")
    stock = stock_by_location([v.id for v in product.variants])
    views = variant_views(product, stock, store, stock_view)
    selected_variant = next((v for v in product.variants if v.sku == sku), product.variants[0])
    selected = next(view for view in views if view["sku"] == selected_variant.sku)
    return {
        "product": product,
        "description": clean_description(product.description),
        "images": gallery_for(gallery(product), selected["image"]),
        "variants": views,
        "selected": selected,
        "picker": picker_view(product, selected_variant),
        "picker_data": {
            "variants": [
                {"sku": v["sku"], "options": v["options"], "stock": v["stock"]["state"], "hint": v["stock"]["hint"], "image": v["image"]}
                for v in views
            ],
        },
    }
