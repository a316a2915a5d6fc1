"""Availability = on hand − reserved, per SKU and location."""

from __future__ import annotations

from functools import cache

from sqlalchemy import ARRAY, String, and_, any_, bindparam, func, select

from core.db import db, read_connection

from .models import Location, StockLevel, Variant
from .stock import get_location

MAX_SKUS = 200


def availability(skus: list[str], store: str | None = None) -> tuple[list[dict], list[str]]:
    """One item per known SKU and location (one store, or every active location), and the unknown SKUs.

    Read-only and lock-free: it answers the last committed numbers, in one SQL statement
    (SKUs × locations, left-joined to their stock rows).  An unknown store is a ValidationError.
    """
    ordered = list(dict.fromkeys(skus))
    if not ordered:
        if store:
            get_location(store)
        return [], []
    params = {"skus": ordered}
    if store:
        params["store"] = store
    by_sku: dict[str, list[dict]] = {}
    with read_connection() as connection:
        rows = connection.execute(_query(connection.dialect.name, bool(store)), params).all()
    for sku, code, on_hand, reserved in rows:
        by_sku.setdefault(sku, []).append({"sku": sku, "store": code, "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved})
    if store and not by_sku:
        get_location(store)  # an unknown store is an error; a known one means every SKU is unknown
    if not store and not by_sku:
        # no active location at all: a SKU is unknown only if no such variant exists
        known = set(db.session.scalars(select(Variant.sku).where(Variant.sku.in_(ordered))))
        return [], [sku for sku in ordered if sku not in known]
    items = [item for sku in ordered for item in by_sku.get(sku, ())]
    return items, [sku for sku in ordered if sku not in by_sku]


@cache
def _query(dialect: str, one_store: bool):
    """The statement, built once per dialect and shape: this is the hottest read, and building and
    compiling a select per request cost more than running it.  On PostgreSQL the SKUs travel as one
    array parameter (``sku = ANY(:skus)``), so the SQL text never changes and psycopg prepares it."""
    if dialect == "postgresql":
        wanted = Variant.sku == any_(bindparam("skus", type_=ARRAY(String)))
    else:
        wanted = Variant.sku.in_(bindparam("skus", expanding=True))
    query = (
        select(Variant.sku, Location.code, func.coalesce(StockLevel.on_hand, 0), func.coalesce(StockLevel.reserved, 0))
        .select_from(Variant)
        .join(Location, Location.active.is_(True))
        .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id, StockLevel.location_id == Location.id))
        .where(wanted)
        .order_by(Location.kind, Location.code)
    )
    if one_store:
        query = query.where(Location.code == bindparam("store"))
    return query
