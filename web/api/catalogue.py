"""Catalogue endpoints: products, barcode look-up, stores."""

from __future__ import annotations

import inventory
from core.errors import NotFound, ValidationError

from ..auth import require_scope
from .access import brand_wide
from .blueprint import Blueprint
from .schemas import BarcodeLookupOut, ErrorOut, ProductIn, ProductOut, ProductPage, ProductQuery, StorePage

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1", description="Products, barcodes and stores")


@blp.route("/products/<handle>", methods=["PUT"])
@require_scope("inventory:write")
@blp.arguments(ProductIn)
@brand_wide("the catalogue is the brand's")
@blp.response(200, ProductOut, description="updated")
@blp.alt_response(201, schema=ProductOut, description="created", success=True)
@blp.alt_response(409, schema=ErrorOut, description="a SKU or barcode belongs to another product")
def put_product(data, handle):
    """Create or replace a product with its variants (idempotent upsert by handle).

    A handle may be in any script, percent-encoded in the URL or not, in any Unicode normal form
    (it is stored in NFC); it holds no '/', whitespace or control character."""
    handle = inventory.normalise_handle(handle)
    if data.get("handle") is not None and inventory.normalise_handle(data["handle"]) != handle:
        raise ValidationError("the body's handle differs from the URL's", field="handle")
    data["handle"] = handle
    product, created = inventory.upsert_product(data)
    return product, 201 if created else 200


@blp.route("/products/<handle>", methods=["GET"])
@require_scope("inventory:read")
@brand_wide("the catalogue is the brand's")
@blp.response(200, ProductOut)
def get_product(handle):
    """One product with variants, prices and barcodes; the handle as for PUT."""
    return inventory.get_product(handle)


@blp.route("/products", methods=["GET"])
@require_scope("inventory:read")
@blp.arguments(ProductQuery, location="query")
@brand_wide("the catalogue is the brand's")
@blp.response(200, ProductPage)
def list_products(args):
    """Search by name, SKU, barcode or attribute (every word must match); cursor-paged by `next_cursor`."""
    statuses = None if args["status"] == "any" else (args["status"],)
    items, next_cursor = inventory.search_products(args["q"], args["cursor"], args["limit"], statuses=statuses)
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/barcodes/<code>", methods=["GET"])
@require_scope("inventory:read")
@brand_wide("the catalogue is the brand's")
@blp.response(200, BarcodeLookupOut)
def lookup_barcode(code):
    """The variant a scanned EAN-13 or UPC-A belongs to (either form of a UPC-A)."""
    variant = inventory.find_variant_by_barcode(code)
    if variant is None:
        raise NotFound(f"no variant has barcode {code}")
    return {"barcode": code, "sku": variant.sku, "handle": variant.product.handle, "title": variant.product.title, "variant": variant}


@blp.route("/stores", methods=["GET"])
@require_scope("inventory:read")
@brand_wide("the list of stores is the brand's")
@blp.response(200, StorePage)
def list_stores():
    """Stores and warehouses: codes, names, time zones."""
    return {"items": inventory.list_locations(), "next_cursor": None}
