"""Staff endpoints for orders: one by id or number, lists by customer, store, number or card last 4."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

import inventory
import pos
from clienteling import find_customer
from core.errors import NotFound, ValidationError
from core.pagination import decode_cursor, encode_cursor

from ..auth import current_principal
from .access import body_field, store_access
from .blueprint import Blueprint
from .carts import OrderOut, order_answer
from .schemas import STORE_CODE
from .shifts import staff_member

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders sold in store (staff only)")


def order_store(*args, order_id, **kwargs):
    """The store an order was sold at (None when there is no such order: the view answers 404)."""
    try:
        return [pos.get_order(order_id).location.code]
    except NotFound:
        return [None]


class OrderQuery(Schema):
    store = fields.String(load_default=None, validate=STORE_CODE, metadata={"description": "a store code; default: every store you work at"})
    customer = fields.String(load_default=None, validate=validate.Length(max=60), metadata={"description": "a customer id"})
    q = fields.String(
        load_default=None,
        validate=validate.Length(max=60),
        metadata={"description": "an order number (or its last digits) or a card's last 4 digits"},
    )
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class OrderPage(Schema):
    items = fields.List(fields.Nested(OrderOut))
    next_cursor = fields.String(allow_none=True)


@blp.route("/orders", methods=["GET"])
@staff_member
@blp.arguments(OrderQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, OrderPage)
def list_orders(args):
    """Orders newest first: at one store or every store you work at, of one customer, or found by number or card last 4."""
    staff = current_principal().staff
    if args["store"]:
        store_ids = [inventory.get_location(args["store"]).id]
    elif staff.role == "admin":
        store_ids = None
    else:
        store_ids = [store.id for store in staff.stores if store.active]
    customer_id = None
    if args["customer"]:
        try:
            customer_id = find_customer(args["customer"]).id
        except NotFound:
            raise ValidationError(f"no customer {args['customer']}", field="customer") from None
    before = decode_cursor(args["cursor"])
    if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
        raise ValidationError("not a valid cursor", field="cursor")
    orders = pos.list_orders(store_ids, customer_id, args["q"], before, args["limit"] + 1)
    page = orders[: args["limit"]]
    next_cursor = encode_cursor(page[-1].id) if len(orders) > args["limit"] else None
    return {"items": [order_answer(order) for order in page], "next_cursor": next_cursor}


@blp.route("/orders/<order_id>", methods=["GET"])
@staff_member
@store_access(order_store)
@blp.response(200, OrderOut)
def get_order(order_id):
    """One order, by id or number."""
    return order_answer(pos.get_order(order_id))
