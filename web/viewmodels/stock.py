"""Stock as the faces show it.

``stock_state`` is the one rule for "in stock / low / out" — badges, option buttons, stock
panels, live toasts and the kiosk's words all go through it; the faces differ only in words.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core import clock

IN, LOW, OUT = "in", "low", "out"


def stock_state(available: int, low: bool = False) -> str:
    """'out' when nothing is available, 'low' when what is left is at or below the low-stock
    threshold (``low`` as ``inventory.stock_by_location`` reports it), else 'in'."""
    if available <= 0:
        return OUT
    return LOW if low else IN


def split_stock(rows: list[dict], store_id: int | None) -> tuple[dict | None, list[dict], list[dict]]:
    """(this store's row, other stores' rows, warehouse rows) from ``stock_by_location`` rows."""
    here = next((row for row in rows if row["location"].id == store_id), None)
    others = [row for row in rows if row["location"].kind == "store" and row["location"].id != store_id]
    warehouses = [row for row in rows if row["location"].kind == "warehouse"]
    return here, others, warehouses


def product_stock_here(variants, stock: dict[int, list[dict]], store_id: int | None) -> tuple[int, bool]:
    """(units available at the store over all variants, low?) — low when every variant that has
    stock is at or below its low-stock threshold."""
    total, all_low = 0, True
    for variant in variants:
        here, _, _ = split_stock(stock.get(variant.id, []), store_id)
        if here and here["available"] > 0:
            total += here["available"]
            all_low = all_low and here["low"]
    return total, total > 0 and all_low


# --- words per face -------------------------------------------------------------------------


def tablet_badge(total: int, low: bool, store) -> dict:
    """A search card's badge for an associate: numbers, since staff need them."""
    if store is None:
        return {"label": "No store chosen", "state": OUT}
    state = stock_state(total, low)
    label = {IN: f"{total} here", LOW: f"Low: {total} here", OUT: "None here"}[state]
    return {"label": label, "state": state}


def kiosk_badge(total: int, low: bool, store) -> dict:
    """A card's badge for a customer: words, and a number only when few are left."""
    state = stock_state(total, low)
    label = {IN: "In stock here", LOW: f"Only {total} left here", OUT: "Not in stock here"}[state]
    return {"label": label, "state": state}


def _local_time(timezone: str) -> str:
    try:
        return clock.now().astimezone(ZoneInfo(timezone)).strftime("%H:%M")
    except (KeyError, ValueError):
        return ""


def tablet_stock(rows: list[dict], store) -> dict:
    """A variant's stock for an associate: here (numbers, shelf), the other stores, the warehouses."""
    here, others, warehouses = split_stock(rows, store.id if store else None)
    return {
        "state": stock_state(here["available"], here["low"]) if here else OUT,
        "hint": f"{here['available']} here" if here else "",
        "here": None
        if here is None
        else {
            "on_hand": here["on_hand"],
            "reserved": here["reserved"],
            "available": here["available"],
            "low": here["low"],
            "state": stock_state(here["available"], here["low"]),
            "shelf": here["shelf"].label if here["shelf"] else None,
        },
        "others": [
            {
                "name": row["location"].name,
                "code": row["location"].code,
                "timezone": row["location"].timezone,
                "local_time": _local_time(row["location"].timezone),
                "available": row["available"],
                "low": row["low"],
            }
            for row in others
        ],
        "warehouses": [{"name": row["location"].name, "code": row["location"].code, "available": row["available"]} for row in warehouses],
    }


def kiosk_stock(rows: list[dict], store) -> dict:
    """A variant's stock for a customer: in words, where to find it, whether it exists elsewhere."""
    here, others, warehouses = split_stock(rows, store.id)
    available = here["available"] if here else 0
    state = stock_state(available, bool(here and here["low"]))
    label = {IN: "In stock here", LOW: f"Only {available} left here", OUT: "Not in stock here"}[state]
    return {
        "state": state,
        "hint": "",
        "label": label,
        "shelf": here["shelf"].label if here and here["shelf"] and state != OUT else None,
        "other_stores": [row["location"].name for row in others if row["available"] > 0],
        "online": any(row["available"] > 0 for row in warehouses),
    }


def live_stock_words(sku: str, available: int) -> str:
    """The toast a tablet shows when a SKU's stock changes at its store: 'RTJ-MOSS-M: 2 left here'."""
    if stock_state(available) == OUT:
        return f"{sku}: none left here"
    return f"{sku}: {available} left here"
