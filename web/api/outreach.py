"""Outreach and feedback requests: message a customer (with consent), the message templates, a
feedback link with its QR code.  Staff only."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

import clienteling
from core import clock

from .access import brand_wide, store_access
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import STORE_CODE, ErrorOut
from .tasks import current_staff, customer_or_body_store, staff_only

blp = Blueprint("outreach", __name__, url_prefix="/api/v1", description="Messages to customers (with consent) and feedback requests (staff)")


class MessageIn(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(list(clienteling.MESSAGE_CHANNELS)))
    template = fields.String(required=True, validate=validate.Length(min=1, max=60), metadata={"description": "a key from GET /message-templates"})
    store = fields.String(
        load_default=None, validate=STORE_CODE, metadata={"description": "the store it is sent from (default: the customer's home store)"}
    )
    context = fields.Dict(
        keys=fields.String(validate=validate.OneOf(["product", "link"])),
        values=fields.String(validate=validate.Length(max=300)),
        load_default=dict,
        metadata={"description": 'placeholders a template needs, e.g. {"product": "Trail Jacket"}'},
    )
    subject = fields.String(load_default=None, validate=validate.Length(min=1, max=200), metadata={"description": "replaces the template's subject"})
    body = fields.String(load_default=None, validate=validate.Length(min=1, max=5000), metadata={"description": "replaces the template's text"})


class MessageOut(Schema):
    id = fields.String(attribute="public_id")
    customer_id = fields.Function(lambda m: m.customer.public_id)
    channel = fields.String()
    template = fields.String()
    to = fields.String(attribute="to_address")
    subject = fields.String()
    body = fields.String()
    status = fields.String(metadata={"enum": ["queued", "sent", "failed"], "description": "queued until the request commits; then sent or failed"})
    error = fields.String(allow_none=True)
    store = fields.Function(lambda m: m.store.code if m.store else None)
    created_at = fields.Function(lambda m: clock.isoformat(m.created_at))
    sent_at = fields.Function(lambda m: clock.isoformat(m.sent_at))


class MessageTemplateOut(Schema):
    key = fields.String()
    name = fields.String()
    subject = fields.String()
    body = fields.String(metadata={"description": "the email text; placeholders {first_name}, {store}, {product}, {associate}, {link}"})
    sms = fields.String(metadata={"description": "the SMS text"})
    needs = fields.List(fields.String(), metadata={"description": "context placeholders this template needs"})


class MessageTemplatePage(Schema):
    items = fields.List(fields.Nested(MessageTemplateOut))
    next_cursor = fields.String(allow_none=True)


class FeedbackRequestIn(Schema):
    store = fields.String(load_default=None, validate=STORE_CODE, metadata={"description": "the store visited (default: the customer's home store)"})
    associate_id = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={"description": "default: you"})
    appointment_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    send = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["email", "sms"]),
        metadata={"description": "also send the link by email or SMS (needs the matching marketing consent: 409 no_consent)"},
    )


class FeedbackRequestOut(Schema):
    id = fields.String()
    token = fields.String(metadata={"description": "shown once; the link works once"})
    url = fields.String(metadata={"description": "the public feedback page"})
    qr_url = fields.String(metadata={"description": "an SVG QR code of the url"})
    expires_at = fields.String()
    message = fields.Nested(MessageOut, allow_none=True)


@blp.route("/customers/<customer_id>/messages", methods=["POST"])
@staff_only
@idempotent(required=False)
@blp.arguments(MessageIn)
@store_access(customer_or_body_store)
@blp.response(201, MessageOut)
@blp.alt_response(409, schema=ErrorOut, description="`no_consent`: no email_marketing / sms_marketing consent, or no address (details.reason)")
def send_customer_message(data, customer_id):
    """Email or text a customer from a template; sent after the request commits (status `queued` in this answer)."""
    customer = clienteling.find_customer(customer_id)
    store = data["store"] or (customer.home_store.code if customer.home_store else None)
    return clienteling.send_message(
        customer, data["channel"], data["template"], current_staff().actor, store, context=data["context"], subject=data["subject"], body=data["body"]
    )


@blp.route("/message-templates", methods=["GET"])
@staff_only
@brand_wide("the brand's message templates are the same in every store")
@blp.response(200, MessageTemplatePage)
def list_message_templates():
    """The templates a message can start from, with their placeholders."""
    return {"items": clienteling.message_templates(), "next_cursor": None}


@blp.route("/customers/<customer_id>/feedback-requests", methods=["POST"])
@staff_only
@blp.arguments(FeedbackRequestIn)
@store_access(customer_or_body_store)
@blp.response(201, FeedbackRequestOut)
@blp.alt_response(409, schema=ErrorOut, description="`no_consent`: `send` asked for without the matching consent (no link is made)")
def create_feedback_request(data, customer_id):
    """A single-use feedback link (CSAT 1–5, NPS 0–10) for the customer, with a QR code to show in the store; optionally sent."""
    customer = clienteling.find_customer(customer_id)
    store = data["store"] or (customer.home_store.code if customer.home_store else None)
    staff = current_staff()
    request, token = clienteling.request_feedback(
        customer, staff.actor, store, associate_id=data["associate_id"], appointment_id=data["appointment_id"], channel=data["send"] or "store"
    )
    url = url_for("feedback.show", token=token, _external=True)
    message = clienteling.send_feedback_link(request, url, staff.actor, channel=data["send"]) if data["send"] else None
    return {
        "id": request.public_id,
        "token": token,
        "url": url,
        "qr_url": url_for("feedback.qr", token=token, _external=True),
        "expires_at": clock.isoformat(request.expires_at),
        "message": message,
    }
