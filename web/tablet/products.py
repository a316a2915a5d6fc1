"""Tablet screens for products: search (results update as you type, a scan opens the product)
and the product page with live stock here, at the other stores and online."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, render_template, request, url_for

from accounts import ROLES
from inventory import list_categories, search_products

from ..auth import require_role, safe_next
from ..htmx import is_partial, redirect_to
from ..viewmodels import PAGE_SIZE, exact_variant, product_cards, product_page
from . import bp


@bp.get("/")
@require_role(*ROLES)
def home():
    """Product search.  A barcode or an exact SKU goes straight to its product page; an htmx
    request while typing (``live=1``) gets only the results, without jumping anywhere."""
    query = request.args.get("q", "").strip()[:200]
    category = request.args.get("category", "").strip() or None
    cursor = request.args.get("cursor") or None
    as_you_type = request.args.get("live") == "1"
    if query and not cursor and not as_you_type:
        variant = exact_variant(query)
        if variant is not None:
            return redirect_to(url_for(".product", handle=variant.product.handle, sku=variant.sku))
    searched = bool(query or category)
    products, next_cursor = [], None
    if searched:
        products, next_cursor = search_products(query, cursor=cursor, limit=PAGE_SIZE, category=category)
    categories = list_categories() if (category or not products) else []  # chips to browse, or the filter's name
    category_name = next((c.name for c in categories if c.slug == category), None)
    partial = is_partial("results")
    page = render_template(
        "tablet/_results.html" if partial else "tablet/search.html",
        query=query,
        category=category,
        category_name=category_name,
        cursor=cursor,
        searched=searched,
        cards=product_cards(products, g.store),
        next_cursor=next_cursor,
        categories=categories,
    )
    if partial:  # the address bar follows the query (replaced, not pushed: Back does not replay each keystroke)
        return page, {"HX-Replace-Url": url_for(".home", q=query or None, category=category)}
    return page


@bp.get("/products/<handle>")
@require_role(*ROLES)
def product(handle):
    page = product_page(handle, g.store, sku=request.args.get("sku"))
    if is_partial("variant-area"):  # a live stock refresh: the picker and the stock panels only
        return render_template("tablet/_variant_area.html", **page)
    return render_template("tablet/product.html", **page, back=back_to_results(url_for(".home")))


def back_to_results(home: str) -> str:
    """The search page the associate came from (same site only), else ``home``."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return home
    if referrer.path == home and referrer.query:
        return safe_next(referrer.path + "?" + referrer.query) or home
    return home
