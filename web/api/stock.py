"""Live stock endpoints: availability, movements, counts, transfers, reservations, the feed."""

from __future__ import annotations

from flask import Response, jsonify, stream_with_context

import inventory
from core import clock

from ..auth import current_principal, require_scope
from .access import body_field, brand_wide, reservation_store, store_access, transfer_destination
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import (
    AvailabilityOut,
    AvailabilityQuery,
    CountIn,
    CountOut,
    ErrorOut,
    FeedQuery,
    LedgerPage,
    LedgerQuery,
    LowStockPage,
    LowStockQuery,
    MovementIn,
    MovementOut,
    ReservationIn,
    ReservationOut,
    TransferIn,
    TransferOut,
    TransferReceiveIn,
)

blp = Blueprint("stock", __name__, url_prefix="/api/v1", description="Availability, reservations and the stock ledger")


def _actor():
    return current_principal().actor


@blp.route("/availability", methods=["GET"])
@require_scope("inventory:read")
@blp.arguments(AvailabilityQuery, location="query")
@brand_wide("stock at every location is what the tablet shows any associate: here, at the other stores, online")
@blp.response(200, AvailabilityOut)
def get_availability(args):
    """On hand, reserved and available for up to 200 SKUs (`sku` repeated or comma-separated), at one store or every location."""
    skus = [s.strip() for value in args["sku"] for s in value.split(",") if s.strip()]
    if len(skus) > inventory.MAX_SKUS:
        from core.errors import ValidationError

        raise ValidationError(f"at most {inventory.MAX_SKUS} SKUs per request", field="sku")
    items, unknown = inventory.availability(skus, args["store"])
    # the hottest read: plain dicts straight to JSON (AvailabilityOut documents the same shape)
    return jsonify({"items": items, "unknown": unknown, "next_cursor": None})


@blp.route("/reservations", methods=["POST"])
@require_scope("reservations:write")
@idempotent(required=True)
@blp.arguments(ReservationIn)
@store_access(body_field("store"))
@blp.response(201, ReservationOut)
@blp.alt_response(409, schema=ErrorOut, description="insufficient_stock: details.lines lists sku, requested, available")
def create_reservation(data):
    """Hold stock for an online order or a pickup: all lines or none. Needs `Idempotency-Key`."""
    reservation = inventory.reserve(data["store"], data["lines"], data["kind"], data["reference"], data["expires_in"], actor=_actor())
    return inventory.reservation_payload(reservation)


@blp.route("/reservations/<reservation_id>", methods=["GET"])
@require_scope("reservations:write")
@store_access(reservation_store)
@blp.response(200, ReservationOut)
@blp.alt_response(404, schema=ErrorOut, description="no such reservation, or one this key did not make")
def get_reservation(reservation_id):
    """One reservation and its status. A partner key reaches only the reservations it made."""
    return inventory.reservation_payload(inventory.get_reservation(reservation_id, actor=_actor()))


@blp.route("/reservations/<reservation_id>/commit", methods=["POST"])
@require_scope("reservations:write")
@store_access(reservation_store)
@blp.response(200, ReservationOut)
@blp.alt_response(404, schema=ErrorOut, description="no such reservation, or one this key did not make")
@blp.alt_response(422, schema=ErrorOut, description="released or expired (`invalid_transition`)")
def commit_reservation(reservation_id):
    """The held units leave on hand (a sale in the ledger). Safe to retry. A partner key reaches only the reservations it made."""
    return inventory.reservation_payload(inventory.commit_reservation(reservation_id, actor=_actor()))


@blp.route("/reservations/<reservation_id>/release", methods=["POST"])
@require_scope("reservations:write")
@store_access(reservation_store)
@blp.response(200, ReservationOut)
@blp.alt_response(404, schema=ErrorOut, description="no such reservation, or one this key did not make")
@blp.alt_response(422, schema=ErrorOut, description="already committed (`invalid_transition`)")
def release_reservation(reservation_id):
    """The held units become available again. Safe to retry. A partner key reaches only the reservations it made."""
    return inventory.reservation_payload(inventory.release_reservation(reservation_id, actor=_actor()))


@blp.route("/stock/movements", methods=["POST"])
@require_scope("inventory:write")
@idempotent(required=True)
@blp.arguments(MovementIn)
@store_access(body_field("store"))
@blp.response(201, MovementOut)
@blp.alt_response(409, schema=ErrorOut, description="on hand would go below zero or below the units held (`insufficient_stock`, `conflict`)")
def create_movement(data):
    """Receive, adjust (signed) or count (sets on hand, records the variance). Needs `Idempotency-Key`."""
    level, movement = inventory.record_movement(
        data["store"], data["sku"], data["kind"], data["quantity"], data["reason"], data["reference"], actor=_actor()
    )
    return {
        "id": movement.id,
        "store": data["store"],
        "sku": data["sku"],
        "kind": movement.kind,
        "quantity": movement.quantity,
        "counted": movement.counted,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
        "reason": movement.reason,
        "reference": movement.reference,
        "created_at": clock.isoformat(movement.created_at),
    }


@blp.route("/stock/movements", methods=["GET"])
@require_scope("inventory:read")
@blp.arguments(LedgerQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, LedgerPage)
def list_movements(args):
    """The ledger of one SKU at one location, newest first."""
    return {"items": inventory.movements(args["store"], args["sku"], args["limit"]), "next_cursor": None}


@blp.route("/stock/low", methods=["GET"])
@require_scope("inventory:read")
@blp.arguments(LowStockQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, LowStockPage)
def list_low_stock(args):
    """Low-stock signals: SKUs at a location whose available units are at or below their threshold."""
    from core.pagination import decode_cursor, encode_cursor

    after = decode_cursor(args["cursor"])
    items = inventory.low_stock(args["store"], after if isinstance(after, int) else None, args["limit"] + 1)
    next_cursor = encode_cursor(items[args["limit"] - 1]["id"]) if len(items) > args["limit"] else None
    return {"items": items[: args["limit"]], "next_cursor": next_cursor}


@blp.route("/stock/counts", methods=["POST"])
@require_scope("inventory:write")
@idempotent(required=True)
@blp.arguments(CountIn)
@store_access(body_field("store"))
@blp.response(201, CountOut)
@blp.alt_response(409, schema=ErrorOut, description="a line counted below what reservations hold (details.lines)")
def create_count(data):
    """A cycle count of several SKUs at one location: each line's expected, counted and variance."""
    lines = inventory.count_location(data["store"], [(l["sku"], l["counted"]) for l in data["lines"]], data["reason"], actor=_actor())
    return {"store": data["store"], "lines": lines}


@blp.route("/transfers", methods=["POST"])
@require_scope("inventory:write")
@idempotent(required=True)
@blp.arguments(TransferIn)
@store_access(body_field("source"))  # stock leaves the source: only its staff send it; the destination's receive it
@blp.response(201, TransferOut)
@blp.alt_response(409, schema=ErrorOut, description="not enough available at the source (`insufficient_stock`)")
def create_transfer(data):
    """Send stock from one location to another (out at the source now). Needs `Idempotency-Key`."""
    transfer = inventory.create_transfer(data["source"], data["destination"], data["lines"], data["reference"], actor=_actor())
    return inventory.transfer_payload(transfer)


@blp.route("/transfers/<transfer_id>/receive", methods=["POST"])
@require_scope("inventory:write")
@blp.arguments(TransferReceiveIn)
@store_access(transfer_destination)
@blp.response(200, TransferOut)
@blp.alt_response(400, schema=ErrorOut, description="a line names a SKU not on the transfer, twice, or too many units (details name the line)")
@blp.alt_response(422, schema=ErrorOut, description="already received (`invalid_transition`)")
def receive_transfer(data, transfer_id):
    """Receive a transfer at its destination (all units, or the `lines` that arrived)."""
    return inventory.transfer_payload(inventory.receive_transfer(transfer_id, data["lines"] or None, actor=_actor()))


@blp.route("/feeds/local-inventory", methods=["GET"])
@require_scope("inventory:read")
@blp.arguments(FeedQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, content_type="text/tab-separated-values", description="store_code, id, quantity, price, availability")
def local_inventory_feed(args):
    """The local inventory feed for shopping search engines, as tab-separated text."""
    inventory.get_location(args["store"])  # fail before streaming starts

    def generate():
        yield from inventory.iter_local_inventory_feed(args["store"])

    return Response(stream_with_context(generate()), mimetype="text/tab-separated-values")
