"""The in-store kiosk UI: public, unauthenticated, bound to one store through a registered device.

A device is activated with the one-time link from ``flask --app web create-kiosk STORE`` (or a fresh
one from ``kiosk-link ID``); the session then remembers the device id (a permanent cookie) and
every request re-checks that the device still exists and is not revoked.  Pages are GET only, rate-limited, and show catalogue
and stock at this store — never staff or customer data, and no stock numbers beyond "only N left".
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from core import db
from core.errors import NotFound
from inventory import list_categories, search_products

from accounts import KioskDevice, activate_kiosk
from .access_log import writes_on_get
from .auth import sign_out
from .extensions import limiter
from .tablet import PAGE_SIZE, exact_variant, product_cards, product_page, split_stock

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)

SESSION_KEY = "kiosk_device_id"


def _not_set_up(message: str | None = None):
    return render_template("kiosk/not_set_up.html", message=message), 403


@bp.before_request
def require_device():
    """Every kiosk page needs an activated device that still exists and is not revoked."""
    g.kiosk = None
    if request.endpoint == "kiosk.activate":
        return None
    device_id = session.get(SESSION_KEY)
    device = db.session.get(KioskDevice, device_id) if isinstance(device_id, int) else None
    if device is None or device.revoked_at is not None or not device.location.active:
        session.pop(SESSION_KEY, None)
        return _not_set_up()
    g.kiosk = device
    return None


@bp.context_processor
def kiosk_context():
    device = g.get("kiosk")
    return {"kiosk_store": device.location if device else None}


@bp.get("/activate/<token>")
@writes_on_get
def activate(token):
    """Bind this browser to a registered kiosk, using up the link's token (a second screen needs a new link),
    and redirect at once; access logs show the path without the token (``web.access_log``).  Any staff
    session in this browser ends: a kiosk is public."""
    device = activate_kiosk(token)
    if device is None:
        return _not_set_up("This set-up link isn't valid any more.")
    sign_out()
    session[SESSION_KEY] = device.id
    session.permanent = True
    return redirect(url_for(".home"))


# --- stock as a customer sees it -------------------------------------------------------------

def kiosk_stock_view(rows: list[dict], store) -> dict:
    """Stock at this store in words, where to find it, and whether it exists elsewhere."""
    here, others, warehouses = split_stock(rows, store.id)
    available = here["available"] if here else 0
    if available <= 0:
        state, label = "out", "Not in stock here"
    elif here["low"]:
        state, label = "low", f"Only {available} left here"
    else:
        state, label = "in", "In stock here"
    return {
        "state": state,
        "label": label,
        "shelf": here["shelf"].label if here and here["shelf"] and available > 0 else None,
        "other_stores": [row["location"].name for row in others if row["available"] > 0],
        "online": any(row["available"] > 0 for row in warehouses),
    }


def _kiosk_badge(total: int, low: bool, store) -> dict:
    if total <= 0:
        return {"label": "Not in stock here", "kind": "none"}
    if low:
        return {"label": f"Only {total} left here", "kind": "low"}
    return {"label": "In stock here", "kind": "ok"}


# --- pages ---------------------------------------------------------------------------------------

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
        cards=product_cards(products, g.kiosk.location, badge=_kiosk_badge),
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
        cards=product_cards(products, g.kiosk.location, badge=_kiosk_badge),
        more=url_for(".category", slug=slug, cursor=next_cursor) if next_cursor else None,
        categories=[] if products else [c for c in categories if c is not found],  # an empty category offers the others
    )


@bp.get("/products/<handle>")
def product(handle):
    page = product_page(handle, g.kiosk.location, stock_view=kiosk_stock_view, active_only=True)
    picker_data = {"variants": [{"sku": v["sku"], "options": v["options"], "stock": v["stock"]["state"], "hint": ""} for v in page["variants"]]}
    return render_template("kiosk/product.html", picker_data=picker_data, **page)
