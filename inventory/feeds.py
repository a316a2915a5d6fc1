"""The local inventory feed shopping search engines ingest (tab-separated)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import and_, select

from core.db import db
from core.money import Money

from .models import Product, StockLevel, Variant
from .stock import get_location

FEED_COLUMNS = ("store_code", "id", "quantity", "price", "availability")
LIMITED_AT = 2  # 1..LIMITED_AT available units is "limited_availability"


def availability_label(available: int) -> str:
    if available <= 0:
        return "out_of_stock"
    if available <= LIMITED_AT:
        return "limited_availability"
    return "in_stock"


def iter_local_inventory_feed(store: str, batch: int = 2000):
    """Yield the feed as TSV text chunks: a header, then one row per active variant (streamed)."""
    location = get_location(store)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(FEED_COLUMNS)
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Variant.id, Variant.sku, Variant.price_amount, Variant.currency, StockLevel.on_hand, StockLevel.reserved)
            .join(Product, Product.id == Variant.product_id)
            .outerjoin(StockLevel, and_(StockLevel.variant_id == Variant.id, StockLevel.location_id == location.id))
            .where(Product.status == "active", Variant.id > last_id)
            .order_by(Variant.id)
            .limit(batch)
        ).all()
        for row in rows:
            available = max((row.on_hand or 0) - (row.reserved or 0), 0)
            money = Money(row.price_amount, row.currency)
            exp = Money.exponent(row.currency)
            price = f"{row.price_amount / 10**exp:.{exp}f} {money.currency}"
            writer.writerow((location.code, row.sku, available, price, availability_label(available)))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < batch:
            break
        last_id = rows[-1].id
