"""The webhook event types the pos package emits."""

from core.outbox import declare_event_types

ORDER_COMPLETED = "order.completed"
ORDER_REFUNDED = "order.refunded"

declare_event_types("pos", ORDER_COMPLETED, ORDER_REFUNDED)
