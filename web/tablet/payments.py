"""The tablet while a card or pay-by-QR payment runs: the amount, the reader to tap (or the QR code the customer
scans with their own phone), and what happens next — without a reload: ``payment.updated`` reaches the page on the
tablet's live stream (``static/tablet/payment.js`` reloads it), with a short poll of the status as a fallback.

Paid: the receipt screen.  Declined: the tender screen again, with what is left to pay.  The associate can give the
payment up (another tender then) or the whole sale (``pos.cancel_sale``: anything paid is given back).  With the
development gateway the simulated reader's Approve / Decline buttons are on this screen.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

import pos
from accounts import ROLES
from core import db
from core.errors import DomainError, NotFound
from core.money import Money

from ..auth import require_role
from ..errors import ApiError
from . import bp


def _payment(payment_id: str) -> pos.Payment:
    try:
        payment = pos.get_payment(payment_id)
    except NotFound:
        raise ApiError(404, "not_found", "no such payment") from None
    if payment.order.location_id not in {s.id for s in g.get("stores", [])}:
        raise ApiError(404, "not_found", "no such payment")
    return payment


def _simulated() -> bool:
    return current_app.config.get("PAYMENT_GATEWAY", "development") == "development" and isinstance(pos.current_gateway(), pos.DevelopmentGateway)


def _next_screen(payment: pos.Payment):
    """Where the tablet goes once a payment has ended: the receipt when the sale completed, else the tender screen."""
    order = payment.order
    if order.status == "completed":
        return redirect(url_for(".sale", order_id=order.public_id))
    cart = db.session.get(pos.Cart, order.cart_id)
    if order.status == "cancelled" or cart.status == "abandoned":
        return redirect(url_for(".sell"))
    return redirect(url_for(".pay", cart_id=cart.public_id))


@bp.get("/payments/<payment_id>")
@require_role(*ROLES)
def payment(payment_id):
    """The waiting screen of a card or QR payment; once it has ended, the next screen."""
    from ..api.payments import absolute  # (web.api.payments imports this package's live module)

    payment = _payment(payment_id)
    if payment.status != "pending":
        return _next_screen(payment)
    order = payment.order
    return render_template(
        "tablet/sell/payment.html",
        payment=payment,
        order=order,
        amount=Money(payment.amount, payment.currency).format(),
        payment_url=absolute(payment.payment_url) if payment.payment_url else "",
        simulated=_simulated(),
        reader=payment.gateway_reference if payment.kind == "card" else "",
        register=db.session.get(pos.Register, order.register_id).code,
    )


@bp.get("/payments/<payment_id>/status")
@require_role(*ROLES)
def payment_status(payment_id):
    """The payment's status, for the waiting screen's fallback poll."""
    payment = _payment(payment_id)
    return jsonify({"id": payment.public_id, "status": payment.status, "order_status": payment.order.status})


@bp.post("/payments/<payment_id>/simulate")
@require_role(*ROLES)
def simulate_payment(payment_id):
    """Development gateway only: the simulated reader approves or declines the card (as Stripe would report it)."""
    payment = _payment(payment_id)
    if not _simulated():
        raise ApiError(404, "not_found", "payments are simulated with the development gateway only")
    outcome = request.form.get("outcome", "")
    if outcome not in ("approve", "decline"):
        raise ApiError(400, "invalid_request", "choose approve or decline", {"outcome": ["approve or decline"]})
    if payment.status == "pending":
        gateway = pos.current_gateway()
        pos.handle_gateway_event(gateway.simulate(payment, outcome), gateway, current_user.actor)
    return _next_screen(pos.get_payment(payment_id))


@bp.post("/payments/<payment_id>/cancel")
@require_role(*ROLES)
def cancel_payment(payment_id):
    """Give the payment up (the customer walked away from the reader): the sale waits for another tender."""
    payment = _payment(payment_id)
    try:
        pos.cancel_payment(payment, current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        raise ApiError(502 if exc.code == "gateway_error" else 409, exc.code, exc.message) from None
    return _next_screen(pos.get_payment(payment_id))


@bp.post("/sales/<order_id>/cancel")
@require_role(*ROLES)
def cancel_sale(order_id):
    """Give the whole sale up while it waits for payment: pending payments cancelled, paid ones given back, the
    units released."""
    try:
        order = pos.get_order(order_id)
    except NotFound:
        raise ApiError(404, "not_found", "no such sale") from None
    if order.location_id not in {s.id for s in g.get("stores", [])}:
        raise ApiError(404, "not_found", "no such sale")
    try:
        pos.cancel_sale(order, current_user.actor, (request.form.get("reason") or "given up at the till")[:200])
    except DomainError as exc:
        db.session.rollback()
        raise ApiError(422, exc.code, exc.message) from None
    return redirect(url_for(".sell"))
