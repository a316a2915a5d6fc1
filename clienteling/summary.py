"""What the associate sees first on a customer's profile: what they looked at and kept online,
their open and abandoned carts, and what they spent online and in store.

Every figure is one aggregate query over the timeline (indexes ``(customer_id, type,
occurred_at)``), so a summary costs a handful of statements however long the timeline is.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import case, func, select

import inventory
from core import clock
from core.db import db
from core.money import Money

from .customers import has_consent
from .models import Customer, CustomerEvent
from .timeline import ONLINE_CHANNELS

RECENT_DAYS = 30  # "recently": views, open and abandoned carts of the last 30 days
MAX_VIEWED = 10
MAX_WISHLIST = 50
MAX_CARTS = 5
DEFAULT_CURRENCY = "EUR"  # the figure of a customer with no purchase at all

CART_TYPES = ("cart_updated", "cart_abandoned", "order_placed")


def customer_summary(customer: Customer, show_online: bool = True, now=None) -> dict:
    """The profile's summary (SPEC §3, GET /customers/{id}):

    - ``viewed_recently``: ``[{"sku", "title", "count"}]``, the SKUs viewed in the last 30 days,
      most viewed first (then the most recently viewed), at most 10;
    - ``wishlist``: ``[{"sku", "title"}]``, SKUs added to the wishlist and not removed since,
      newest first;
    - ``open_carts`` and ``abandoned_carts``: ``[{"cart_id", "lines", "total", "updated_at",
      "abandoned"}]``, carts updated in the last 30 days whose newest state is not followed by an
      order naming the cart (``data.cart_id``); a cart whose newest event is ``cart_abandoned``
      is abandoned, one emptied (no lines) is neither; newest first, at most 5 each;
    - ``lifetime_value``: ``{"online": Money, "store": Money}``: online orders minus online
      refunds, in-store purchases minus in-store returns (see ``lifetime_value``).

    Online activity (channels web, app, social, chat) is left out of views, wishlist and carts
    unless the customer granted ``personalisation`` consent — whatever ``show_online`` says;
    ``show_online=False`` leaves it out even with consent.  The lifetime value stays in both
    cases: it is the customer's financial record with the brand (orders and refunds kept for
    accounting), not a trace of their browsing."""
    now = now or clock.now()
    online = show_online and has_consent(customer, "personalisation")
    viewed = _viewed_recently(customer.id, online, now - timedelta(days=RECENT_DAYS))
    wishlist = _wishlist(customer.id, online)
    open_carts, abandoned_carts = _carts(customer.id, online, now - timedelta(days=RECENT_DAYS))
    titles = _titles({item["sku"] for item in viewed + wishlist})
    for item in viewed + wishlist:
        item["title"] = titles.get(item["sku"], item["sku"])
    value = lifetime_value(customer)
    return {
        "viewed_recently": [{"sku": item["sku"], "title": item["title"], "count": item["count"]} for item in viewed],
        "wishlist": [{"sku": item["sku"], "title": item["title"]} for item in wishlist],
        "open_carts": open_carts,
        "abandoned_carts": abandoned_carts,
        "lifetime_value": {"online": value["online"].to_dict(), "store": value["store"].to_dict()},
    }


def _visible(query, online: bool):
    return query if online else query.where(CustomerEvent.channel.not_in(ONLINE_CHANNELS))


def _viewed_recently(customer_id: int, online: bool, since) -> list[dict]:
    count = func.count(CustomerEvent.id)
    query = (
        select(CustomerEvent.sku, count.label("views"), func.max(CustomerEvent.occurred_at).label("last"))
        .where(
            CustomerEvent.customer_id == customer_id,
            CustomerEvent.type == "product_viewed",
            CustomerEvent.occurred_at >= since,
            CustomerEvent.sku.is_not(None),
        )
        .group_by(CustomerEvent.sku)
        .order_by(count.desc(), func.max(CustomerEvent.occurred_at).desc(), CustomerEvent.sku)
        .limit(MAX_VIEWED)
    )
    return [{"sku": sku, "count": views} for sku, views, _ in db.session.execute(_visible(query, online))]


def _wishlist_rows(customer_id: int, online: bool, limit: int | None):
    added = func.max(case((CustomerEvent.type == "wishlist_added", CustomerEvent.occurred_at)))
    removed = func.max(case((CustomerEvent.type == "wishlist_removed", CustomerEvent.occurred_at)))
    query = (
        select(CustomerEvent.sku, added.label("added"))
        .where(
            CustomerEvent.customer_id == customer_id,
            CustomerEvent.type.in_(("wishlist_added", "wishlist_removed")),
            CustomerEvent.sku.is_not(None),
        )
        .group_by(CustomerEvent.sku)
        .having(added.is_not(None), (removed.is_(None)) | (added > removed))
        .order_by(added.desc(), CustomerEvent.sku)
    )
    if limit:
        query = query.limit(limit)
    return db.session.execute(_visible(query, online))


def _wishlist(customer_id: int, online: bool) -> list[dict]:
    return [{"sku": sku} for sku, _ in _wishlist_rows(customer_id, online, MAX_WISHLIST)]


def wishlist_skus(customer_id: int, show_online: bool = True) -> list[str]:
    """SKUs on the customer's wishlist now (added and not removed since), newest first.

    A wishlist is online activity: callers showing it to staff pass ``show_online`` from the
    customer's ``personalisation`` consent (``has_consent``); this function does not check it."""
    return [sku for sku, _ in _wishlist_rows(customer_id, show_online, None)]


def _carts(customer_id: int, online: bool, since) -> tuple[list[dict], list[dict]]:
    """Open and abandoned carts: the newest state of each cart id seen in the window."""
    cart_id = CustomerEvent.data["cart_id"].as_string()
    query = (
        select(CustomerEvent.id, CustomerEvent.type, CustomerEvent.occurred_at, cart_id)
        .where(CustomerEvent.customer_id == customer_id, CustomerEvent.type.in_(CART_TYPES), CustomerEvent.occurred_at >= since)
        .order_by(CustomerEvent.occurred_at, CustomerEvent.id)
    )
    newest: dict[str, tuple[str, int, object]] = {}  # cart id -> (type, id of its newest cart_updated, updated at)
    for event_id, type_, occurred_at, cart in db.session.execute(_visible(query, online)):
        if not cart:
            continue
        if type_ == "cart_updated":
            newest[cart] = ("open", event_id, occurred_at)
        elif cart in newest:
            newest[cart] = ("abandoned" if type_ == "cart_abandoned" else "ordered", newest[cart][1], newest[cart][2])
    kept = {state[1]: (cart, state[0]) for cart, state in newest.items() if state[0] != "ordered"}
    if not kept:
        return [], []
    events = db.session.scalars(
        select(CustomerEvent).where(CustomerEvent.id.in_(kept)).order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc())
    )
    open_carts, abandoned_carts = [], []
    for event in events:
        cart, state = kept[event.id]
        data = event.data or {}
        lines = [
            {"sku": str(line.get("sku")), "quantity": int(line.get("quantity") or 0)}
            for line in data.get("lines") or []
            if isinstance(line, dict) and line.get("sku")
        ]
        if not lines:
            continue  # an emptied cart is nobody's business
        target = abandoned_carts if state == "abandoned" else open_carts
        if len(target) < MAX_CARTS:
            target.append(
                {
                    "cart_id": cart,
                    "lines": lines,
                    "total": _money(data.get("total")),
                    "updated_at": clock.isoformat(event.occurred_at),
                    "abandoned": state == "abandoned",
                }
            )
    return open_carts, abandoned_carts


def _money(value) -> dict | None:
    if isinstance(value, dict) and isinstance(value.get("amount"), int) and isinstance(value.get("currency"), str):
        return {"amount": value["amount"], "currency": value["currency"]}
    return None


LIFETIME_TYPES = {
    "order_placed": ("online", 1),
    "order_returned": ("online", -1),
    "purchase_in_store": ("store", 1),
    "return_in_store": ("store", -1),
}


def lifetime_value(customer: Customer) -> dict[str, Money]:
    """``{"online": Money, "store": Money}``: the totals (``data.total``) of online orders minus
    online refunds, and of in-store purchases minus in-store returns, in one aggregate query.
    Each figure is in the currency most of its events used (events in another currency are left
    out of it: an amount is never converted); a customer with no such event has 0 in the
    currency of their other figure, else EUR."""
    amount = CustomerEvent.data[("total", "amount")].as_integer()
    currency = CustomerEvent.data[("total", "currency")].as_string()
    rows = db.session.execute(
        select(CustomerEvent.type, currency, func.coalesce(func.sum(amount), 0), func.count(CustomerEvent.id))
        .where(CustomerEvent.customer_id == customer.id, CustomerEvent.type.in_(tuple(LIFETIME_TYPES)))
        .group_by(CustomerEvent.type, currency)
    ).all()
    sums: dict[tuple[str, str], int] = Counter()
    counts: dict[str, Counter] = {"online": Counter(), "store": Counter()}
    for type_, code, total, n in rows:
        if not code:
            continue
        where, sign = LIFETIME_TYPES[type_]
        sums[(where, code.upper())] += sign * int(total or 0)
        counts[where][code.upper()] += n
    chosen = {where: (tally.most_common(1)[0][0] if tally else None) for where, tally in counts.items()}
    fallback = chosen["online"] or chosen["store"] or DEFAULT_CURRENCY
    return {where: Money(sums[(where, code or fallback)], code or fallback) for where, code in chosen.items()}


def _titles(skus: set[str]) -> dict[str, str]:
    """Product titles (with the variant's own title, like "Trail Jacket — M") by SKU."""
    if not skus:
        return {}
    rows = db.session.execute(
        select(inventory.Variant.sku, inventory.Product.title, inventory.Variant.title)
        .join(inventory.Product, inventory.Variant.product_id == inventory.Product.id)
        .where(inventory.Variant.sku.in_(sorted(skus)))
    )
    return {sku: (f"{product} — {variant}" if variant and variant not in (product, "Default") else product) for sku, product, variant in rows}
