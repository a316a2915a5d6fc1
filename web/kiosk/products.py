"""Kiosk screens: the start page, search, categories and the product page — stock at this store in words."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from core.errors import NotFound
from inventory import list_categories, search_products

from ..viewmodels import PAGE_SIZE, exact_variant, kiosk_badge, kiosk_stock, product_cards, product_page
from . import bp


@bp.get("/")
def home():
    return render_template("kiosk/home.html", categories=list_categories())


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:100]
    cursor = request.args.get("cursor") or None
    if not query:
        return redirect(url_for(".home"))
    if not cursor:
        variant = exact_variant(query)
        if variant is not None and variant.product.status == "active":
            return redirect(url_for(".product", handle=variant.product.handle, sku=variant.sku))
    products, next_cursor = search_products(query, cursor=cursor, limit=PAGE_SIZE)
    return render_template(
        "kiosk/results.html",
        heading=f"Results for “{query}”",
        query=query,
        cards=product_cards(products, g.kiosk.location, badge=kiosk_badge),
        more=url_for(".search", q=query, cursor=next_cursor) if next_cursor else None,
        categories=list_categories() if not products else [],
    )


@bp.get("/categories/<slug>")
def category(slug):
    categories = list_categories()
    found = next((c for c in categories if c.slug == slug), None)
    if found is None:
        raise NotFound("We couldn't find that category.")
    cursor = request.args.get("cursor") or None
    products, next_cursor = search_products("", cursor=cursor, limit=PAGE_SIZE, category=slug)
    return render_template(
        "kiosk/results.html",
        heading=found.name,
        query="",
        cards=product_cards(products, g.kiosk.location, badge=kiosk_badge),
        more=url_for(".category", slug=slug, cursor=next_cursor) if next_cursor else None,
        categories=[] if products else [c for c in categories if c is not found],  # an empty category offers the others
    )


@bp.get("/products/<handle>")
def product(handle):
    page = product_page(handle, g.kiosk.location, sku=request.args.get("sku"), stock_view=kiosk_stock, active_only=True)
    return render_template("kiosk/product.html", **page)
