"""Availability = on hand − reserved, per SKU and location."""
from __future__ import annotations

from sqlalchemy import and_, select

from core.db import db

from .models import Location, StockLevel, Variant
from .stock import get_location

MAX_SKUS = 200


def availability(skus: list[str], store: str | None = None) -> tuple[list[dict], list[str]]:
    """One item per known SKU and location (one store, or every active location), and the unknown SKUs.

    Read-only and lock-free: it answers the last committed numbers.
    """
    ordered = list(dict.fromkeys(skus))
    locations = [get_location(store)] if store else list(
        db.session.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.kind, Location.code))
    )
    location_ids = [l.id for l in locations]
    variants = dict(db.session.execute(select(Variant.sku, Variant.id).where(Variant.sku.in_(ordered))).all())
    levels = {
        (row.variant_id, row.location_id): (row.on_hand, row.reserved)
        for row in db.session.execute(
            select(StockLevel.variant_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved).where(
                and_(StockLevel.variant_id.in_(list(variants.values())), StockLevel.location_id.in_(location_ids))
            )
        )
    } if variants else {}
    items = []
    for sku in ordered:
        variant_id = variants.get(sku)
        if variant_id is None:
            continue
        for location in locations:
            on_hand, reserved = levels.get((variant_id, location.id), (0, 0))
            items.append({"sku": sku, "store": location.code, "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved})
    unknown = [sku for sku in ordered if sku not in variants]
    return items, unknown
