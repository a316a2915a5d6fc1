"""Returns against the original order, refunded to the original tenders.

``create_return`` takes units of a completed order back — never more of a line than is still returnable — puts the
ones fit to sell back on hand (a ``return`` ledger line; damaged ones stay off the shelf), pays their share of what
the customer paid back to the order's tenders, and, in the caller's one transaction, writes the return, its lines
and refunds, the customer's ``return_in_store`` timeline entry, an audit entry per refund and the
``order.refunded`` event.  Any refusal raises before anything is written (the web layer rolls back).

What a line refunds.  A line's paid ``total`` is spread over its units by the largest-remainder method
(``pricing.allocate``): unit ``k`` of a line always refunds the same share whatever the sequence of returns, units
come back in order, and when every unit of a line is back exactly its total is refunded — never a cent more.

Which tender gets the money.  Card and pay-by-QR payments first (in the order they were taken), then cash: money
goes back the way it came where a gateway can trace it, and the drawer pays out only what the electronic tenders
cannot take.  No tender is ever refunded more than ``amount - refunded_amount`` (also a CHECK on ``payment``).  In a
currency with cash rounding (CHF to 0.05) the cash part is rounded to the coins, within what that tender has left;
when the last units of an order come back every tender gets all it has left, so a wholly returned order has refunded
exactly what was paid.

Cash comes from the drawer of an open shift: the register given (the tablet doing the return: the cash leaves that
drawer, so each drawer's count stays right), else the shift the order was sold in when it is still open, else the
open shift of the order's register;
``no_open_shift`` (409) when there is none.  Card and QR refunds go through ``pos.payments.refund_payment``, after
every local write that could refuse, so a refusal never leaves a gateway refund behind.

Lock order: the order row first, then stock rows (``inventory.restock_return``), then the shift (the drawer), then
the return's own rows.
"""

from __future__ import annotations

from sqlalchemy import select

import inventory
from clienteling import Customer, record_activity
from core import clock
from core.actor import Actor
from core.audit import record_audit
from core.db import db
from core.errors import Conflict, InvalidTransition, ValidationError
from core.money import Money
from core.outbox import emit, new_id

from .order_models import Order, OrderLine, Payment
from .pricing import allocate, cash_step, round_cash
from .return_models import Refund, Return, ReturnLine
from .settings import store_settings
from .shift_models import Shift
from .shifts import NoOpenShift, find_open_shift, record_cash_refund

MAX_REASON = 500
MAX_LINES = 100


class NotReturnable(Conflict):
    """More units than are still returnable."""

    code = "not_returnable"


class RefundExceedsPayments(Conflict):
    """The order's tenders have less left to refund than the return is worth."""

    code = "refund_exceeds_payments"


# --- the refund of a line -----------------------------------------------------------------------


def line_refund(line: OrderLine, already_returned: int, quantity: int) -> int:
    """What returning ``quantity`` more units of ``line`` refunds when ``already_returned`` are back: the sum of those
    units' largest-remainder shares of the line's paid total.  Returning every unit, in any steps, refunds exactly
    ``line.total``."""
    if already_returned < 0 or quantity < 0 or already_returned + quantity > line.quantity:
        raise ValueError("returned units must stay within the line's quantity")
    shares = allocate(line.total, [line.total] * line.quantity)  # equal weights: largest remainder over the units
    return sum(shares[already_returned : already_returned + quantity])


def plan_refunds(amount: int, payments: list[Payment], currency: str, everything: bool = False) -> list[tuple[Payment, int]]:
    """Spread ``amount`` over the order's succeeded payments: card and QR first (oldest first), then cash, none above
    what it has left (``amount - refunded_amount``).  In a currency with cash rounding the cash part is rounded to its
    coins within what cash has left.  With ``everything`` (the last units of the order come back) every tender gets
    all it has left, so a wholly returned order has refunded exactly what was paid, cash rounding included.
    Answers [(payment, amount > 0)]; RefundExceedsPayments (409) when the tenders cannot take it (more than a cash
    rounding's worth short: the invariants make that impossible otherwise)."""
    paid = [p for p in payments if p.status == "succeeded" and p.amount > p.refunded_amount]
    ordered = [p for p in paid if p.kind != "cash"] + [p for p in paid if p.kind == "cash"]
    if everything:
        return [(payment, payment.amount - payment.refunded_amount) for payment in ordered]
    left, plan = amount, []
    for payment in ordered:
        if left <= 0:
            break
        room = payment.amount - payment.refunded_amount
        share = min(left, room)
        if payment.kind == "cash":
            share = min(round_cash(left, currency), room)
        if share > 0:
            plan.append((payment, share))
            left -= share
    if left >= cash_step(currency) or (left > 0 and not any(p.kind == "cash" for p in payments)):
        raise RefundExceedsPayments(
            "the order's tenders have less left to refund than this return is worth", {"missing": Money(left, currency).to_dict()}
        )
    return plan


# --- input ----------------------------------------------------------------------------------------


def _checked_lines(lines) -> list[dict]:
    if not isinstance(lines, list) or not lines:
        raise ValidationError("a return needs at least one line", field="lines")
    if len(lines) > MAX_LINES:
        raise ValidationError(f"a return has at most {MAX_LINES} lines", field="lines")
    checked, seen = [], set()
    for index, line in enumerate(lines):
        if not isinstance(line, dict):
            raise ValidationError('a line is {"sku", "quantity", "restock"}', field=f"lines.{index}")
        sku = line.get("sku")
        if not isinstance(sku, str) or not sku.strip():
            raise ValidationError("name the SKU returned", field=f"lines.{index}.sku")
        sku = sku.strip()
        if sku in seen:
            raise ValidationError(f"{sku} is named twice: give its whole quantity on one line", field=f"lines.{index}.sku")
        seen.add(sku)
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 999:
            raise ValidationError("the quantity is a whole number from 1 to 999", field=f"lines.{index}.quantity")
        restock = line.get("restock", True)
        if not isinstance(restock, bool):
            raise ValidationError("restock is true (back on the shelf) or false (damaged)", field=f"lines.{index}.restock")
        checked.append({"sku": sku, "quantity": quantity, "restock": restock, "index": index})
    return checked


def _checked_reason(reason) -> str:
    if reason is None:
        return ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise ValidationError(f"a reason has at most {MAX_REASON} characters", field="reason")
    return reason.strip()


def _fresh_lines(order: Order) -> list[OrderLine]:
    """The order's lines re-read (their returned quantities) under the order's lock."""
    return list(
        db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.id).execution_options(populate_existing=True))
    )


def _fresh_payments(order: Order) -> list[Payment]:
    return list(
        db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id).execution_options(populate_existing=True))
    )


def returnable_quantities(order: Order) -> dict[str, int]:
    """How many units of each SKU of the order can still come back (take-now lines only)."""
    return {line.sku: line.quantity - line.returned_quantity for line in order.lines if line.fulfilment == "take_now"}


def _match(order_lines: list[OrderLine], wanted: list[dict]) -> list[tuple[dict, OrderLine]]:
    """Each requested line with its order line; NotReturnable listing every line asked for beyond what is left."""
    by_sku = {line.sku: line for line in order_lines if line.fulfilment == "take_now"}
    others = {line.sku for line in order_lines if line.fulfilment != "take_now"}
    matched, refused = [], []
    for item in wanted:
        line = by_sku.get(item["sku"])
        returnable = line.quantity - line.returned_quantity if line else 0
        if line is None and item["sku"] not in others:
            raise ValidationError(f"{item['sku']} is not on this order", field=f"lines.{item['index']}.sku")
        if item["quantity"] > returnable:
            entry = {"sku": item["sku"], "requested": item["quantity"], "returnable": returnable}
            if line is None:
                entry["reason"] = "shipped or collected elsewhere: not returnable at the till yet"
            refused.append(entry)
        else:
            matched.append((item, line))
    if refused:
        listed = ", ".join(f"{r['sku']} ({r['requested']} asked, {r['returnable']} returnable)" for r in refused)
        raise NotReturnable(f"more than is still returnable: {listed}", {"lines": refused})
    return matched


# --- the drawer -----------------------------------------------------------------------------------


def _refund_shift(order: Order, register_code: str | None) -> Shift | None:
    """The open shift a cash refund comes out of: the register the refund is made at (the tablet's, where the cash
    leaves a drawer), else the shift the order was sold in if it is still open, else its register's open shift.
    None when there is none."""
    if register_code:
        return find_open_shift(order.location.code, register_code)
    if order.shift_id:
        sold_in = db.session.get(Shift, order.shift_id)
        if sold_in is not None and sold_in.status == "open":
            return sold_in
    return db.session.scalar(select(Shift).where(Shift.register_id == order.register_id, Shift.status == "open"))


# --- the return -----------------------------------------------------------------------------------


def create_return(
    order_id: str,
    lines,
    reason: str | None,
    actor: Actor,
    approval: dict | None = None,
    register_code: str | None = None,
    gateway_reference: str | None = None,
) -> Return:
    """Take ``lines`` ([{"sku", "quantity", "restock": bool}]) of a completed order back and refund them to the
    order's tenders (see the module docstring for the amounts, the tenders and the drawer).

    Locks the order first, then the stock rows, then the shift.  Raises ValidationError naming the field
    (``lines.N.sku`` for a SKU not on the order, ``lines.N.quantity``, ``lines.N.restock``, ``reason``,
    ``register``); InvalidTransition (422) for an order that is not completed; NotReturnable (409
    ``not_returnable``, details ``lines`` with each refused line's ``requested`` and ``returnable``);
    ApprovalRequired / ApprovalRefused (403) when the refund is above the store's ``refund_approval_amount`` without
    a manager's ``approval`` ({"pin"} or {"email", "password"}); NoOpenShift (409) when cash is due and no shift is
    open; InsufficientCash (409) when the drawer holds less.  Nothing is written then.  Not idempotent by itself:
    the API makes it so with its ``Idempotency-Key``, and passes ``gateway_reference`` made from that key so the
    gateway refunds (``refund_payment``'s ``reference``, its idempotency key) of two racing retries are one."""
    from .carts import _approve
    from .orders import get_order

    wanted = _checked_lines(lines)
    reason = _checked_reason(reason)
    if register_code is not None and not isinstance(register_code, str):
        raise ValidationError("a register is its code, like T1", field="register")
    order = get_order(order_id, lock=True)
    if order.status != "completed":
        raise InvalidTransition(
            f"order {order.number} is {order.status.replace('_', ' ')}: only a completed order takes returns", {"status": order.status}
        )
    order_lines = _fresh_lines(order)
    matched = _match(order_lines, wanted)
    amounts = [line_refund(line, line.returned_quantity, item["quantity"]) for item, line in matched]
    total = sum(amounts)
    last_units = sum(line.quantity - line.returned_quantity for line in order_lines if line.fulfilment == "take_now") == sum(
        item["quantity"] for item, _ in matched
    ) and all(line.fulfilment == "take_now" for line in order_lines)
    plan = plan_refunds(total, _fresh_payments(order), order.currency, everything=last_units)
    refund_total = sum(amount for _, amount in plan)

    settings = store_settings(order.location.code)
    approver = None
    threshold = settings.refund_approval_amount
    if threshold is not None and refund_total > threshold:
        approver = _approve(order, approval, f"a refund above {Money(threshold, order.currency).format()}")

    cash_due = sum(amount for payment, amount in plan if payment.kind == "cash")
    shift = _refund_shift(order, register_code)
    if cash_due and shift is None:
        raise NoOpenShift(
            f"a cash refund needs an open shift at {order.location.code}: open one, or name the register",
            {"store": order.location.code, "register": register_code},
        )

    public_id = new_id("ret")
    restock = [{"sku": line.sku, "quantity": item["quantity"]} for item, line in matched if item["restock"]]
    if restock:
        inventory.restock_return(order.location.code, restock, reference=public_id, actor=actor)
    if cash_due:
        record_cash_refund(shift, Money(cash_due, order.currency), f"{order.number} {public_id}", actor)

    sale_return = Return(
        public_id=public_id,
        order_id=order.id,
        location_id=order.location_id,
        reason=reason,
        currency=order.currency,
        total_refunded=refund_total,
        approved_by=approver.id if approver else None,
        created_at=clock.now(),
        **actor.columns(),
    )
    for (item, line), amount in zip(matched, amounts, strict=True):
        sale_return.lines.append(ReturnLine(order_line_id=line.id, sku=line.sku, quantity=item["quantity"], restock=item["restock"], amount=amount))
        line.returned_quantity += item["quantity"]
    for payment, amount in plan:
        sale_return.refunds.append(
            Refund(payment_id=payment.id, shift_id=shift.id if shift else None, kind=payment.kind, amount=amount, currency=order.currency)
        )
        if payment.kind == "cash":
            payment.refunded_amount += amount  # card and QR: once their gateway refund is made (_refund_electronic)
    db.session.add(sale_return)
    db.session.flush()

    _refund_electronic(sale_return, plan, actor, gateway_reference)
    _record(order, sale_return, order_lines, approver, actor)
    return sale_return


def _refund_electronic(sale_return: Return, plan: list[tuple[Payment, int]], actor: Actor, gateway_reference: str | None) -> None:
    """Card and QR refunds through the payment gateway, last: every local write before could still refuse."""
    electronic = [(payment, refund) for (payment, _), refund in zip(plan, sale_return.refunds, strict=True) if payment.kind != "cash"]
    if not electronic:
        return
    from .payments import refund_payment

    for payment, refund in electronic:
        before = payment.refunded_amount
        reference = f"{gateway_reference}-{payment.public_id}" if gateway_reference else f"{sale_return.public_id}-{payment.public_id}"
        refund.gateway_refund_id = refund_payment(payment, refund.amount, reference, actor)
        if payment.refunded_amount == before:  # refund_payment left the bookkeeping to its caller
            payment.refunded_amount = before + refund.amount
        elif payment.refunded_amount != before + refund.amount:
            raise RuntimeError(
                f"the gateway refund left payment {payment.public_id} refunded {payment.refunded_amount}, not {before + refund.amount}"
            )
    db.session.flush()


def _record(order: Order, sale_return: Return, order_lines: list[OrderLine], approver, actor: Actor) -> None:
    """The audit entries, the customer's timeline entry and ``order.refunded``."""
    payments = {payment.id: payment for payment in order.payments}
    for refund in sale_return.refunds:
        record_audit(
            "refund",
            actor,
            "order",
            order.public_id,
            {
                "return_id": sale_return.public_id,
                "number": order.number,
                "kind": refund.kind,
                "payment_id": payments[refund.payment_id].public_id if refund.payment_id in payments else None,
                "amount": sale_return.money(refund.amount).to_dict(),
                "reason": sale_return.reason,
                "approved_by": approver.id if approver else None,
                "approver": approver.name if approver else None,
            },
        )
    titles = {line.id: line.title for line in order_lines}
    if order.customer_id:
        customer = db.session.get(Customer, order.customer_id)
        if customer is not None:
            record_activity(
                customer,
                "return_in_store",
                channel="store",
                actor=actor,
                store_id=sale_return.location_id,
                staff_id=actor.id if actor.kind == "staff" else None,
                data={
                    "order_id": order.public_id,
                    "number": order.number,
                    "return_id": sale_return.public_id,
                    "store": sale_return.location.code,
                    "total": sale_return.money(sale_return.total_refunded).to_dict(),
                    "lines": [
                        {
                            "sku": line.sku,
                            "title": titles.get(line.order_line_id, ""),
                            "quantity": line.quantity,
                            "restock": line.restock,
                            "total": sale_return.money(line.amount).to_dict(),
                        }
                        for line in sale_return.lines
                    ],
                },
                event_id=f"evt_{sale_return.public_id}",
            )
    emit("order.refunded", {**return_payload(sale_return), "order": {"id": order.public_id, "number": order.number, "store": order.location.code}})


# --- reading --------------------------------------------------------------------------------------


def list_returns(order: Order) -> list[Return]:
    """The order's returns, oldest first."""
    return list(db.session.scalars(select(Return).where(Return.order_id == order.id).order_by(Return.id)))


def return_payload(sale_return: Return) -> dict:
    """The return as the API shows it (SPEC §3): ``{"id", "order_id", "lines", "refunds": [{"kind", "amount"}],
    "total_refunded"}`` and more, every amount Money."""
    order = db.session.get(Order, sale_return.order_id)
    payments = {payment.id: payment for payment in order.payments}
    money = sale_return.money
    return {
        "id": sale_return.public_id,
        "order_id": order.public_id,
        "number": order.number,
        "store": sale_return.location.code,
        "reason": sale_return.reason,
        "lines": [
            {"sku": line.sku, "quantity": line.quantity, "restock": line.restock, "amount": money(line.amount).to_dict()}
            for line in sale_return.lines
        ],
        "refunds": [
            {
                "kind": refund.kind,
                "amount": money(refund.amount).to_dict(),
                "payment_id": payments[refund.payment_id].public_id if refund.payment_id in payments else None,
                "gateway_refund_id": refund.gateway_refund_id,
            }
            for refund in sale_return.refunds
        ],
        "total_refunded": money(sale_return.total_refunded).to_dict(),
        "approved_by": sale_return.approved_by,
        "actor": sale_return.actor.ref,
        "created_at": clock.isoformat(sale_return.created_at),
    }
