"""The public digital receipt: ``/r/<token>``, behind the order's unguessable receipt token, no login; and the
receipt by email.

A receipt email is a transactional message (the customer asked for it at the till), so it needs no marketing
consent; it is recorded all the same: the address on the order, an audit entry, and — when the sale has a
customer — a ``message_sent`` entry on their timeline.  It leaves through the message provider only after the
request's transaction commits (``core.uow.after_commit``): a rolled-back request sends nothing.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

import clienteling
import pos
from core.actor import Actor
from core.audit import record_audit
from core.db import db
from core.money import Money
from core.uow import after_commit

from .extensions import limiter

log = logging.getLogger("shelfside.receipts")

bp = Blueprint("receipts", __name__, url_prefix="/r")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)

TENDER_NAMES = {"cash": "Cash", "card": "Card", "qr": "Paid by phone"}


def _format(value: dict) -> str:
    return Money(value["amount"], value["currency"]).format()


def tax_by_rate(payload: dict) -> list[dict]:
    """The tax of a receipt per rate, as a receipt states it: ``[{"rate": "19 %", "net", "tax", "gross"}]`` (Money),
    highest rate first.  Rates are basis points on the lines ("1900" = 19 %, "887.5" = 8.875 %); a line's total
    includes its tax in both tax modes (``pos.pricing``), so gross is the total and net the total less the tax."""
    currency = payload["currency"]
    rates: dict[Decimal, dict] = {}
    for line in payload["lines"]:
        rate = Decimal(str(line["tax_rate"] or 0))
        entry = rates.setdefault(rate, {"tax": 0, "gross": 0})
        entry["tax"] += line["tax"]["amount"]
        entry["gross"] += line["total"]["amount"]
    out = []
    for rate in sorted(rates, reverse=True):
        entry = rates[rate]
        percent = format((rate / 100).normalize(), "f")
        out.append(
            {
                "rate": f"{percent} %",
                "tax": Money(entry["tax"], currency).to_dict(),
                "net": Money(entry["gross"] - entry["tax"], currency).to_dict(),
                "gross": Money(entry["gross"], currency).to_dict(),
            }
        )
    return out


def local_time(order):
    """When the sale completed, in the store's time zone."""
    when = order.completed_at or order.created_at
    try:
        zone = ZoneInfo(order.location.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return when.astimezone(zone)


@bp.get("/<token>")
def receipt(token: str):
    """The receipt of one order: the store and its address, number and time, lines, discounts, total, VAT per rate,
    tenders with the change.  Prints on 80 mm paper (``@media print``).  404 for an unknown token."""
    order = pos.find_order_by_receipt_token(token)
    payload = pos.order_payload(order)
    return render_template(
        "public/receipt.html",
        order=order,
        payload=payload,
        store=order.location,
        when=local_time(order),
        register=db.session.get(pos.Register, order.register_id) if order.register_id else None,
        taxes=tax_by_rate(payload),
        tender_names=TENDER_NAMES,
        money=_format,
    )


def receipt_text(order, url: str) -> tuple[str, str]:
    """The subject and plain-text body of a receipt email."""
    payload = pos.order_payload(order)
    lines = [f"{line['quantity']} × {line['title']}  {_format(line['total'])}" for line in payload["lines"]]
    totals = payload["totals"]
    body = [f"Thank you for shopping at {order.location.name}.", "", f"Receipt {order.number}", local_time(order).strftime("%d %b %Y %H:%M"), ""]
    body += lines
    body += ["", f"Total {_format(totals['total'])}"]
    if payload["tax_mode"] == "inclusive":
        body.append(f"Including VAT {_format(totals['tax'])}")
    else:
        body.append(f"Of which tax {_format(totals['tax'])}")
    for tender in payload["tenders"]:
        body.append(f"{TENDER_NAMES.get(tender['kind'], tender['kind'])} {_format(tender.get('tendered') or tender['amount'])}")
        if tender.get("change") and tender["change"]["amount"]:
            body.append(f"Change {_format(tender['change'])}")
    body += ["", f"Your receipt online: {url}"]
    return f"Your receipt {order.number} from {order.location.name}", "\n".join(body)


def _deliver(to: str, subject: str, body: str, number: str) -> None:
    try:
        clienteling.messaging.provider().send_email(to, subject, body)
    except clienteling.ProviderError:
        log.warning("the receipt of %s could not be emailed", number, exc_info=True)


def send_receipt(order, address: str, url: str, actor: Actor) -> str:
    """Email the receipt of ``order`` to ``address`` after the current transaction commits, and record it (the
    order's receipt address, an audit entry, the customer's timeline).  Answers the address as stored.  Raises
    ValidationError naming ``email`` for something that is not an address."""
    email = clienteling.normalise_email(address, field="email")
    subject, body = receipt_text(order, url)
    order.receipt_email = email
    record_audit("receipt.emailed", actor, "order", order.public_id, {"number": order.number, "to": email})
    if order.customer_id:
        customer = db.session.get(clienteling.Customer, order.customer_id)
        if customer is not None and customer.active:
            clienteling.record_activity(
                customer,
                "message_sent",
                channel="email",
                actor=actor,
                store_id=order.location_id,
                staff_id=actor.id if actor.kind == "staff" else None,
                data={"kind": "receipt", "order_id": order.public_id, "number": order.number, "subject": subject, "transactional": True},
            )
    db.session.flush()
    after_commit(_deliver, email, subject, body, order.number)
    return email
