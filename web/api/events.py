"""Partner events: the e-commerce site sends customer activity in batches of up to 1,000."""

from __future__ import annotations

from marshmallow import Schema, fields, pre_load, validate
from marshmallow import ValidationError as MarshmallowError

import clienteling
from clienteling import CHANNELS, EVENT_TYPES, MAX_EVENTS

from ..auth import current_principal, require_scope
from .access import brand_wide
from .blueprint import Blueprint

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="Customer activity from the e-commerce site")

_MONEY = {
    "type": "object",
    "required": ["amount", "currency"],
    "properties": {
        "amount": {"type": "integer", "minimum": 0, "description": "minor units"},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
}
_LINE = {
    "type": "object",
    "required": ["sku", "quantity"],
    "properties": {"sku": {"type": "string", "maxLength": 100}, "quantity": {"type": "integer", "minimum": 0}, "unit_price": _MONEY},
}
# the shape of one event, for the OpenAPI document; each event is checked on its own by
# clienteling.ingest_events (an invalid one is rejected with its index, the rest accepted)
EVENT_DOC = {
    "type": "object",
    "required": ["id", "type", "occurred_at", "customer"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 100, "description": "the sender's event id: a second event with it is a duplicate"},
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "occurred_at": {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"},
        "customer": {
            "type": "object",
            "description": "at least one; an unknown email, phone or external id creates a profile",
            "additionalProperties": False,
            "properties": {"email": {"type": "string"}, "phone": {"type": "string"}, "external_id": {"type": "string", "maxLength": 320}},
        },
        "channel": {"type": "string", "enum": list(CHANNELS), "default": "web"},
        "sku": {"type": "string", "maxLength": 100, "description": "required for product_viewed, wishlist_added, wishlist_removed"},
        "data": {
            "type": "object",
            "description": "by type — product_searched: {query}; cart_updated: {cart_id, lines: [{sku, quantity}], total?: Money}; "
            "cart_abandoned: {cart_id}; order_placed: {order_id, lines: [{sku, quantity, unit_price: Money}], total: Money}; "
            "order_returned: {order_id, lines: [{sku, quantity}], total: Money refunded}; message_received: {text or subject, message_id?}; "
            "feedback_given: {csat? 1–5, nps? 0–10, comment?, appointment_id?}; product_viewed / wishlist_*: {url?}",
            "properties": {
                "query": {"type": "string"},
                "cart_id": {"type": "string"},
                "order_id": {"type": "string"},
                "lines": {"type": "array", "items": _LINE, "maxItems": 500},
                "total": _MONEY,
                "url": {"type": "string"},
                "text": {"type": "string"},
                "subject": {"type": "string"},
                "csat": {"type": "integer", "minimum": 1, "maximum": 5},
                "nps": {"type": "integer", "minimum": 0, "maximum": 10},
                "comment": {"type": "string"},
            },
        },
    },
}


class EventBatchIn(Schema):
    events = fields.List(
        fields.Raw(metadata=EVENT_DOC),
        required=True,
        validate=validate.Length(max=MAX_EVENTS, error=f"at most {MAX_EVENTS} events per batch"),
    )

    @pre_load
    def refuse_a_bare_list(self, data, **kwargs):
        if not isinstance(data, dict):
            raise MarshmallowError({"events": ['send an object, {"events": [...]}']})
        return data


class EventRejection(Schema):
    index = fields.Integer(metadata={"description": "the event's position in the batch"})
    error = fields.String(metadata={"description": "names the field: `events.3.occurred_at: needs an offset`"})


class EventBatchOut(Schema):
    accepted = fields.Integer(metadata={"description": "events written to a timeline"})
    duplicates = fields.Integer(metadata={"description": "events whose id was seen before (or earlier in the batch): written nowhere"})
    rejected = fields.List(fields.Nested(EventRejection))


@blp.route("/events", methods=["POST"])
@require_scope("events:write")
@blp.arguments(EventBatchIn)
@brand_wide("a customer's online activity is the brand's, not a store's")
@blp.response(202, EventBatchOut)
def post_events(data):
    """Send customer activity (views, searches, wishlists, carts, online orders and returns, messages, feedback): up to 1,000 events.

    Each event is checked on its own: an invalid one is listed under `rejected` with its index and an error
    naming the field, the others are written.  An event id seen before is counted under `duplicates` and never
    written twice (safe to retry a whole batch).  An unknown email, phone or external id creates a profile."""
    return clienteling.ingest_events(data["events"], current_principal().actor)
