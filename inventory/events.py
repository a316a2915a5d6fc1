"""The webhook event types the inventory package emits."""

from core.outbox import declare_event_types

STOCK_CHANGED = "stock.changed"
RESERVATION_HELD = "reservation.held"
RESERVATION_COMMITTED = "reservation.committed"
RESERVATION_RELEASED = "reservation.released"
RESERVATION_EXPIRED = "reservation.expired"
TRANSFER_CREATED = "transfer.created"
TRANSFER_RECEIVED = "transfer.received"
PRODUCT_UPDATED = "product.updated"

declare_event_types(
    "inventory",
    STOCK_CHANGED,
    RESERVATION_HELD,
    RESERVATION_COMMITTED,
    RESERVATION_RELEASED,
    RESERVATION_EXPIRED,
    TRANSFER_CREATED,
    TRANSFER_RECEIVED,
    PRODUCT_UPDATED,
)
