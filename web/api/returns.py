"""Staff endpoints for returns: take items of an order back and refund them to its tenders (SPEC §3), and list an
order's returns.  Orders to return are found with ``GET /api/v1/orders`` (``q``: number or card last 4;
``customer``: a customer id).

A return needs an ``Idempotency-Key``: a retried request answers the first return and never refunds twice.
"""

from __future__ import annotations

import hashlib

from flask import request
from marshmallow import Schema, fields, validate

import pos

from ..auth import current_principal
from .access import store_access
from .blueprint import Blueprint
from .carts import ApprovalSchema
from .idempotency import idempotent
from .orders import order_store
from .schemas import SKU, ErrorOut, MoneyOut
from .shifts import REGISTER, staff_member

blp = Blueprint("returns", __name__, url_prefix="/api/v1", description="Returns and refunds against an order (staff only)")


class ReturnLineIn(Schema):
    sku = fields.String(required=True, validate=SKU)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=999))
    restock = fields.Boolean(required=True, metadata={"description": "true: back on the shelf (a `return` ledger line); false: damaged"})


class ReturnIn(Schema):
    lines = fields.List(fields.Nested(ReturnLineIn), required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    register = fields.String(
        load_default=None,
        validate=REGISTER,
        metadata={"description": "the register doing the return: its open shift pays cash when the order's own shift is closed"},
    )
    approval = fields.Nested(ApprovalSchema, metadata={"description": "a manager's PIN or sign-in, for a refund above the store's threshold"})


class ReturnLineOut(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    restock = fields.Boolean()
    amount = fields.Nested(MoneyOut, metadata={"description": "what these units refund: their share of what was paid for the line"})


class RefundOut(Schema):
    kind = fields.String(metadata={"enum": list(pos.REFUND_KINDS)})
    amount = fields.Nested(MoneyOut)
    payment_id = fields.String(allow_none=True, metadata={"description": "the tender refunded"})
    gateway_refund_id = fields.String(allow_none=True, metadata={"description": "card / QR: the gateway's refund id"})


class ReturnOut(Schema):
    id = fields.String()
    order_id = fields.String()
    number = fields.String(metadata={"description": "the order's number"})
    store = fields.String()
    reason = fields.String()
    lines = fields.List(fields.Nested(ReturnLineOut))
    refunds = fields.List(fields.Nested(RefundOut))
    total_refunded = fields.Nested(MoneyOut)
    approved_by = fields.Integer(allow_none=True, metadata={"description": "the approving manager's staff id"})
    actor = fields.String()
    created_at = fields.String()


class ReturnList(Schema):
    items = fields.List(fields.Nested(ReturnOut))


@blp.route("/orders/<order_id>/returns", methods=["POST"])
@staff_member
@idempotent(required=True)
@blp.arguments(ReturnIn)
@store_access(order_store)
@blp.response(201, ReturnOut)
@blp.alt_response(403, schema=ErrorOut, description="a refund above the store's threshold needs a manager (`approval_required`, `approval_refused`)")
@blp.alt_response(
    409,
    schema=ErrorOut,
    description="`not_returnable` (details: lines with requested and returnable), `no_open_shift` or `insufficient_cash` for a cash refund",
)
@blp.alt_response(422, schema=ErrorOut, description="the order is not completed (`invalid_transition`)")
def create_return(data, order_id):
    """Take items of an order back (restocked, or kept off the shelf as damaged) and refund them to its tenders:
    card and QR first, then cash from an open shift's drawer."""
    principal = current_principal()
    key = hashlib.sha256(f"{principal.key}|{order_id}|{request.headers['Idempotency-Key']}".encode()).hexdigest()[:32]
    sale_return = pos.create_return(
        order_id,
        data["lines"],
        data["reason"],
        principal.actor,
        approval=data.get("approval"),
        register_code=data["register"],
        gateway_reference=f"rfd_{key}",
    )
    return pos.return_payload(sale_return)


@blp.route("/orders/<order_id>/returns", methods=["GET"])
@staff_member
@store_access(order_store)
@blp.response(200, ReturnList)
def list_returns(order_id):
    """The order's returns, oldest first."""
    return {"items": [pos.return_payload(sale_return) for sale_return in pos.list_returns(pos.get_order(order_id))]}
