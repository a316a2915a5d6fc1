"""Recommendations an associate can explain to the customer standing in front of them.

Two sources, in this order:

1. What the customer showed interest in online — viewed, put on their wishlist, left in a cart —
   that is in stock at this store in their size (only with a granted ``personalisation`` consent),
   ranked by recency and frequency.
2. What other customers often bought together with what this customer bought before (online
   orders with consent, purchases in store always), in stock here in their size.

Each answer says why, in words: "viewed online 3 times this week; 2 in stock here in M, Outerwear,
aisle 4".  Stock and shelf positions are read through the inventory's public functions.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased, selectinload

import inventory
from core import clock
from core.db import db
from inventory import Product, Variant

from .customers import has_consent
from .events import PurchasedItem
from .models import Customer, CustomerEvent
from .timeline import ONLINE_CHANNELS

INTEREST_TYPES = ("product_viewed", "wishlist_added", "wishlist_removed", "cart_updated", "cart_abandoned")
BOUGHT_TYPES = ("order_placed", "purchase_in_store")
INTEREST_WINDOW = timedelta(days=90)
MAX_INTEREST_EVENTS = 2000
HALF_LIFE_DAYS = 7.0
WEIGHTS = {"view": 1.0, "wishlist": 3.0, "cart": 4.0}
MIN_TOGETHER = 2  # "often": at least two orders that held both
# what a size kept under a general key fits: {"tops": "M"} applies to jackets and t-shirts
SIZE_GROUPS = {
    "tops": ("jacket", "fleece", "base layer", "t-shirt", "shirt", "hoodie", "sweater", "top", "coat", "vest"),
    "bottoms": ("short", "legging", "trouser", "pant", "bottom", "skirt", "tights"),
    "shoes": ("shoe", "boot", "sneaker", "trainer", "sandal"),
    "socks": ("sock",),
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _size_key(size: str) -> str:
    """A size as compared: case, spaces and an "EU"/"UK"/"US" prefix left out ("EU 42" == "42")."""
    text = _fold(size).replace(" ", "")
    for prefix in ("eu", "uk", "us"):
        if text.startswith(prefix) and text[len(prefix) :][:1].isdigit():
            return text[len(prefix) :]
    return text


def customer_size_for(customer: Customer, product: Product) -> str | None:
    """The customer's size for this product's category: a size kept under the category's own name
    (or slug), else under a general key that covers it ("tops" for jackets); None when unknown."""
    sizes = {_fold(str(key)): str(value) for key, value in (customer.sizes or {}).items() if str(value).strip()}
    if not sizes or product.category is None:
        return None
    name, slug = _fold(product.category.name), _fold(product.category.slug)
    for key in (name, slug, name.rstrip("s")):
        if key in sizes:
            return sizes[key]
    for key, words in SIZE_GROUPS.items():
        if key in sizes and any(word in name for word in words):
            return sizes[key]
    return None


def variant_size(variant: Variant) -> str | None:
    options = variant.options or {}
    for key in ("size", "Size", "SIZE"):
        if options.get(key):
            return str(options[key])
    return None


def shelf_text(shelf) -> str | None:
    """ "Outerwear, aisle 4, bay 2" for a shelf position; None when the store has not placed it."""
    if shelf is None:
        return None
    parts = [shelf.zone] if shelf.zone else []
    if shelf.aisle:
        parts.append(f"aisle {shelf.aisle}")
    if shelf.bay:
        parts.append(f"bay {shelf.bay}")
    return ", ".join(parts) or None


def _day(at: datetime) -> str:
    return f"{at.day} {at:%b}"


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"


@dataclass
class _Interest:
    product_id: int
    sku: str  # the SKU the customer looked at (a variant of the product)
    views: list = field(default_factory=list)
    wishlist_since: datetime | None = None
    cart_at: datetime | None = None
    last_at: datetime | None = None
    score: float = 0.0

    def reason(self, now: datetime) -> str:
        parts = []
        if self.views:
            this_week = [at for at in self.views if now - at <= timedelta(days=7)]
            if len(this_week) == len(self.views):
                parts.append(f"viewed online {_times(len(self.views))} this week")
            else:
                parts.append(f"viewed online {_times(len(self.views))} since {_day(min(self.views))}")
        if self.wishlist_since:
            parts.append(f"on their wishlist since {_day(self.wishlist_since)}")
        if self.cart_at:
            parts.append(f"left in their online cart on {_day(self.cart_at)}")
        return "; ".join(parts)


def _decay(now: datetime, at: datetime) -> float:
    age_days = max((now - at).total_seconds(), 0) / 86400
    return math.pow(0.5, age_days / HALF_LIFE_DAYS)


def _online_interest(customer: Customer, now: datetime) -> list[_Interest]:
    """Products the customer viewed, wishlisted (and kept there) or left in a cart online in the
    last 90 days and has not bought since, by score (recency-weighted frequency)."""
    rows = db.session.execute(
        select(CustomerEvent.type, CustomerEvent.occurred_at, CustomerEvent.sku, CustomerEvent.data, CustomerEvent.id)
        .where(
            CustomerEvent.customer_id == customer.id,
            CustomerEvent.type.in_(INTEREST_TYPES + BOUGHT_TYPES),
            CustomerEvent.occurred_at >= now - INTEREST_WINDOW,
            CustomerEvent.occurred_at <= now,
        )
        .order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc())
        .limit(MAX_INTEREST_EVENTS)
    ).all()
    rows.reverse()  # oldest first: the wishlist and carts are states built up in order
    skus = set()
    for type, _, sku, data, _ in rows:
        if sku:
            skus.add(sku)
        for line in (data or {}).get("lines", ()) if type in ("cart_updated", *BOUGHT_TYPES) else ():
            if isinstance(line, dict) and line.get("sku"):
                skus.add(line["sku"])
    product_of = dict(db.session.execute(select(Variant.sku, Variant.product_id).where(Variant.sku.in_(skus))).all()) if skus else {}
    interests: dict[int, _Interest] = {}
    carts: dict[str, tuple[datetime, list[str]]] = {}
    bought_at: dict[int, datetime] = {}

    def interest(sku: str) -> _Interest | None:
        product_id = product_of.get(sku)
        if product_id is None:
            return None
        return interests.setdefault(product_id, _Interest(product_id, sku))

    for type, at, sku, data, _ in rows:
        data = data or {}
        if type == "product_viewed" and sku:
            item = interest(sku)
            if item:
                item.views.append(at)
                item.sku, item.last_at = sku, at
        elif type == "wishlist_added" and sku:
            item = interest(sku)
            if item:
                item.wishlist_since = item.wishlist_since or at
                item.sku, item.last_at = sku, at
        elif type == "wishlist_removed" and sku and product_of.get(sku) in interests:
            interests[product_of[sku]].wishlist_since = None
        elif type == "cart_updated":
            carts[str(data.get("cart_id"))] = (at, [line["sku"] for line in data.get("lines", ()) if line.get("quantity", 1) > 0])
        elif type in BOUGHT_TYPES:
            for line in data.get("lines", ()):
                if product_of.get(line.get("sku")) is not None:
                    bought_at[product_of[line["sku"]]] = at
    for at, cart_skus in carts.values():
        for sku in cart_skus:
            item = interest(sku)
            if item:
                item.cart_at = max(item.cart_at or at, at)
                item.last_at = max(item.last_at or at, at)
                if not item.views and not item.wishlist_since:
                    item.sku = sku
    answer = []
    for item in interests.values():
        bought = bought_at.get(item.product_id)
        if bought is not None:  # bought after the interest: nothing to recommend
            if item.cart_at and item.cart_at <= bought:
                item.cart_at = None
            if item.wishlist_since and item.wishlist_since <= bought:
                item.wishlist_since = None
            item.views = [at for at in item.views if at > bought]
        item.score = (
            sum(WEIGHTS["view"] * _decay(now, at) for at in item.views)
            + (WEIGHTS["wishlist"] * max(_decay(now, item.wishlist_since), 0.25) if item.wishlist_since else 0)
            + (WEIGHTS["cart"] * _decay(now, item.cart_at) if item.cart_at else 0)
        )
        if item.score > 0:
            answer.append(item)
    answer.sort(key=lambda item: (-item.score, -(item.last_at.timestamp() if item.last_at else 0)))
    return answer


def _bought_together(customer: Customer, online_allowed: bool, exclude: set[int]) -> list[tuple[int, int, int, datetime]]:
    """(other product, their product, orders with both, when they bought theirs): products often
    bought together with what the customer bought before, across every customer's purchases, most
    often first."""
    mine_query = (
        select(PurchasedItem.product_id, func.max(CustomerEvent.occurred_at))
        .join(CustomerEvent, CustomerEvent.id == PurchasedItem.event_id)
        .where(CustomerEvent.customer_id == customer.id, CustomerEvent.type.in_(BOUGHT_TYPES), PurchasedItem.product_id.is_not(None))
        .group_by(PurchasedItem.product_id)
    )
    if not online_allowed:
        mine_query = mine_query.where(CustomerEvent.channel.not_in(ONLINE_CHANNELS))
    mine = dict(db.session.execute(mine_query).all())
    if not mine:
        return []
    theirs, other = aliased(PurchasedItem), aliased(PurchasedItem)
    pairs = db.session.execute(
        select(other.product_id, theirs.product_id, func.count(func.distinct(other.event_id)).label("orders"))
        .join(theirs, and_(theirs.event_id == other.event_id, theirs.product_id != other.product_id))
        .where(theirs.product_id.in_(list(mine)), other.product_id.is_not(None), other.product_id.not_in(list(mine) + list(exclude)))
        .group_by(other.product_id, theirs.product_id)
        .having(func.count(func.distinct(other.event_id)) >= MIN_TOGETHER)
        .order_by(func.count(func.distinct(other.event_id)).desc(), other.product_id)
        .limit(200)
    ).all()
    best: dict[int, tuple[int, int, int, datetime]] = {}
    for other_id, their_id, orders in pairs:
        current = best.get(other_id)
        if current is None or (orders, mine[their_id]) > (current[2], current[3]):
            best[other_id] = (other_id, their_id, orders, mine[their_id])
    return sorted(best.values(), key=lambda row: (-row[2], -row[3].timestamp(), row[0]))


def _pick_variant(customer: Customer, product: Product, stock: dict[int, dict], preferred_sku: str | None):
    """The variant to offer: in stock here (available > 0) in the customer's size for the
    product's category (any size when none is known), the one they looked at first, else the one
    with most units.  Answers (variant, stock row) or None."""
    wanted = customer_size_for(customer, product)
    candidates = []
    for variant in product.variants:
        row = stock.get(variant.id)
        if row is None or row["available"] <= 0:
            continue
        size = variant_size(variant)
        if wanted is not None and (size is None or _size_key(size) != _size_key(wanted)):
            continue
        candidates.append((variant.sku != preferred_sku, -row["available"], variant.position, variant, row))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[:3])
    return candidates[0][3], candidates[0][4]


def _stock_here(variant_ids: list[int], store) -> dict[int, dict]:
    rows = inventory.stock_by_location(variant_ids, [store.id])
    return {variant_id: locations[0] for variant_id, locations in rows.items() if locations}


def _in_stock_text(variant: Variant, row: dict) -> str:
    size = variant_size(variant)
    text = f"{row['available']} in stock here" + (f" in {size}" if size else "")
    shelf = shelf_text(row["shelf"])
    return text + (f", {shelf}" if shelf else "")


def _month(at: datetime, now: datetime) -> str:
    return f"in {at:%B}" + (f" {at.year}" if at.year != now.year else "")


def recommend(customer: Customer, store_code: str, limit: int = 8, now: datetime | None = None) -> list[dict]:
    """Up to ``limit`` products to show ``customer`` at store ``store_code``, each in stock there in
    their size: ``{sku, title, product_handle, size, options, available_here, shelf, score, reason,
    source}``.  First what they showed interest in online (only with their personalisation
    consent), by recency and frequency; then what others often bought with what they bought.
    Read-only.  Raises ValidationError for an unknown store."""
    store = inventory.get_location(store_code, kinds=("store",))
    now = now or clock.now()
    online_allowed = has_consent(customer, "personalisation")
    interests = _online_interest(customer, now) if online_allowed else []
    together = _bought_together(customer, online_allowed, {item.product_id for item in interests})
    product_ids = [item.product_id for item in interests] + [row[0] for row in together] + [row[1] for row in together]
    if not product_ids:
        return []
    products = {
        product.id: product
        for product in db.session.scalars(
            select(Product).where(Product.id.in_(set(product_ids)), Product.status == "active").options(selectinload(Product.variants))
        )
    }
    variant_ids = [variant.id for item_id in product_ids if item_id in products for variant in products[item_id].variants]
    stock = _stock_here(variant_ids, store)
    answer: list[dict] = []

    def offer(product: Product, variant: Variant, row: dict, score: float, reason: str, source: str) -> None:
        answer.append(
            {
                "sku": variant.sku,
                "title": product.title,
                "product_handle": product.handle,
                "size": variant_size(variant),
                "options": dict(variant.options or {}),
                "available_here": row["available"],
                "shelf": shelf_text(row["shelf"]),
                "score": round(score, 3),
                "reason": reason,
                "source": source,
            }
        )

    for item in interests:
        if len(answer) >= limit:
            return answer
        product = products.get(item.product_id)
        picked = product and _pick_variant(customer, product, stock, item.sku)
        if picked:
            offer(product, *picked, item.score, f"{item.reason(now)}; {_in_stock_text(*picked)}", "online_interest")
    for other_id, their_id, orders, bought_at in together:
        if len(answer) >= limit:
            break
        product, theirs = products.get(other_id), products.get(their_id)
        picked = product and theirs and _pick_variant(customer, product, stock, None)
        if picked:
            reason = f"often bought with the {theirs.title} they bought {_month(bought_at, now)}; {_in_stock_text(*picked)}"
            offer(product, *picked, float(orders), reason, "bought_together")
    return answer
