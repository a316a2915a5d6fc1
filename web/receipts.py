"""The public digital receipt: ``/r/<token>``, behind the order's unguessable receipt token, no login."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

import pos
from core.money import Money

from .extensions import limiter

bp = Blueprint("receipts", __name__, url_prefix="/r")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)


@bp.get("/<token>")
def receipt(token: str):
    """The receipt of one order: store, number, lines, tax, tenders.  404 for an unknown token."""
    order = pos.find_order_by_receipt_token(token)
    return render_template(
        "public/receipt.html",
        order=order,
        payload=pos.order_payload(order),
        store=order.location,
        money=lambda m: Money(m["amount"], m["currency"]).format(),
    )
