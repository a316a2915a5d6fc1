"""Tablet screen of returns: find the order (its number or last digits, the card's last 4 digits, or the customer's
scanned loyalty card), choose what comes back and whether it goes back on the shelf, refund it to the original
tenders (``pos.create_return``), with a manager's PIN when the refund is above the store's threshold.

Plain forms, no script needed.  A return posts with an idempotency key made when the form was shown, so a double
tap (or a resent form) makes one return: the second answers the first.  The request commits once.
"""

from __future__ import annotations

import secrets

from flask import abort, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

import clienteling
import pos
from accounts import ROLES
from core import db
from core.errors import Conflict, DomainError, NotFound, ValidationError
from core.money import Money

from ..auth import require_role
from ..errors import ApiError
from ..viewmodels.customers import local_time, zone_of
from ..viewmodels.messages import sentence as _sentence
from . import bp

TENDER_WORDS = {"cash": "cash", "card": "card", "qr": "by phone"}
RETURN_KEYS = "tablet_return_keys"  # session: idempotency key -> the return it made (a resent form answers it)


def _store():
    if g.store is None:
        raise ApiError(403, "forbidden", "you work at no store: returns are made at a store")
    return g.store


def _money(value: dict | None) -> str:
    return Money(value["amount"], value["currency"]).format() if value else ""


def _order(order_id: str) -> pos.Order:
    store = _store()
    try:
        order = pos.get_order(order_id)
    except NotFound:
        raise ApiError(404, "not_found", "that order does not exist") from None
    if order.location_id != store.id:
        raise ApiError(404, "not_found", "that order was sold at another store")
    return order


def _orders_for(store, query: str) -> list[pos.Order]:
    """Orders of this store matching ``query``: a number (or its last digits), a card's last 4, a loyalty code."""
    if not query:
        return pos.list_orders([store.id], limit=20)
    found = pos.list_orders([store.id], q=query, limit=20)
    customer = clienteling.find_customer_by_loyalty_code(query)
    if customer is not None:
        known = {order.id for order in found}
        found += [order for order in pos.list_orders([store.id], customer_id=customer.id, limit=20) if order.id not in known]
    return found


def _row(order: pos.Order) -> dict:
    payload = pos.order_payload(order)
    customer = db.session.get(clienteling.Customer, order.customer_id) if order.customer_id else None
    returnable = sum(line.quantity - line.returned_quantity for line in order.lines if line.fulfilment == "take_now")
    cards = [t["card"] for t in payload["tenders"] if t.get("card")]
    return {
        "id": order.public_id,
        "number": order.number,
        "status": order.status,
        "when": local_time(order.completed_at or order.created_at, zone_of(order.location)),
        "total": _money(payload["totals"]["total"]),
        "customer": customer.name if customer and customer.active else None,
        "items": sum(line.quantity for line in order.lines),
        "returnable": returnable,
        "tenders": ", ".join(
            TENDER_WORDS[t["kind"]] + (f" ({t['card']['brand'].capitalize()} •••• {t['card']['last4']})" if t.get("card") else "")
            for t in payload["tenders"]
            if t["status"] == "succeeded"
        ),
        "cards": cards,
    }


@bp.get("/returns")
@require_role(*ROLES)
def returns():
    """The store's recent orders, or those matching ``q`` (an order number or its last digits, a card's last 4
    digits, a scanned loyalty card)."""
    store = _store()
    query = (request.args.get("q") or "").strip()[:60]
    try:
        orders = _orders_for(store, query)
    except ValidationError as exc:
        return render_template("tablet/returns.html", rows=[], query=query, error=exc.message), 400
    rows = [_row(order) for order in orders if order.status == "completed"]
    return render_template("tablet/returns.html", rows=rows, query=query, error=None)


def _lines(order: pos.Order, chosen: dict | None = None) -> list[dict]:
    payload = {line["id"]: line for line in pos.order_payload(order)["lines"]}
    rows = []
    for line in order.lines:
        left = line.quantity - line.returned_quantity
        rows.append(
            {
                "id": line.id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "returned": line.returned_quantity,
                "left": left if line.fulfilment == "take_now" else 0,
                "elsewhere": line.fulfilment != "take_now",
                "total": _money(payload[line.id]["total"]),
                "chosen": (chosen or {}).get(line.id, {"quantity": 0, "restock": True}),
            }
        )
    return rows


def _register_choices(store) -> list[str]:
    return [register.code for register in pos.list_registers(store.code)]


def _form(order, chosen=None, reason="", errors=None, approval=None, status=200, register=None):
    store = _store()
    key = secrets.token_urlsafe(16)
    registers = _register_choices(store)
    return (
        render_template(
            "tablet/return_form.html",
            order=_row(order),
            lines=_lines(order, chosen),
            reason=reason,
            errors=errors or {},
            approval=approval,
            key=key,
            registers=registers,
            register=register or session.get("tablet_register") or (registers[0] if registers else ""),
        ),
        status,
    )


@bp.get("/orders/<order_id>/return")
@require_role(*ROLES)
def return_form(order_id):
    """What can come back from one order: each line with what is still returnable."""
    order = _order(order_id)
    if order.status != "completed":
        abort(404)
    return _form(order)[0]


@bp.post("/orders/<order_id>/return")
@require_role(*ROLES)
def make_return(order_id):
    """Make the return: the chosen quantities, restock or damaged, the reason; a manager's PIN when asked."""
    order = _order(order_id)
    key = (request.form.get("key") or "")[:64]
    done = session.get(RETURN_KEYS, {}).get(key)
    if done:
        return redirect(url_for(".return_done", return_id=done))
    chosen, lines = {}, []
    for line in order.lines:
        raw = (request.form.get(f"quantity-{line.id}") or "0").strip()
        quantity = int(raw) if raw.isdigit() else -1
        restock = request.form.get(f"restock-{line.id}") == "on"
        chosen[line.id] = {"quantity": max(quantity, 0), "restock": restock}
        if quantity < 0:
            return _form(order, chosen, request.form.get("reason", ""), {f"quantity-{line.id}": "Choose how many come back."}, status=400)
        if quantity:
            lines.append({"sku": line.sku, "quantity": quantity, "restock": restock})
    reason = (request.form.get("reason") or "").strip()[:500]
    register = (request.form.get("register") or "").strip()[:20] or None
    if not lines:
        return _form(order, chosen, reason, {"lines": "Choose at least one item that comes back."}, status=400, register=register)
    pin = (request.form.get("pin") or "").strip()
    approval = {"pin": pin} if pin else None
    try:
        made = pos.create_return(order.public_id, lines, reason, current_user.actor, approval=approval, register_code=register)
    except pos.ApprovalRequired as exc:
        db.session.rollback()
        return _form(order, chosen, reason, {}, approval={"message": _sentence(exc.message), "refused": False}, status=403, register=register)
    except pos.ApprovalRefused as exc:
        db.session.rollback()
        return _form(order, chosen, reason, {}, approval={"message": _sentence(exc.message), "refused": True}, status=403, register=register)
    except Conflict as exc:
        db.session.rollback()
        return _form(order, chosen, reason, {"lines": _sentence(exc.message)}, status=409, register=register)
    except (ValidationError, DomainError) as exc:
        db.session.rollback()
        return _form(order, chosen, reason, {"lines": _sentence(exc.message)}, status=400, register=register)
    keys = dict(session.get(RETURN_KEYS, {}))
    keys[key] = made.public_id
    session[RETURN_KEYS] = dict(list(keys.items())[-20:])
    return redirect(url_for(".return_done", return_id=made.public_id))


@bp.get("/returns/<return_id>")
@require_role(*ROLES)
def return_done(return_id):
    """What the return refunded, tender by tender: the cash to hand back, the card refunded."""
    store = _store()
    made = db.session.scalar(select(pos.Return).where(pos.Return.public_id == return_id))
    if made is None or made.location_id != store.id:
        abort(404)
    payload = pos.return_payload(made)
    refunds = [{"kind": refund["kind"], "amount": _money(refund["amount"])} for refund in payload["refunds"]]
    return render_template(
        "tablet/return_done.html", made=payload, refunds=refunds, total=_money(payload["total_refunded"]), order=_row(_order(payload["order_id"]))
    )
