"""The associate tablet UI: product search, product page with live stock here / other stores / online.

Server-rendered, progressively enhanced (``static/tablet/*.js``).  The views build plain view
models (dicts of strings and numbers) so the templates stay free of business rules; the helpers
in the "shared with the kiosk" section are also used by ``web.kiosk``.
"""
from __future__ import annotations

import os
import re
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from core import clock
from core.errors import NotFound
from inventory import (
    find_variant_by_barcode,
    find_variant_by_sku,
    get_product,
    list_categories,
    list_locations,
    search_products,
    stock_by_location,
)

from accounts import ROLES
from .auth import require_role, safe_next
from .errors import ApiError

bp = Blueprint("tablet", __name__, url_prefix="/tablet")

PAGE_SIZE = 24


# --- shared with the kiosk ------------------------------------------------------------------

class _DescriptionCleaner(HTMLParser):
    """Keeps text and a small allow-list of formatting tags, without any attribute.

    Everything else is dropped: unknown tags lose their markup but keep their text, and the
    content of script-like elements is dropped entirely.  Text is always escaped.
    """

    KEEP = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "u", "blockquote", "h3", "h4", "h5", "h6"}
    RENAME = {"h1": "h3", "h2": "h3", "div": "p"}
    DROP_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math", "head", "title", "textarea", "select"}
    VOID = {"br"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def _tag(self, tag: str) -> str | None:
        tag = self.RENAME.get(tag, tag)
        return tag if tag in self.KEEP else None

    def handle_starttag(self, tag, attrs):
        if tag in self.DROP_CONTENT:
            self.dropping += 1
            return
        if self.dropping:
            return
        kept = self._tag(tag)
        if kept is None:
            return
        self.out.append(f"<{kept}>")
        if kept not in self.VOID:
            self.open.append(kept)

    def handle_startendtag(self, tag, attrs):
        if tag in self.DROP_CONTENT:
            return
        self.handle_starttag(tag, attrs)
        kept = self._tag(tag)
        if kept and kept not in self.VOID and self.open and self.open[-1] == kept:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in self.DROP_CONTENT:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        kept = self._tag(tag)
        if kept is None or kept in self.VOID or kept not in self.open:
            return
        while self.open:  # close whatever was left open inside it
            inner = self.open.pop()
            self.out.append(f"</{inner}>")
            if inner == kept:
                break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        self.open = []
        return "".join(self.out)


def clean_description(text: str | None) -> Markup:
    """A product description (Shopify-style HTML or plain text) as safe markup.

    Only a few formatting tags survive, with no attributes at all (no links, styles, handlers
    or images); plain text with blank lines becomes paragraphs.
    """
    text = (text or "").strip()
    if not text:
        return Markup("")
    if "<" not in text:
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        return Markup("".join("<p>" + escape(p, quote=False).replace("\n", "<br>") + "</p>" for p in paragraphs))
    cleaner = _DescriptionCleaner()
    cleaner.feed(text)
    return Markup(cleaner.result())


def image_src(url: str | None) -> str | None:
    """The URL to put in an <img>, or None when it is one of our static files that does not exist
    (the templates then draw a neutral placeholder; ``images.js`` also catches later failures)."""
    if not url:
        return None
    if url.startswith("/static/"):
        root = os.path.realpath(current_app.static_folder)
        path = os.path.realpath(os.path.join(root, url[len("/static/"):].split("?", 1)[0]))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return None
        return url
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    return None


def price_label(variants) -> str:
    """'€129.00', or 'from €99.00' when the variants differ in price."""
    prices = sorted((v.price for v in variants), key=lambda money: money.amount)
    if not prices:
        return ""
    if prices[0].amount == prices[-1].amount or len({p.currency for p in prices}) > 1:
        return prices[0].format()
    return "from " + prices[0].format()


def option_names(variants) -> list[str]:
    """Option names in the order they first appear (size before colour when listed so)."""
    names: list[str] = []
    for variant in variants:
        for name in (variant.options or {}):
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
    (``static/tablet/variant-picker.js`` does the same in the browser.)"""
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


def split_stock(rows: list[dict], store_id: int | None) -> tuple[dict | None, list[dict], list[dict]]:
    """(this store's row, other stores' rows, warehouse rows) from ``stock_by_location`` rows."""
    here = next((row for row in rows if row["location"].id == store_id), None)
    others = [row for row in rows if row["location"].kind == "store" and row["location"].id != store_id]
    warehouses = [row for row in rows if row["location"].kind == "warehouse"]
    return here, others, warehouses


def product_stock_here(variants, stock: dict[int, list[dict]], store_id: int | None) -> tuple[int, bool]:
    """(units available at the store over all variants, low?) — low when every variant that has
    stock is at or below its low-stock threshold."""
    total, all_low = 0, True
    for variant in variants:
        here, _, _ = split_stock(stock.get(variant.id, []), store_id)
        if here and here["available"] > 0:
            total += here["available"]
            all_low = all_low and here["low"]
    return total, total > 0 and all_low


# --- the current store ------------------------------------------------------------------------

def store_choices(staff) -> list:
    """The stores this staff member may work in: their own, or every store for an admin."""
    if staff.role == "admin":
        return list_locations(kinds=("store",))
    return [store for store in staff.stores if store.active and store.kind == "store"]


def current_store(staff, choices):
    """The store in ``session['store_id']`` when the staff member may see it, else their first."""
    wanted = session.get("store_id")
    store = next((s for s in choices if s.id == wanted), None)
    if store is None and choices:
        store = choices[0]
    new_id = store.id if store else None
    if session.get("store_id") != new_id:
        session["store_id"] = new_id
    return store


@bp.before_request
def load_store():
    if current_user.is_authenticated:
        g.stores = store_choices(current_user)
        g.store = current_store(current_user, g.stores)


@bp.context_processor
def tablet_context():
    return {"store": g.get("store"), "stores": g.get("stores", [])}


@bp.post("/store")
@require_role(*ROLES)
def switch_store():
    """Make another of the associate's stores the current one (CSRF-protected form)."""
    try:
        store_id = int(request.form.get("store_id", ""))
    except ValueError:
        raise ApiError(400, "invalid_request", "choose a store") from None
    store = next((s for s in g.stores if s.id == store_id), None)
    if store is None:
        raise ApiError(403, "forbidden", "you don't work at that store")
    session["store_id"] = store.id
    flash(f"You're now working at {store.name}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".home"))


# --- search -------------------------------------------------------------------------------------

def exact_variant(query: str):
    """The variant whose barcode or SKU is exactly ``query`` (what a scanner types), or None."""
    compact = re.sub(r"[\s-]", "", query)
    if compact.isdigit() and 8 <= len(compact) <= 14:
        variant = find_variant_by_barcode(compact)
        if variant is not None:
            return variant
    return find_variant_by_sku(query) or (find_variant_by_sku(query.upper()) if query.upper() != query else None)


def _availability_badge(total: int, low: bool, store) -> dict:
    if store is None:
        return {"label": "No store chosen", "kind": "none"}
    if total <= 0:
        return {"label": "None here", "kind": "none"}
    if low:
        return {"label": f"Low: {total} here", "kind": "low"}
    return {"label": f"{total} here", "kind": "ok"}


def product_cards(products, store, badge=_availability_badge) -> list[dict]:
    """Search and category cards with the stock at ``store`` as ``badge(total, low, store)`` words
    (the tablet's by default; the kiosk passes its own)."""
    variant_ids = [v.id for p in products for v in p.variants]
    stock = stock_by_location(variant_ids, location_ids=[store.id] if store else [])  # this store's rows only
    cards = []
    for product in products:
        total, low = product_stock_here(product.variants, stock, store.id if store else None)
        image = product.images[0] if product.images else None
        cards.append({
            "handle": product.handle,
            "title": product.title,
            "vendor": product.vendor,
            "image": image_src(image.url) if image else None,
            "image_alt": (image.alt if image else "") or product.title,
            "price": price_label(product.variants),
            "badge": badge(total, low, store),
        })
    return cards


@bp.get("/")
@require_role(*ROLES)
def home():
    """Product search.  A barcode or an exact SKU goes straight to its product page."""
    query = request.args.get("q", "").strip()[:200]
    category = request.args.get("category", "").strip() or None
    cursor = request.args.get("cursor") or None
    if query and not cursor:
        variant = exact_variant(query)
        if variant is not None:
            return redirect(url_for(".product", handle=variant.product.handle, sku=variant.sku))
    searched = bool(query or category)
    products, next_cursor = [], None
    if searched:
        products, next_cursor = search_products(query, cursor=cursor, limit=PAGE_SIZE, category=category)
    categories = list_categories() if (category or not products) else []  # chips to browse, or the filter's name
    category_name = next((c.name for c in categories if c.slug == category), None)
    return render_template(
        "tablet/search.html",
        query=query,
        category=category,
        category_name=category_name,
        cursor=cursor,
        searched=searched,
        cards=product_cards(products, g.store),
        next_cursor=next_cursor,
        categories=categories,
    )


# --- product page -----------------------------------------------------------------------------

def _local_time(timezone: str) -> str:
    try:
        return clock.now().astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    except (KeyError, ValueError):
        return ""


def _stock_view(rows: list[dict], store) -> dict:
    here, others, warehouses = split_stock(rows, store.id if store else None)
    return {
        "here": None if here is None else {
            "on_hand": here["on_hand"], "reserved": here["reserved"], "available": here["available"], "low": here["low"],
            "shelf": here["shelf"].label if here["shelf"] else None,
        },
        "others": [
            {
                "name": row["location"].name, "code": row["location"].code, "timezone": row["location"].timezone,
                "local_time": _local_time(row["location"].timezone), "available": row["available"], "low": row["low"],
            }
            for row in others
        ],
        "warehouses": [{"name": row["location"].name, "code": row["location"].code, "available": row["available"]} for row in warehouses],
    }


def variant_views(product, stock: dict[int, list[dict]], store, stock_view=_stock_view) -> list[dict]:
    views = []
    for variant in product.variants:
        compare = variant.compare_at_price
        views.append({
            "id": variant.id,
            "sku": variant.sku,
            "title": variant.title,
            "options": dict(variant.options or {}),
            "price": variant.price.format(),
            "compare_at": compare.format() if compare is not None and compare.amount > variant.price_amount else None,
            "barcodes": [barcode.code for barcode in variant.barcodes],
            "stock": stock_view(stock.get(variant.id, []), store),
        })
    return views


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


def load_product_page(handle: str, store, stock_view=_stock_view, active_only: bool = False):
    """(product, variant views, selected view, picker groups) for a product page; NotFound if absent."""
    product = get_product(handle)
    if active_only and product.status != "active":
        raise NotFound(f"no product with handle {handle!r}")
    if not product.variants:
        raise NotFound(f"{product.title} has no variants to show")
    stock = stock_by_location([v.id for v in product.variants])
    views = variant_views(product, stock, store, stock_view)
    sku = request.args.get("sku")
    selected_variant = next((v for v in product.variants if v.sku == sku), product.variants[0])
    selected = next(view for view in views if view["sku"] == selected_variant.sku)
    return product, views, selected, picker_view(product, selected_variant)


def product_page(handle: str, store, **options) -> dict:
    """What both product pages (tablet and kiosk) render: the product, its cleaned description, its
    pictures, a view per variant, the selected one and the option picker."""
    product, views, selected, picker = load_product_page(handle, store, **options)
    return {
        "product": product, "description": clean_description(product.description), "images": product_images(product),
        "variants": views, "selected": selected, "picker": picker,
    }


def product_images(product) -> list[dict]:
    images = [{"src": image_src(image.url), "alt": image.alt or product.title} for image in product.images]
    return images or [{"src": None, "alt": product.title}]


@bp.get("/products/<handle>")
@require_role(*ROLES)
def product(handle):
    page = product_page(handle, g.store)
    return render_template(
        "tablet/product.html",
        **page,
        picker_data={
            "variants": [
                {
                    "sku": v["sku"], "options": v["options"],
                    "stock": _hint_state(v["stock"]["here"]),
                    "hint": (f"{v['stock']['here']['available']} here" if v["stock"]["here"] else ""),
                }
                for v in page["variants"]
            ],
        },
        back=back_to_results(url_for(".home")),
    )


def back_to_results(home: str) -> str:
    """The search page the associate came from (same site only), else ``home``."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return home
    if referrer.path == home and referrer.query:
        return safe_next(referrer.path + "?" + referrer.query) or home
    return home


def _hint_state(here: dict | None) -> str:
    if not here or here["available"] <= 0:
        return "out"
    return "low" if here["low"] else "in"
