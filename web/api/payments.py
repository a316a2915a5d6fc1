"""Staff endpoints for card and pay-by-QR payments: poll one, cancel one, give a waiting sale up, and — with the
development gateway only — approve or decline the simulated reader or page.

The tablet hears of every change without polling too: ``payment.updated`` is routed live to the store's channel
(``store:<code>``, the tablet's SSE stream at ``/tablet/live``), its data the same payment object this API answers.
"""

from __future__ import annotations

from flask import current_app, url_for
from marshmallow import Schema, fields, validate

import pos
from core import live
from core.errors import NotFound

from ..auth import current_principal
from ..errors import ApiError
from ..public_urls import public_url, public_url_for
from ..tablet.live import store_channel
from .access import store_access
from .blueprint import Blueprint
from .carts import OrderOut, order_answer
from .idempotency import idempotent
from .orders import order_store
from .schemas import ErrorOut, MoneyOut
from .shifts import staff_member

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Card and pay-by-QR payments (staff only)")


def _actor():
    return current_principal().actor


def payment_store(*args, payment_id, **kwargs):
    """The store a payment's order was sold at (None when there is no such payment: the view answers 404)."""
    try:
        return [pos.get_payment(payment_id).order.location.code]
    except NotFound:
        return [None]


def absolute(url: str) -> str:
    """The development gateway's page URLs are paths on this app: made absolute for the QR code (``PUBLIC_BASE_URL``
    when set, see ``web.public_urls``)."""
    return public_url(url)


def payment_answer(payment) -> dict:
    """The payment object of the API and of the live event (``qr_svg_url`` for pay by QR: the QR code as SVG)."""
    payload = pos.payment_payload(payment)
    if payment.kind == "qr":
        payload["payment_url"] = absolute(payload["payment_url"])
        payload["qr_svg_url"] = url_for("pay.qr_code", payment_id=payment.public_id, _external=True)
    payload["receipt_url"] = public_url_for("receipts.receipt", token=payment.order.receipt_token)
    return payload


def checkout_answer(order) -> dict:
    """The 202 answer of a checkout that waits for a card or QR payment: the order and its ``payment`` (the
    pending one, else the latest electronic one)."""
    answer = order_answer(order)
    electronic = [p for p in order.payments if p.kind != "cash"]
    waiting = next((p for p in reversed(electronic) if p.status == "pending"), electronic[-1] if electronic else None)
    if waiting is not None:
        answer["payment"] = payment_answer(waiting)
    answer["balance_due"] = order.money(pos.balance_due(order)).to_dict()
    return answer


def payment_updated_to_store(data: dict):
    """``payment.updated`` to the store's tablets (the checkout screen waits for it)."""
    yield store_channel(data["store"]), {"event": pos.PAYMENT_UPDATED, "data": data}


live.route(pos.PAYMENT_UPDATED, payment_updated_to_store)


# --- schemas ------------------------------------------------------------------------------------


class CardOut(Schema):
    brand = fields.String()
    last4 = fields.String()


class PaymentOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": ["card", "qr"]})
    status = fields.String(metadata={"enum": list(pos.PAYMENT_STATUSES)})
    amount = fields.Nested(MoneyOut)
    refunded = fields.Nested(MoneyOut)
    card = fields.Nested(CardOut, allow_none=True)
    failure_reason = fields.String(allow_none=True)
    gateway = fields.String(metadata={"enum": ["development", "stripe"]})
    reader = fields.String(metadata={"description": "card: the reader the payment waits on"})
    payment_url = fields.String(metadata={"description": "pay by QR: the page the QR code opens"})
    qr_svg_url = fields.String(metadata={"description": "pay by QR: the QR code as an SVG image"})
    qr_svg_path = fields.String(metadata={"description": "pay by QR: the same, as a path"})
    order_id = fields.String()
    order_number = fields.String()
    order_status = fields.String(metadata={"enum": list(pos.ORDER_STATUSES)})
    cart_id = fields.String()
    store = fields.String()
    balance_due = fields.Nested(MoneyOut, metadata={"description": "what the order still needs; another checkout of the cart pays it"})
    receipt_path = fields.String()
    receipt_url = fields.String()
    created_at = fields.String()
    confirmed_at = fields.String(allow_none=True)


class SimulateIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(["approve", "decline"]))


class CancelSaleIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=200))


# --- routes -------------------------------------------------------------------------------------


@blp.route("/payments/<payment_id>", methods=["GET"])
@staff_member
@store_access(payment_store)
@blp.response(200, PaymentOut)
def get_payment(payment_id):
    """One payment: poll it while the reader or the QR page waits (the live event `payment.updated` says the same)."""
    return payment_answer(pos.get_payment(payment_id))


@blp.route("/payments/<payment_id>/cancel", methods=["POST"])
@staff_member
@store_access(payment_store)
@blp.response(200, PaymentOut)
@blp.alt_response(502, schema=ErrorOut, description="`gateway_error`: the gateway refused or could not be reached; nothing changed")
def cancel_payment(payment_id):
    """Give up a pending payment (released at the reader, the QR page expired); the order waits for another tender."""
    return payment_answer(pos.cancel_payment(pos.get_payment(payment_id), _actor()))


@blp.route("/payments/<payment_id>/simulate", methods=["POST"])
@staff_member
@blp.arguments(SimulateIn)
@store_access(payment_store)
@blp.response(200, PaymentOut)
@blp.alt_response(404, schema=ErrorOut, description="no such payment, or the gateway is not the development one")
def simulate(data, payment_id):
    """Development gateway only: what the simulated reader (or page) reports — `approve` or `decline`."""
    gateway = pos.current_gateway()
    if current_app.config.get("PAYMENT_GATEWAY", "development") != "development" or not isinstance(gateway, pos.DevelopmentGateway):
        raise ApiError(404, "not_found", "payments are simulated with the development gateway only")
    payment = pos.get_payment(payment_id)
    pos.handle_gateway_event(gateway.simulate(payment, data["outcome"]), gateway, _actor())
    return payment_answer(pos.get_payment(payment_id))


@blp.route("/orders/<order_id>/cancel", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(CancelSaleIn)
@store_access(order_store)
@blp.response(200, OrderOut)
@blp.alt_response(422, schema=ErrorOut, description="the order is completed (return it instead)")
def cancel_sale(data, order_id):
    """Give up a sale waiting for payment: pending payments cancelled, paid ones refunded (cash from the drawer),
    the cart abandoned and its units released."""
    return order_answer(pos.cancel_sale(pos.get_order(order_id), _actor(), data["reason"]))
