"""The development gateway's simulated hosted payment page: ``/pay/<token>``, what the pay-by-QR code opens on
the customer's phone.  No login: the token (in the payment's URL only) is the key; rate-limited like the other
public pages; its Pay / Decline form carries a CSRF token.  With the Stripe gateway the QR code opens Stripe's own
hosted page instead and this page answers 404.

Also the QR code itself as SVG, for the tablet (staff of the payment's store only).
"""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

import pos
from accounts import ROLES
from core.money import Money

from .api.payments import absolute
from .auth import require_role
from .extensions import limiter

bp = Blueprint("pay", __name__, url_prefix="/pay")


def _page_payment(token: str):
    gateway = pos.current_gateway()
    if not isinstance(gateway, pos.DevelopmentGateway) or len(token) > 100:
        abort(404)
    return gateway, pos.find_payment_by_page_token(token)


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PAY_PAGE_RATE_LIMIT"])
def page(token: str):
    """GET: the store, the lines, the amount to pay and Pay / Decline.  POST (``outcome`` approve | decline): the
    simulated payment is made or declined, exactly as Stripe's webhook would report it; then the page again."""
    gateway, payment = _page_payment(token)
    if request.method == "POST":
        outcome = request.form.get("outcome", "")
        if outcome not in ("approve", "decline"):
            abort(400, "choose Pay or Decline")
        if payment.status == "pending":
            pos.handle_gateway_event(gateway.simulate(payment, outcome), gateway)
        return redirect(url_for("pay.page", token=token), code=303)
    order = payment.order
    payload = pos.order_payload(order)
    return render_template(
        "public/pay.html",
        payment=payment,
        order=order,
        payload=payload,
        store=order.location,
        amount=Money(payment.amount, payment.currency).format(),
        money=lambda m: Money(m["amount"], m["currency"]).format(),
    )


@bp.get("/qr/<payment_id>.svg")
@require_role(*ROLES)
def qr_code(payment_id: str):
    """The pay-by-QR payment's code as SVG: it opens the payment page on the customer's phone."""
    payment = pos.get_payment(payment_id)
    store = payment.order.location
    if current_user.role != "admin" and store.code not in {s.code for s in current_user.stores}:
        abort(404)
    if payment.kind != "qr" or not payment.payment_url:
        abort(404)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10, image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(absolute(payment.payment_url))
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"})
