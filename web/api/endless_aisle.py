"""Staff endpoint for the endless aisle: where else a SKU is available, for the tablet to offer shipping it or
collecting it elsewhere (a cart line with ``fulfilment``, see ``POST /api/v1/carts/{id}/lines``)."""

from __future__ import annotations

from marshmallow import Schema, fields

import pos

from .access import body_field, store_access
from .blueprint import Blueprint
from .schemas import SKU, STORE_CODE
from .shifts import staff_member

blp = Blueprint("endless_aisle", __name__, url_prefix="/api/v1", description="Endless aisle: stock at other locations (staff only)")


class ElsewhereQuery(Schema):
    store = fields.String(required=True, validate=STORE_CODE, metadata={"description": "the store selling (left out of the answer)"})
    sku = fields.String(required=True, validate=SKU)


class ElsewhereOut(Schema):
    location = fields.String(metadata={"description": "the location's code"})
    name = fields.String()
    kind = fields.String(metadata={"enum": ["warehouse", "store"]})
    available = fields.Integer()


class ElsewherePage(Schema):
    items = fields.List(fields.Nested(ElsewhereOut))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every location is on one page"})


@blp.route("/stock/elsewhere", methods=["GET"])
@staff_member
@blp.arguments(ElsewhereQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, ElsewherePage)
def elsewhere(args):
    """The other locations with the SKU available now: the warehouse first, then stores with the most units."""
    return {"items": pos.where_else(args["store"], args["sku"]), "next_cursor": None}
