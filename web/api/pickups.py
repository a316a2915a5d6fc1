"""Staff endpoints for click-and-collect at the store: the pickups due, handing one over, refusing one.

A pickup is a ``pickup`` reservation the e-commerce site made at the store (``POST /api/v1/reservations``); see
``pos.pickups``.  Staff only (a session cookie or a staff token), at their own stores.  The POSTs accept an
``Idempotency-Key``; handing over twice, or refusing twice, answers the first result and writes nothing more.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

import pos

from ..auth import current_principal
from .access import reservation_store, store_access
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import ErrorOut
from .shifts import staff_member

blp = Blueprint("pickups", __name__, url_prefix="/api/v1", description="Click-and-collect pickups at the store (staff only)")


def _actor():
    return current_principal().actor


def path_store(*args, code, **kwargs):
    """The store named in the path."""
    return [code]


class PickupQuery(Schema):
    q = fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "an order reference (or part of it), the customer's name, or their scanned loyalty code"},
    )


class RefuseIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata={"description": "why the pickup is not taken"})


class PickupLineOut(Schema):
    sku = fields.String()
    title = fields.String()
    quantity = fields.Integer()


class PickupCustomerOut(Schema):
    id = fields.String()
    name = fields.String()
    loyalty_code = fields.String(allow_none=True)


class PickupOut(Schema):
    id = fields.String(metadata={"description": "the reservation's id"})
    reference = fields.String(metadata={"description": "the online order's reference"})
    status = fields.String(metadata={"enum": ["held", "committed", "released", "expired"]})
    store = fields.String()
    expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    closed_at = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(PickupLineOut))
    units = fields.Integer()
    customer = fields.Nested(PickupCustomerOut, allow_none=True, metadata={"description": "null when the reference links to no customer"})


class PickupPage(Schema):
    items = fields.List(fields.Nested(PickupOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every pickup due is on one page"})


@blp.route("/stores/<code>/pickups", methods=["GET"])
@staff_member
@blp.arguments(PickupQuery, location="query")
@store_access(path_store)
@blp.response(200, PickupPage)
def list_pickups(args, code):
    """The pickups waiting at a store, the soonest to expire first, with their lines and customer; `q` finds one by
    order reference, customer name or scanned loyalty code."""
    return {"items": pos.pickups_due(code, args["q"]), "next_cursor": None}


@blp.route("/pickups/<reservation_id>/hand-over", methods=["POST"])
@staff_member
@idempotent(required=False)
@store_access(reservation_store)
@blp.response(200, PickupOut)
@blp.alt_response(422, schema=ErrorOut, description="the pickup expired or was refused (`invalid_transition`)")
def hand_over(reservation_id):
    """Hand the pickup to the customer: the hold is committed (the units leave on hand) and their timeline says
    collected in store."""
    return pos.hand_over(reservation_id, _actor())


@blp.route("/pickups/<reservation_id>/refuse", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(RefuseIn)
@store_access(reservation_store)
@blp.response(200, PickupOut)
@blp.alt_response(422, schema=ErrorOut, description="the pickup was handed over or expired (`invalid_transition`)")
def refuse(data, reservation_id):
    """Record that the pickup is not taken, and why: the hold is released (the units available again)."""
    return pos.refuse(reservation_id, data["reason"], _actor())
