"""A customer's timeline and recommendations, for staff (the tablet's session or a staff token)."""

from __future__ import annotations

from functools import wraps

from flask import session
from marshmallow import Schema, fields, validate

import clienteling
import inventory
from clienteling import CHANNELS, TIMELINE_TYPES
from core import clock
from core.errors import ValidationError
from core.pagination import decode_cursor, encode_cursor

from ..auth import current_principal
from ..errors import ApiError
from .access import body_field, brand_wide, store_access
from .blueprint import Blueprint
from .schemas import ErrorOut

blp = Blueprint("timeline", __name__, url_prefix="/api/v1", description="A customer's timeline and recommendations (staff)")

KIOSK_SESSION_KEY = "kiosk_device_id"  # web.kiosk.SESSION_KEY: a kiosk browser never reaches customer data


def staff_only(view):
    """401 without credentials; 403 for a partner API key or a kiosk: customer data is for staff."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = current_principal()
        if principal is None:
            if session.get(KIOSK_SESSION_KEY) is not None:
                raise ApiError(403, "forbidden", "a kiosk never reaches customer data")
            raise ApiError(401, "unauthorized", "sign in, or send 'Authorization: Bearer <staff token>'", headers={"WWW-Authenticate": "Bearer"})
        if principal.kind != "staff":
            raise ApiError(403, "forbidden", "customer data is for staff: use a staff session or a staff token")
        return view(*args, **kwargs)

    return wrapper


STAFF_401 = "no staff session or staff token, or an expired or revoked one"
STAFF_403 = "a partner API key or a kiosk: customer data is for staff only"


class TimelineQuery(Schema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    type = fields.String(load_default=None, validate=validate.OneOf(TIMELINE_TYPES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class TimelineItem(Schema):
    id = fields.String(metadata={"description": "the event's id (the sender's, or the product's own `evt_…`)"})
    type = fields.String()
    channel = fields.String()
    occurred_at = fields.String(metadata={"description": "ISO 8601 with an offset"})
    sku = fields.String(allow_none=True)
    data = fields.Dict()


class TimelinePage(Schema):
    items = fields.List(fields.Nested(TimelineItem))
    next_cursor = fields.String(allow_none=True)


def _timeline_cursor(raw: str | None):
    value = decode_cursor(raw)
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)):
        raise ValidationError("not a valid cursor", field="cursor")
    try:
        from datetime import datetime

        datetime.fromisoformat(value[0])
    except ValueError:
        raise ValidationError("not a valid cursor", field="cursor") from None
    return value[0], value[1]


@blp.route("/customers/<customer_id>/timeline", methods=["GET"])
@staff_only
@blp.arguments(TimelineQuery, location="query")
@brand_wide("a customer is the brand's, served at any store")
@blp.response(200, TimelinePage)
@blp.alt_response(401, schema=ErrorOut, description=STAFF_401)
@blp.alt_response(403, schema=ErrorOut, description=STAFF_403)
def get_timeline(args, customer_id):
    """One page of the customer's timeline across channels, newest first; `next_cursor` fetches the next.

    Filter by `channel` and `type`.  Without the customer's personalisation consent their online activity
    (web, app, social, chat) is left out."""
    customer = clienteling.find_customer(customer_id)
    events, next_cursor = clienteling.timeline_page(
        customer,
        cursor=_timeline_cursor(args["cursor"]),
        channel=args["channel"],
        type=args["type"],
        limit=args["limit"],
        show_online=clienteling.has_consent(customer, "personalisation"),
    )
    items = [
        {"id": e.event_id, "type": e.type, "channel": e.channel, "occurred_at": clock.isoformat(e.occurred_at), "sku": e.sku, "data": e.data or {}}
        for e in events
    ]
    return {"items": items, "next_cursor": encode_cursor(list(next_cursor)) if next_cursor else None}


class RecommendationQuery(Schema):
    store = fields.String(load_default=None, validate=validate.Length(min=1, max=40), metadata={"description": "default: your first store"})
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=24))


class RecommendationOut(Schema):
    sku = fields.String()
    title = fields.String()
    product_handle = fields.String()
    size = fields.String(allow_none=True)
    options = fields.Dict()
    available_here = fields.Integer()
    shelf = fields.String(allow_none=True, metadata={"description": "zone, aisle and bay at this store, when placed"})
    score = fields.Float()
    reason = fields.String(metadata={"description": "why, in words: `viewed online 3 times this week; 2 in stock here in M, aisle 4`"})
    source = fields.String(metadata={"description": "online_interest or bought_together"})


class RecommendationPage(Schema):
    store = fields.String()
    items = fields.List(fields.Nested(RecommendationOut))
    next_cursor = fields.String(allow_none=True)


def _default_store(staff) -> str:
    stores = [store for store in staff.stores if store.active and store.kind == "store"]
    if not stores and staff.role == "admin":
        stores = inventory.list_locations(kinds=("store",))
    if not stores:
        raise ValidationError("name a store", field="store")
    return stores[0].code


@blp.route("/customers/<customer_id>/recommendations", methods=["GET"])
@staff_only
@blp.arguments(RecommendationQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, RecommendationPage)
@blp.alt_response(401, schema=ErrorOut, description=STAFF_401)
@blp.alt_response(403, schema=ErrorOut, description=STAFF_403 + "; or a store you don't work at (`error.details.store`)")
def get_recommendations(args, customer_id):
    """Products to show the customer at a store, each in stock there in their size, with a reason in words.

    First what they viewed, wishlisted or left in a cart online (only with their personalisation consent),
    by recency and frequency; then what others often bought together with what they bought."""
    customer = clienteling.find_customer(customer_id)
    store = args["store"] or _default_store(current_principal().staff)
    return {"store": store, "items": clienteling.recommend(customer, store, limit=args["limit"]), "next_cursor": None}
