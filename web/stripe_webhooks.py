"""``POST /webhooks/stripe``: Stripe's events about our payments, verified with the signing secret
(``STRIPE_WEBHOOK_SECRET``; a bad or missing signature is 400) and processed once (``pos.handle_gateway_event``
records each event id under a unique constraint in the same transaction as what it changed).  No session, no
CSRF: the signature is the authentication.

Answers: 200 ``{"received": true, "outcome": ...}`` (also for a duplicate or an event we do not act on); 400 for a
bad signature; 503 when the event speaks of a payment whose start has not committed yet — Stripe delivers it again
later (with backoff, for days), by which time it is known (out of order is safe).
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

import pos
from core import db

from .extensions import csrf

log = logging.getLogger("shelfside.payments")

bp = Blueprint("stripe_webhooks", __name__, url_prefix="/webhooks")


@bp.post("/stripe")
@csrf.exempt
def stripe_webhook():
    gateway = pos.current_gateway()
    if not isinstance(gateway, pos.StripeGateway):
        return jsonify({"error": {"code": "not_found", "message": "the Stripe gateway is not configured", "details": None}}), 404
    payload = request.get_data(cache=True, as_text=False)
    try:
        event = gateway.parse_webhook(payload, request.headers.get("Stripe-Signature", ""))
    except pos.InvalidSignature as exc:
        return jsonify({"error": {"code": "invalid_signature", "message": exc.message, "details": None}}), 400
    try:
        outcome = pos.handle_gateway_event(event, gateway)
    except pos.PaymentNotYetKnown as exc:
        db.session.rollback()
        log.info("Stripe event %s (%s) is early: %s", event.id, event.type, exc.message)
        return jsonify({"error": {"code": exc.code, "message": exc.message, "details": None}}), 503, {"Retry-After": "30"}
    return jsonify({"received": True, "event": event.id, "outcome": outcome})
