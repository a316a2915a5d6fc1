"""Reading orders: one by id or number, lists by customer, store, number or card last 4, and their payload."""

from __future__ import annotations

from sqlalchemy import or_, select

from clienteling import Customer
from core import clock
from core.db import db
from core.errors import NotFound, ValidationError
from core.money import Money
from inventory import Reservation

from .endless_aisle import fulfilment_details
from .order_models import Order, Payment


def get_order(order_id: str, lock: bool = False) -> Order:
    """The order with this id (``ord_…``) or number (``BER-MITTE-000042``); NotFound otherwise."""
    query = select(Order).where(or_(Order.public_id == order_id, Order.number == order_id))
    if lock:
        query = query.with_for_update(of=Order).execution_options(populate_existing=True)
    order = db.session.scalar(query)
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order


def find_order_by_receipt_token(token: str) -> Order:
    """The order whose public receipt this token opens; NotFound otherwise (also for an empty token)."""
    order = db.session.scalar(select(Order).where(Order.receipt_token == token)) if token else None
    if order is None:
        raise NotFound("no such receipt")
    return order


def list_orders(
    store_ids: list[int] | None, customer_id: int | None = None, q: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[Order]:
    """Orders newest first at these stores (None: every store), of one customer, or matching ``q``: an order
    number (or its tail, "42" finds BER-MITTE-000042), or the last 4 digits of the card that paid."""
    query = select(Order).order_by(Order.id.desc()).limit(limit)
    if store_ids is not None:
        query = query.where(Order.location_id.in_(store_ids))
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    if before_id is not None:
        query = query.where(Order.id < before_id)
    if q:
        text = q.strip()
        if len(text) > 60:
            raise ValidationError("a search is at most 60 characters", field="q")
        conditions = [Order.number == text.upper(), Order.public_id == text]
        if text.isdigit():
            conditions.append(Order.number.like(f"%-{int(text):06d}"))
            if len(text) == 4:
                conditions.append(Order.id.in_(select(Payment.order_id).where(Payment.card_last4 == text)))
        query = query.where(or_(*conditions))
    return list(db.session.scalars(query))


def order_payload(order: Order) -> dict:
    """The order as the API shows it (SPEC §3), every amount Money; ``receipt_path`` is the receipt page's path
    (the web layer makes it the absolute ``receipt_url``)."""

    def money(amount):
        return Money(amount, order.currency).to_dict()

    customer = db.session.get(Customer, order.customer_id) if order.customer_id else None
    tenders = []
    for payment in order.payments:
        tender = {"id": payment.public_id, "kind": payment.kind, "status": payment.status, "amount": money(payment.amount)}
        if payment.kind == "cash":
            tender["tendered"] = money(payment.tendered or 0)
            tender["change"] = money(payment.change or 0)
        else:
            tender["card"] = {"brand": payment.card_brand, "last4": payment.card_last4} if payment.card_last4 else None
        if payment.refunded_amount:
            tender["refunded"] = money(payment.refunded_amount)
        tenders.append(tender)
    return {
        "id": order.public_id,
        "number": order.number,
        "status": order.status,
        "store": order.location.code,
        "customer_id": customer.public_id if customer else None,
        "currency": order.currency,
        "lines": [
            {
                "id": line.id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "returned_quantity": line.returned_quantity,
                "unit_price": money(line.unit_price),
                "discount": money(line.discount),
                "tax": money(line.tax),
                "tax_rate": line.tax_rate,
                "total": money(line.total),
                "fulfilment": line.fulfilment,
                "fulfilment_details": _fulfilment(line),
            }
            for line in order.lines
        ],
        "totals": {"subtotal": money(order.subtotal), "discount": money(order.discount), "tax": money(order.tax), "total": money(order.total)},
        "tax_mode": order.tax_mode,
        "cash_rounding": money(order.cash_rounding),
        "promo_code": order.promo_code or None,
        "tenders": tenders,
        "created_at": clock.isoformat(order.created_at),
        "completed_at": clock.isoformat(order.completed_at),
        "receipt_path": f"/r/{order.receipt_token}",
    }


def _fulfilment(line) -> dict | None:
    """An endless-aisle line's fulfilment (``pos.endless_aisle.fulfilment_details``) with the hold made for it at
    checkout (``reservation_id``, None until the order completes); None for take-now."""
    details = fulfilment_details(line)
    if details is not None:
        reservation = db.session.get(Reservation, line.reservation_id) if line.reservation_id else None
        details["reservation_id"] = reservation.public_id if reservation else None
    return details
