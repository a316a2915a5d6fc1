"""Checkout: a cart becomes an order, atomically.

``checkout`` prices the cart, checks the tenders, and — all in the caller's one transaction — writes the order, its
lines and payments, sells the take-now units through ``inventory.sell_units`` (consuming the cart's holds),
reserves endless-aisle lines at the location that ships them or where they are collected, redeems the promo code,
puts the cash into the register's open shift, writes the customer's ``purchase_in_store`` timeline entry and emits
``order.completed`` through the outbox.  Any failure raises before the commit and the web layer rolls everything
back: the cart stays open as it was.  A cart has at most one order (``sale_order.cart_id`` is unique), so two
checkouts of one cart never both succeed.

Lock order: the cart, then reservation headers, then stock rows (inventory), then the shift (cash drawer).
Card and pay-by-QR tenders leave the order ``awaiting_payment`` (``pos.payments`` starts them); it completes with
``complete_paid_order`` when the gateway confirms.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

import inventory
from clienteling import Customer, record_activity
from core import clock
from core.actor import Actor
from core.db import db
from core.errors import InsufficientStock, InvalidTransition, ValidationError
from core.money import Money
from core.outbox import emit, new_id

from .cart_models import Cart
from .carts import get_cart, price
from .order_models import TENDER_KINDS, Order, OrderLine, Payment
from .pricing import CartTotals, TenderShort, round_cash
from .promotions import find_promo, redeem_promo
from .promotions_models import PromoCode
from .shifts import NoOpenShift, open_shift_of, record_cash_sale

ENDLESS_AISLE_HOLD = timedelta(days=14)


def _tenders(tenders, currency: str) -> list[dict]:
    if not isinstance(tenders, list) or not tenders:
        raise ValidationError("a checkout needs at least one tender", field="tenders")
    checked = []
    for index, tender in enumerate(tenders):
        kind = tender.get("kind")
        if kind not in TENDER_KINDS:
            raise ValidationError(f"a tender is one of {', '.join(TENDER_KINDS)}", field=f"tenders.{index}.kind")
        amount = tender.get("amount")
        if not isinstance(amount, Money) or amount.currency != currency:
            raise ValidationError(f"the amount is Money in {currency}", field=f"tenders.{index}.amount")
        if amount.amount <= 0:
            raise ValidationError("a tender's amount is more than zero", field=f"tenders.{index}.amount")
        checked.append({**tender, "kind": kind, "amount": amount.amount, "index": index})
    if sum(1 for t in checked if t["kind"] == "cash") > 1:
        raise ValidationError("give the cash as one tender: the whole amount handed over", field="tenders")
    return checked


def plan_tenders(total: int, tenders: list[dict], currency: str) -> dict:
    """What each tender pays of ``total``: cards and QR pay their amounts (together at most the total); cash pays
    the rest rounded to the currency's coins, the tendered cash above that is change.  Answers
    ``{"cash": {"tendered", "paid", "change"} or None, "electronic": [tenders], "rounding": int}``; TenderShort
    (422 ``tender_short``) when the tenders do not cover the total."""
    electronic = [t for t in tenders if t["kind"] != "cash"]
    cash = next((t for t in tenders if t["kind"] == "cash"), None)
    electronic_total = sum(t["amount"] for t in electronic)
    if electronic_total > total:
        raise ValidationError("card and QR tenders together cannot be more than the total", field="tenders")
    rest = total - electronic_total
    if cash is None:
        if rest > 0:
            raise TenderShort(rest, currency)
        return {"cash": None, "electronic": electronic, "rounding": 0}
    due = round_cash(rest, currency)
    if due <= 0:
        raise ValidationError("nothing is left to pay in cash", field=f"tenders.{cash['index']}")
    if cash["amount"] < due:
        raise TenderShort(due - cash["amount"], currency)
    return {"cash": {"tendered": cash["amount"], "paid": due, "change": cash["amount"] - due}, "electronic": electronic, "rounding": due - rest}


def _promo(cart: Cart, totals: CartTotals) -> PromoCode | None:
    if not cart.promo_code_id:
        return None
    promo = db.session.get(PromoCode, cart.promo_code_id)
    worth = totals.subtotal - totals.discount + totals.promo_discount
    find_promo(promo.code, None, Money(worth, cart.currency))  # still valid now (dates, minimum spend)
    return promo


def checkout(cart_id: str, tenders, actor: Actor, receipt_email: str = "") -> Order:
    """Check a cart out with ``tenders`` ([{"kind": "cash"|"card"|"qr", "amount": Money}, ...]).

    All cash: the order is ``completed`` at once (see ``complete_order``).  With a card or QR tender: the order is
    ``awaiting_payment``, every take-now unit held for it, the cash part (if any) in the drawer, the cart
    ``awaiting_payment``; ``pos.payments`` starts the electronic payments and, on their confirmation, calls
    ``complete_paid_order`` (which sells the units).

    Raises ValidationError naming the field (an empty cart: ``lines``; a bad tender: ``tenders.N.kind``/``amount``),
    TenderShort (422), NoOpenShift (409 ``no_open_shift``) for cash without an open shift on the cart's register,
    InsufficientStock (409, every short line with requested and available), InvalidTransition (422) for a cart that
    is not open; and nothing is written then (the caller rolls back).
    """
    cart = get_cart(cart_id, lock=True)
    if cart.status != "open":
        order = db.session.scalar(select(Order).where(Order.cart_id == cart.id))
        details = {"status": cart.status, "order_id": order.public_id if order else None}
        raise InvalidTransition(f"cart {cart.public_id} is {cart.status.replace('_', ' ')}", details)
    if not cart.lines:
        raise ValidationError("the cart is empty: scan an item first", field="lines")
    totals = price(cart)
    plan = plan_tenders(totals.total, _tenders(tenders, cart.currency), cart.currency)
    # cash needs the register's open shift; a card-only sale still belongs to it when there is one (the shift report)
    shift = _open_shift(cart) if plan["cash"] else open_shift_of(cart.register)
    promo = _promo(cart, totals)
    order = _create_order(cart, totals, shift, actor, plan["rounding"], promo, receipt_email)
    if not plan["electronic"]:
        order.completed_at = clock.now()  # written with the order's number below: one UPDATE, not two
    if plan["cash"]:
        order.payments.append(cash_payment(plan["cash"], cart.currency))
    db.session.flush()
    if plan["electronic"]:
        order.status = "awaiting_payment"
        cart.status = "awaiting_payment"
        _ensure_held(cart, actor)  # every take-now unit is held for this sale before anyone is charged
        if plan["cash"]:
            _cash_into_drawer(order, shift, plan["cash"], actor)
        db.session.flush()
        order._pending_tenders = plan["electronic"]  # for pos.payments to start
        return order
    _take_stock(cart, order, actor)
    _cash_into_drawer(order, shift, plan["cash"], actor)
    return complete_order(order, actor)


def _open_shift(cart: Cart):
    """The open shift of the cart's register (what ``pos.require_open_shift`` answers, without looking the store and
    the register up again: the cart has them).  Unlocked: ``record_cash_sale`` locks it after the stock rows (the
    lock order) and refuses there if it was closed meanwhile.  NoOpenShift (409 ``no_open_shift``) when it has none;
    ValidationError naming ``register`` when the register was taken out of use."""
    register = cart.register
    if not register.active:
        raise ValidationError(f"unknown register {register.code!r} at {cart.location.code}", field="register")
    shift = open_shift_of(register)
    if shift is None:
        raise NoOpenShift(
            f"register {register.code} at {cart.location.code} has no open shift", {"register": register.code, "store": cart.location.code}
        )
    return shift


def cash_payment(cash: dict, currency: str) -> Payment:
    """The succeeded cash payment of a tender plan's cash part (``plan_tenders``): what it paid, what was handed
    over and the change."""
    return Payment(
        public_id=new_id("pay"),
        kind="cash",
        status="succeeded",
        amount=cash["paid"],
        currency=currency,
        tendered=cash["tendered"],
        change=cash["change"],
        gateway="",
        confirmed_at=clock.now(),
    )


def _create_order(cart: Cart, totals: CartTotals, shift, actor: Actor, rounding: int, promo: PromoCode | None, receipt_email: str) -> Order:
    public_id = new_id("ord")
    order = Order(
        public_id=public_id,
        number=public_id,  # the readable number needs the row id: set just below
        cart_id=cart.id,
        location_id=cart.location_id,
        register_id=cart.register_id,
        shift_id=shift.id if shift else None,
        staff_id=cart.staff_id,
        customer_id=cart.customer_id,
        status="completed",
        currency=cart.currency,
        subtotal=totals.subtotal,
        discount=totals.discount,
        tax=totals.tax,
        total=totals.total,
        cash_rounding=rounding,
        tax_mode=totals.tax_mode,
        promo_code=promo.code if promo else "",
        receipt_token=secrets.token_urlsafe(24),
        receipt_email=(receipt_email or "").strip().lower(),
        **actor.columns(),
    )
    by_id = {line.line_id: line for line in totals.lines}
    for line in cart.lines:
        priced = by_id[line.id]
        order.lines.append(
            OrderLine(
                variant_id=line.variant_id,
                sku=line.sku,
                title=line.title,
                quantity=line.quantity,
                unit_price=line.unit_price,
                list_price=line.list_price,
                discount=priced.discount,
                tax=priced.tax,
                total=priced.total,
                tax_class=line.tax_class,
                tax_rate=str(priced.tax_rate),
                fulfilment=line.fulfilment,
                source_location_id=line.source_location_id,
                collect_location_id=line.collect_location_id,
                ship_to=line.ship_to,
            )
        )
    db.session.add(order)
    db.session.flush()
    set_committed_value(order, "payments", [])  # a new order has none: appending one needs no SELECT
    order.number = f"{cart.location.code}-{order.id:06d}"
    if promo is not None:
        redeem_promo(promo)
    return order


def _take_stock(cart: Cart, order: Order, actor: Actor) -> None:
    """Sell the take-now lines here (consuming the cart's holds) and hold the endless-aisle lines where they come from."""
    take_now = [
        {"sku": line.sku, "quantity": line.quantity, "reservation_id": line.reservation_id} for line in cart.lines if line.fulfilment == "take_now"
    ]
    if take_now:
        inventory.sell_units(cart.location.code, take_now, reference=order.number, reason=f"sale {order.number}", actor=actor)
    elsewhere = [(cart_line, order_line) for cart_line, order_line in zip(cart.lines, order.lines, strict=True) if cart_line.fulfilment != "take_now"]
    for cart_line, order_line in elsewhere:
        source = db.session.get(inventory.Location, cart_line.source_location_id)
        reservation = inventory.reserve(
            source.code,
            [{"sku": cart_line.sku, "quantity": cart_line.quantity}],
            "pickup" if cart_line.fulfilment == "collect" else "online_order",
            reference=order.number,
            expires_in=int(ENDLESS_AISLE_HOLD.total_seconds()),
            actor=actor,
        )
        order_line.reservation_id = reservation.id


def _ensure_held(cart: Cart, actor: Actor) -> None:
    """Hold every take-now line that has no live hold; InsufficientStock listing the lines the store cannot hold."""
    from .carts import _hold, _reservations, line_hold

    reservations = _reservations(cart)
    short = []
    for line in cart.lines:
        if line.fulfilment == "take_now" and not line_hold(line, reservations.get(line.reservation_id))["held"]:
            if not _hold(cart, line, actor):
                available = inventory.stock_explanation(cart.location.code, line.sku)["available"]
                short.append({"sku": line.sku, "requested": line.quantity, "available": max(available, 0)})
    if short:
        raise InsufficientStock(short)


def complete_paid_order(order: Order, actor: Actor) -> Order:
    """The gateway confirmed the electronic part of an ``awaiting_payment`` order: sell its units (consuming the
    cart's holds; InsufficientStock if they are gone — the caller refunds) and complete it.  Locks the cart first.
    A completed order answers unchanged."""
    cart = get_cart(db.session.get(Cart, order.cart_id).public_id, lock=True)
    if order.status == "completed":
        return order
    if order.status != "awaiting_payment":
        raise InvalidTransition(f"order {order.number} is {order.status}", {"status": order.status})
    _take_stock(cart, order, actor)
    return complete_order(order, actor)


def _cash_into_drawer(order: Order, shift, cash: dict | None, actor: Actor) -> None:
    if not cash:
        return
    record_cash_sale(shift, Money(cash["tendered"], order.currency), Money(cash["change"], order.currency), order.number, actor)


def complete_order(order: Order, actor: Actor) -> Order:
    """Mark the order completed (its stock already taken), the cart checked out, write the
    customer's timeline entry and emit ``order.completed``.  Completing a completed order answers it unchanged."""
    cart = db.session.get(Cart, order.cart_id)
    now = clock.now()
    order.status = "completed"
    order.completed_at = order.completed_at or now
    cart.status = "checked_out"
    cart.closed_at = now
    db.session.flush()
    if order.customer_id:
        customer = db.session.get(Customer, order.customer_id)
        record_activity(
            customer,
            "purchase_in_store",
            channel="store",
            actor=actor,
            store_id=order.location_id,
            staff_id=order.staff_id,
            data={
                "order_id": order.public_id,
                "number": order.number,
                "store": order.location.code,
                "total": order.money(order.total).to_dict(),
                "lines": [
                    {"sku": line.sku, "title": line.title, "quantity": line.quantity, "total": order.money(line.total).to_dict()}
                    for line in order.lines
                ],
            },
            event_id=f"evt_{order.public_id}",
        )
    from .orders import order_payload

    emit("order.completed", order_payload(order))
    return order
