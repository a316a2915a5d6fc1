"""The associate tablet: one blueprint, one module per screen.

``products`` (search and the product page), ``customers`` (search, profiles, the client book),
``store`` (which store the associate works in), ``sell`` (cart, cash tender, receipt), ``shifts`` (open, cash in and
out, close, report), ``live`` (the Server-Sent Events stream the layout
subscribes to).  Screens to come (appointments, carts, payments, returns, shifts) add a module here and templates under
``templates/tablet/``; the view models they share with other faces live in ``web.viewmodels``.
"""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user

bp = Blueprint("tablet", __name__, url_prefix="/tablet")

from . import appointments, customers, live, payments, pickups, products, returns, sell, shifts, store, tasks  # noqa: E402  (the screens register their routes on bp)
from .store import current_store, store_choices  # noqa: E402


@bp.before_request
def load_store():
    if current_user.is_authenticated:
        g.stores = store_choices(current_user)
        g.store = current_store(current_user, g.stores)


@bp.context_processor
def tablet_context():
    return {"store": g.get("store"), "stores": g.get("stores", [])}


__all__ = ["appointments", "bp", "customers", "live", "payments", "pickups", "products", "returns", "sell", "shifts", "store", "tasks"]
