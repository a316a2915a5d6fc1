"""Card and pay-by-QR payments: started at the gateway, confirmed or declined by it, refunded through it.

The state machine (order / cart / payment):

* ``checkout`` with a card or QR tender leaves the order ``awaiting_payment`` and the cart ``awaiting_payment``
  (its lines frozen: the order's totals are fixed; every take-now unit held); the cash part, if any, is a
  ``succeeded`` cash payment already in the drawer.  ``start_payments`` adds one ``pending`` payment per
  electronic tender and starts it at the gateway (a reader, or a hosted page for the QR code).
* The gateway confirms (``confirm_payment``): the payment is ``succeeded`` with the card's brand and last 4.  When
  the order's payments cover its total, ``pos.checkout.complete_paid_order`` sells the units: the order is
  ``completed``, the cart ``checked_out``.  If the units are gone after all (InsufficientStock) the payment is
  refunded at once and the order keeps waiting (the associate takes another tender or cancels the sale).
* The gateway declines (``fail_payment``): the payment is ``failed``; the order stays ``awaiting_payment`` with
  what was paid (the cash part) recorded, and the sale stays open for another tender: a second checkout of the
  same cart (``checkout_and_pay``, which calls ``pay_rest``) pays the balance due — cash, another card, a QR
  code.  One electronic payment is in progress at a time (a reader takes one card at a time): a checkout while
  one is pending is refused with 409 ``payment_in_progress``; ``cancel_payment`` gives a pending one up.
* The tablet gives the sale up (``cancel_sale``): pending payments are cancelled at the gateway, succeeded ones
  refunded, the cash handed back from the drawer, the order ``cancelled``, the cart ``abandoned`` (its holds
  released).  A payment the gateway confirms after that — or after the order was paid otherwise — is refunded
  automatically (an authorised card-present payment is cancelled instead: never captured, never charged).

Gateway calls happen inside the caller's transaction, after the rows they describe are flushed; a failing
call raises ``GatewayError`` and the whole request rolls back (the cart is open again, nothing half-made).
Every call carries an idempotency key derived from our ids: a started payment's id is itself derived from the
cart, the payment's position in the order, its kind, amount and reader, so a checkout retried after a rollback
asks the gateway again with the same keys and gets the same PaymentIntent — never a second charge.  A gateway
object whose transaction never committed is found by its metadata when its event comes and, after
``ORPHAN_SECONDS``, cancelled or refunded (``handle_gateway_event``).

Lock order, as everywhere in pos: the cart, then (through ``complete_paid_order``) reservations and stock,
then the shift, then the payment rows.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import select

from core import clock
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import db, upsert_insert
from core.errors import Conflict, InsufficientStock, InvalidTransition, NotFound, ValidationError
from core.money import Money
from core.outbox import declare_event_types, emit

from .cart_models import Cart
from .carts import abandon_cart, get_cart
from .checkout import _tenders, cash_payment, checkout, complete_paid_order, plan_tenders
from .gateways import CardDetails, DevelopmentGateway, GatewayEvent, PaymentGateway, build_gateway
from .order_models import Order, Payment
from .payment_models import ProcessedGatewayEvent
from .shifts import record_cash_refund, record_cash_sale, require_open_shift

PAYMENT_UPDATED = "payment.updated"
declare_event_types("pos", PAYMENT_UPDATED)

ORPHAN_SECONDS = 3600  # an event about a payment we never committed is acted on (cancel / refund) after this long

_gateway: PaymentGateway = DevelopmentGateway()


class PaymentInProgress(Conflict):
    """A card or QR payment of this sale is still in progress."""

    code = "payment_in_progress"


class PaymentNotYetKnown(Conflict):
    """The gateway speaks of a payment this service has not recorded (yet): deliver the event again later."""

    code = "payment_not_yet_known"


def configure_payments(config) -> PaymentGateway:
    """Choose the gateway from ``config`` (``PAYMENT_GATEWAY`` and its keys; see ``pos.gateways.build_gateway``)."""
    global _gateway
    _gateway = build_gateway(config)
    return _gateway


def use_gateway(gateway: PaymentGateway) -> PaymentGateway:
    """Use this gateway from now on (tests); answers the one it replaces."""
    global _gateway
    previous, _gateway = _gateway, gateway
    return previous


def current_gateway() -> PaymentGateway:
    return _gateway


# --- reading --------------------------------------------------------------------------------------


def get_payment(public_id: str, lock: bool = False) -> Payment:
    """The payment with this id (``pay_…``); NotFound otherwise."""
    query = select(Payment).where(Payment.public_id == public_id)
    if lock:
        query = query.with_for_update(of=Payment).execution_options(populate_existing=True)
    payment = db.session.scalar(query) if public_id else None
    if payment is None:
        raise NotFound(f"no payment {public_id}")
    return payment


def find_payment_by_page_token(token: str) -> Payment:
    """The pay-by-QR payment whose simulated hosted page this token opens (development gateway); NotFound otherwise."""
    payment = db.session.scalar(select(Payment).where(Payment.gateway_reference == "cs_dev_" + token, Payment.kind == "qr")) if token else None
    if payment is None:
        raise NotFound("no such payment page")
    return payment


def paid_amount(order: Order) -> int:
    """What the order's succeeded payments hold now (refunds taken off)."""
    return sum(p.amount - p.refunded_amount for p in order.payments if p.status == "succeeded")


def balance_due(order: Order) -> int:
    """What is still to pay: the total (with any cash rounding) less what succeeded; 0 once paid, or when the order
    is no longer awaiting payment."""
    if order.status != "awaiting_payment":
        return 0
    return max(order.total + order.cash_rounding - paid_amount(order), 0)


def payment_payload(payment: Payment) -> dict:
    """A payment as the API and the live event show it."""
    order = payment.order
    cart = db.session.get(Cart, order.cart_id)
    payload = {
        "id": payment.public_id,
        "kind": payment.kind,
        "status": payment.status,
        "amount": payment.money(payment.amount).to_dict(),
        "refunded": payment.money(payment.refunded_amount).to_dict(),
        "card": {"brand": payment.card_brand, "last4": payment.card_last4} if payment.card_last4 else None,
        "failure_reason": payment.failure_reason or None,
        "gateway": payment.gateway,
        "order_id": order.public_id,
        "order_number": order.number,
        "order_status": order.status,
        "cart_id": cart.public_id,
        "store": order.location.code,
        "balance_due": order.money(balance_due(order)).to_dict(),
        "receipt_path": f"/r/{order.receipt_token}",
        "created_at": clock.isoformat(payment.created_at),
        "confirmed_at": clock.isoformat(payment.confirmed_at),
    }
    if payment.kind == "card":
        payload["reader"] = payment.gateway_reference
    if payment.kind == "qr":
        payload["payment_url"] = payment.payment_url  # the development gateway's is a path on this site
        payload["qr_svg_path"] = f"/pay/qr/{payment.public_id}.svg"  # the QR code as SVG (staff of the store)
    return payload


def _changed(payment: Payment) -> None:
    emit(PAYMENT_UPDATED, payment_payload(payment))


# --- starting -------------------------------------------------------------------------------------


def _payment_id(cart: Cart, position: int, tender: dict, reader: str) -> str:
    """The id of the ``position``-th payment of this cart's order: the same for a retried checkout asking the same,
    so the idempotency keys made of it are too."""
    seed = f"{cart.public_id}|{position}|{tender['kind']}|{tender['amount']}|{reader}"
    return "pay_" + hashlib.sha256(seed.encode()).hexdigest()[:24]


def start_payments(order: Order, tenders: list[dict], gateway: PaymentGateway | None = None, actor: Actor = SYSTEM) -> list[Payment]:
    """Add a ``pending`` payment per card / QR tender (``order._pending_tenders``: [{"kind", "amount", "reader"?}])
    and start it at the gateway: a card-present payment on the tender's reader (default: the register's), or a
    hosted page whose URL the QR code encodes.  The rows are flushed before the gateway is called; a GatewayError
    (or ValidationError ``tenders.N.reader``: no reader) propagates and the caller rolls everything back.
    Retried after a rollback, the gateway calls carry the same idempotency keys (see the module docstring)."""
    gateway = gateway or _gateway
    cart = db.session.get(Cart, order.cart_id)
    started = []
    for tender in tenders:
        reader = ""
        if tender["kind"] == "card":
            try:
                reader = tender.get("reader") or gateway.reader_for(order.location.code, cart.register.code)
            except ValidationError as exc:
                raise ValidationError(exc.message, field=f"tenders.{tender.get('index', 0)}.reader") from exc
        payment = Payment(
            public_id=_payment_id(cart, len(order.payments), tender, reader),
            kind=tender["kind"],
            status="pending",
            amount=tender["amount"],
            currency=order.currency,
            gateway=gateway.name,
        )
        order.payments.append(payment)
        db.session.flush()
        description = f"{order.location.name} ({order.location.code})"
        metadata = {"shelfside_payment": payment.public_id, "shelfside_cart": cart.public_id, "store": order.location.code}
        key = f"shelfside:{payment.public_id}"
        if payment.kind == "card":
            answer = gateway.start_card_payment(
                amount=payment.amount, currency=order.currency, reader=reader, description=description, metadata=metadata, idempotency_key=key
            )
        else:
            lines = [{"title": line.title, "quantity": line.quantity, "total": line.total} for line in order.lines]
            answer = gateway.start_qr_payment(
                amount=payment.amount, currency=order.currency, description=description, lines=lines, metadata=metadata, idempotency_key=key
            )
        payment.gateway_payment_id = answer.payment_id or None
        payment.gateway_reference = answer.reference
        payment.payment_url = answer.payment_url
        db.session.flush()
        _changed(payment)
        started.append(payment)
    return started


def checkout_and_pay(cart_id: str, tenders, actor: Actor, receipt_email: str = "", gateway: PaymentGateway | None = None) -> Order:
    """The checkout the tablet calls: an open cart is checked out (``pos.checkout``); a cart whose order waits for
    payment (a card was declined) pays its balance due (``pay_rest``).  Card and QR tenders are then started at the
    gateway (``start_payments``).  All in the caller's transaction; raises what those raise."""
    cart = get_cart(cart_id, lock=True)
    if cart.status == "awaiting_payment":
        order = pay_rest(cart, tenders, actor)
    else:
        order = checkout(cart_id, tenders, actor, receipt_email=receipt_email)
    pending = getattr(order, "_pending_tenders", None)
    if pending:
        start_payments(order, pending, gateway, actor)
    return order


def pay_rest(cart: Cart, tenders, actor: Actor) -> Order:
    """Another tender for an order ``awaiting_payment`` (after a declined card): the tenders must cover the balance
    due exactly as at checkout (cash may round and give change; card and QR at most the balance).  Cash goes into
    the register's open shift and may complete the sale at once; a card or QR tender is left in
    ``order._pending_tenders`` for ``start_payments``.  Raises PaymentInProgress (409) while a payment is pending,
    ValidationError, TenderShort (422), NoOpenShift (409); nothing is written then.  At most one card or QR tender
    per call (ValidationError ``tenders``)."""
    order = db.session.scalar(select(Order).where(Order.cart_id == cart.id))
    if order is None or order.status != "awaiting_payment":
        raise InvalidTransition(f"cart {cart.public_id} is {cart.status.replace('_', ' ')}", {"status": cart.status})
    _refuse_while_pending(order)
    due = balance_due(order)
    checked = _tenders(tenders, order.currency)
    _one_electronic(checked)
    plan = plan_tenders(due, checked, order.currency)
    if plan["cash"]:
        cash = plan["cash"]
        shift = require_open_shift(order.location.code, cart.register.code)
        order.shift_id = order.shift_id or shift.id
        order.cash_rounding += plan["rounding"]
        order.payments.append(cash_payment(cash, order.currency))
        db.session.flush()
        record_cash_sale(shift, Money(cash["tendered"], order.currency), Money(cash["change"], order.currency), order.number, actor)
    if plan["electronic"]:
        order._pending_tenders = plan["electronic"]
        return order
    return complete_paid_order(order, actor)


def _one_electronic(tenders: list[dict]) -> None:
    if sum(1 for t in tenders if t["kind"] != "cash") > 1:
        raise ValidationError("one card or QR payment at a time: pay the rest with another checkout once it is through", field="tenders")


def _refuse_while_pending(order: Order) -> None:
    pending = next((p for p in order.payments if p.status == "pending"), None)
    if pending is not None:
        raise PaymentInProgress(
            f"payment {pending.public_id} is still in progress: wait for it or cancel it", {"payment_id": pending.public_id, "kind": pending.kind}
        )


# --- outcomes -------------------------------------------------------------------------------------


def _locked(payment: Payment) -> tuple[Cart, Payment]:
    """The payment's cart, then the payment, locked (the lock order); both re-read."""
    order = payment.order
    cart = get_cart(db.session.get(Cart, order.cart_id).public_id, lock=True)
    db.session.refresh(order)
    return cart, get_payment(payment.public_id, lock=True)


def confirm_payment(payment: Payment, card: CardDetails | None = None, actor: Actor = SYSTEM, gateway: PaymentGateway | None = None) -> Payment:
    """The gateway took the money: the payment is ``succeeded`` (with the card's brand and last 4), and when the
    order's payments cover its total the sale completes (``complete_paid_order`` sells the units).  Idempotent: a
    succeeded payment answers unchanged.  When the sale no longer wants this money (the order was cancelled or is
    paid already) the payment is refunded in full at once; when its units are gone (InsufficientStock) too — the
    order then keeps waiting for the associate.  Locks the cart, then the payment."""
    cart, payment = _locked(payment)
    if payment.status == "succeeded":
        return payment
    order = payment.order
    card = card or CardDetails()
    wanted = order.status == "awaiting_payment" and payment.amount <= balance_due(order)
    payment.status = "succeeded"
    payment.card_brand = card.brand[:40]
    payment.card_last4 = card.last4[-4:] if card.last4.isdigit() else ""
    payment.confirmed_at = clock.now()
    payment.failure_reason = ""
    db.session.flush()
    if not wanted:
        _refund_in_full(payment, "the sale was given up or paid otherwise before this payment arrived", gateway)
        _changed(payment)
        return payment
    if balance_due(order) == 0:
        try:
            with db.session.begin_nested():
                complete_paid_order(order, actor)
        except InsufficientStock as short:
            db.session.refresh(order)
            _refund_in_full(payment, f"refunded: {short.message}", gateway)
    _changed(payment)
    return payment


def _refund_in_full(payment: Payment, reason: str, gateway: PaymentGateway | None) -> None:
    left = payment.amount - payment.refunded_amount
    if left > 0:
        refund_payment(payment, left, f"auto-{payment.public_id}", SYSTEM, gateway=gateway, reason=reason)
    payment.failure_reason = reason[:500]
    db.session.flush()


def fail_payment(payment: Payment, reason: str, actor: Actor = SYSTEM) -> Payment:
    """The gateway declined: a ``pending`` payment is ``failed`` with the reason; the order keeps waiting with what
    was paid recorded, ready for another tender.  A payment that already succeeded or ended answers unchanged (a
    late failure of an earlier attempt).  Locks the cart, then the payment."""
    _, payment = _locked(payment)
    if payment.status != "pending":
        return payment
    payment.status = "failed"
    payment.failure_reason = (reason or "declined")[:500]
    db.session.flush()
    _changed(payment)
    return payment


def cancel_payment(payment: Payment, actor: Actor, gateway: PaymentGateway | None = None) -> Payment:
    """Give up a ``pending`` payment (the customer walked away from the reader, the QR code is not wanted): it is
    cancelled at the gateway and here; the order keeps waiting for another tender.  A payment that has ended
    answers unchanged.  Raises GatewayError (the caller rolls back).  Locks the cart, then the payment."""
    gateway = gateway or _gateway
    _, payment = _locked(payment)
    if payment.status != "pending":
        return payment
    gateway.cancel(payment.gateway_payment_id or "", payment.gateway_reference, idempotency_key=f"shelfside:{payment.public_id}:cancel")
    payment.status = "cancelled"
    payment.failure_reason = "cancelled at the tablet"
    db.session.flush()
    record_audit("payment.cancelled", actor, "payment", payment.public_id, {"order": payment.order.number})
    _changed(payment)
    return payment


def cancel_sale(order: Order, actor: Actor, reason: str = "", gateway: PaymentGateway | None = None) -> Order:
    """Give up an order ``awaiting_payment``: pending payments cancelled at the gateway, succeeded card / QR
    payments refunded, the cash part handed back from the drawer, the order ``cancelled`` and its cart
    ``abandoned`` (holds released).  A cancelled order answers unchanged.  Raises InvalidTransition (422) for a
    completed order (that is a return), GatewayError, InsufficientCash; nothing is changed then.  Audited."""
    gateway = gateway or _gateway
    cart = get_cart(db.session.get(Cart, order.cart_id).public_id, lock=True)
    db.session.refresh(order)
    if order.status == "cancelled":
        return order
    if order.status != "awaiting_payment":
        raise InvalidTransition(f"order {order.number} is {order.status}: a completed sale is returned, not cancelled", {"status": order.status})
    order.status = "cancelled"  # first: a confirmation racing in now is refunded (it waits for the cart's lock)
    db.session.flush()
    for payment in list(order.payments):
        payment = get_payment(payment.public_id, lock=True)
        if payment.status == "pending":
            gateway.cancel(payment.gateway_payment_id or "", payment.gateway_reference, idempotency_key=f"shelfside:{payment.public_id}:cancel")
            payment.status = "cancelled"
            payment.failure_reason = "the sale was cancelled"
        elif payment.status == "succeeded" and payment.amount > payment.refunded_amount:
            if payment.kind == "cash":
                left = payment.amount - payment.refunded_amount
                shift = require_open_shift(order.location.code, cart.register.code)
                record_cash_refund(shift, Money(left, order.currency), f"cancelled {order.number}", actor)
                payment.refunded_amount = payment.amount
            else:
                refund_payment(payment, payment.amount - payment.refunded_amount, f"cancel-{order.public_id}", actor, gateway=gateway)
        db.session.flush()
        _changed(payment)
    cart.status = "open"  # abandon_cart gives an open cart up: releases its holds and closes it
    db.session.flush()
    abandon_cart(cart, actor)
    record_audit("order.cancelled", actor, "order", order.public_id, {"number": order.number, "reason": (reason or "")[:200]})
    return order


def refund_payment(payment: Payment, amount: int, reference: str, actor: Actor, gateway: PaymentGateway | None = None, reason: str = "") -> str:
    """Refund ``amount`` (minor units) of a succeeded card or QR payment at its gateway; answers the gateway's
    refund id and adds ``amount`` to ``refunded_amount``.  ``reference`` names what the refund is for (a return's
    id): the idempotency key is made of the payment, the reference and the amount, so a retried refund is one
    refund at the gateway.  Raises ValidationError (field ``amount``) when the amount is not a whole number
    from 1 to what is left to refund, InvalidTransition (422) for a cash or unsucceeded payment, GatewayError.
    Locks the payment row (the caller holds the order's locks first).  Audited."""
    gateway = gateway or _gateway
    payment = get_payment(payment.public_id, lock=True)
    if payment.kind == "cash" or payment.status != "succeeded":
        raise InvalidTransition(
            f"payment {payment.public_id} ({payment.kind}, {payment.status}) cannot be refunded at a gateway", {"status": payment.status}
        )
    left = payment.amount - payment.refunded_amount
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= left:
        raise ValidationError(f"a refund of this payment is from 1 to {left} minor units", field="amount")
    reference = (reference or "").strip()[:200]
    if not reference:
        raise ValidationError("a refund names what it is for", field="reference")
    refund_id = gateway.refund(
        payment.gateway_payment_id or "",
        amount,
        reason=reason or reference,
        idempotency_key=f"shelfside:{payment.public_id}:refund:{reference}:{amount}",
    )
    payment.refunded_amount += amount
    db.session.flush()
    record_audit(
        "payment.refunded",
        actor,
        "payment",
        payment.public_id,
        {
            "amount": payment.money(amount).to_dict(),
            "reference": reference,
            "refund": refund_id,
            "order": payment.order.number,
            "reason": reason[:200],
        },
    )
    return refund_id


# --- gateway events -------------------------------------------------------------------------------


def _find(event: GatewayEvent) -> Payment | None:
    if event.payment_id:
        found = db.session.scalar(select(Payment).where(Payment.gateway_payment_id == event.payment_id))
        if found is not None:
            return found
    if event.reference:
        found = db.session.scalar(select(Payment).where(Payment.gateway_reference == event.reference, Payment.kind == "qr"))
        if found is not None:
            return found
    if event.our_payment:
        return db.session.scalar(select(Payment).where(Payment.public_id == event.our_payment))
    return None


def handle_gateway_event(event: GatewayEvent, gateway: PaymentGateway | None = None, actor: Actor = SYSTEM) -> str:
    """Act on a verified gateway event once: the event id is recorded (unique) in the same transaction as what it
    changes, so a redelivered event answers ``"duplicate"`` and does nothing.  Safe in any order: a success after
    a failure, a capture after a success, a refund notice after our own refund are all no-ops or corrections.
    Answers what was done.  Raises PaymentNotYetKnown (the caller rolls back and asks the gateway to deliver again)
    for a payment we have not recorded — its start may not have committed yet; after ``ORPHAN_SECONDS`` such an
    event of ours is an orphan and its payment is cancelled or refunded at the gateway instead."""
    gateway = gateway or _gateway
    inserted = db.session.execute(
        upsert_insert(ProcessedGatewayEvent)
        .values(gateway=gateway.name, event_id=event.id, event_type=event.type[:100], outcome="", processed_at=clock.now())
        .on_conflict_do_nothing(index_elements=["gateway", "event_id"])
        .returning(ProcessedGatewayEvent.id)
    ).first()
    if inserted is None:
        return "duplicate"
    record = db.session.get(ProcessedGatewayEvent, inserted[0])
    outcome = _act(event, gateway, actor)
    record.outcome = outcome
    payment = _find(event)
    record.payment_id = payment.id if payment is not None else None
    db.session.flush()
    return outcome


def _act(event: GatewayEvent, gateway: PaymentGateway, actor: Actor) -> str:
    if event.outcome == "ignored":
        return "ignored"
    payment = _find(event)
    if payment is None:
        return _orphan(event, gateway)
    if event.reference and payment.kind == "qr" and event.payment_id and not payment.gateway_payment_id:
        payment.gateway_payment_id = event.payment_id  # a Checkout Session makes its PaymentIntent when paid: keep it for refunds
        db.session.flush()
    if event.outcome == "authorized":
        return _authorized(payment, gateway, actor)
    if event.outcome == "succeeded":
        card = event.card if event.card.last4 else _card_details(gateway, payment)
        before = payment.status
        payment = confirm_payment(payment, card, actor, gateway)
        return "already_succeeded" if before == "succeeded" else ("refunded" if payment.refunded_amount else "confirmed")
    if event.outcome == "failed":
        if payment.kind == "qr" and event.type == "payment_intent.payment_failed":
            return "ignored"  # the hosted page stays open: the customer may try another card there
        fail_payment(payment, event.failure_reason, actor)
        return "failed"
    if event.outcome == "cancelled":
        _, payment = _locked(payment)
        if payment.status == "pending":
            payment.status = "cancelled"
            payment.failure_reason = event.failure_reason or "cancelled at the gateway"
            db.session.flush()
            _changed(payment)
        return "cancelled"
    if event.outcome == "refunded" and event.refunded_amount is not None:
        _, payment = _locked(payment)
        payment.refunded_amount = min(max(payment.refunded_amount, event.refunded_amount), payment.amount)
        db.session.flush()
        return "refund_noted"
    return "ignored"


def _card_details(gateway: PaymentGateway, payment: Payment) -> CardDetails:
    lookup = getattr(gateway, "card_details", None)
    if lookup is None or not payment.gateway_payment_id:
        return CardDetails()
    try:
        return lookup(payment.gateway_payment_id)
    except Exception:  # the brand and last 4 are nice to have; the sale must not wait for them
        return CardDetails()


def _authorized(payment: Payment, gateway: PaymentGateway, actor: Actor) -> str:
    """A card-present payment was authorised on the reader: capture it when the sale still wants it, else cancel
    the authorisation (the customer is never charged)."""
    cart, payment = _locked(payment)
    if payment.status == "succeeded":
        return "already_succeeded"
    order = payment.order
    if order.status != "awaiting_payment" or payment.amount > balance_due(order):
        gateway.cancel(payment.gateway_payment_id or "", "", idempotency_key=f"shelfside:{payment.public_id}:cancel")
        payment.status = "cancelled"
        payment.failure_reason = "authorised after the sale was given up or paid otherwise: released, not charged"
        db.session.flush()
        _changed(payment)
        return "released"
    card = gateway.capture(payment.gateway_payment_id, idempotency_key=f"shelfside:{payment.public_id}:capture")
    confirm_payment(payment, card, actor, gateway)
    return "captured"


def _orphan(event: GatewayEvent, gateway: PaymentGateway) -> str:
    """An event about a payment we have not recorded.  Not ours (no ``shelfside_payment`` metadata: another use of
    the same gateway account): noted and left alone.  Ours and young: its start may still be committing, so
    PaymentNotYetKnown (deliver again).  Ours and older than ``ORPHAN_SECONDS``: its sale never committed, so an
    authorisation is released and money taken is refunded in full."""
    if not event.our_payment:
        return "not_ours"
    if event.outcome in ("refunded", "cancelled", "failed"):
        return "unknown_payment"
    if not event.payment_id or (event.created and time.time() - event.created < ORPHAN_SECONDS):
        raise PaymentNotYetKnown(f"payment {event.our_payment} is not recorded yet")
    key = f"shelfside:{event.our_payment}:orphan"
    if event.outcome == "authorized":
        gateway.cancel(event.payment_id, "", idempotency_key=key)
        return "orphan_released"
    if event.outcome == "succeeded":
        gateway.refund(event.payment_id, None, reason="no sale recorded this payment", idempotency_key=key)
        return "orphan_refunded"
    return "unknown_payment"
