"""Carts on a tablet: scan or search to add, change quantities, attach a customer, discounts with a manager's
approval, and a cart hold on the units while the customer decides.

Every change locks the cart first (``SELECT … FOR UPDATE``; on SQLite the write transaction is ``BEGIN IMMEDIATE``),
so two taps on two tablets never interleave on one cart.  Lock order, after the cart: reservation headers, stock
rows (``inventory``), then the cash drawer (``pos.shifts``) — the same for every path that meets on those rows.

A cart line holds its units with a ``cart_hold`` reservation (``reference`` = the cart's id) that expires after the
store's ``cart_hold_minutes``.  When the store's records have none to hold, the line stays in the cart unheld, with
the reason the tablet shows (none on record, or held for order X): a take-now item is in the customer's hand, and a
manager can record the stock found (``record_found_stock``) to sell it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import inventory
from accounts import Staff, find_approver
from clienteling import Customer, find_customer, find_customer_by_loyalty_code
from core import clock
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import db
from core.errors import DomainError, InsufficientStock, InvalidTransition, NotFound, ValidationError
from core.money import Money
from core.outbox import new_id

from .cart_models import Cart, CartLine
from .pricing import CartTotals, needs_approval, override_needs_approval, price_cart
from .promotions import find_promo
from .promotions_models import PromoCode
from .settings import settings_of, store_settings
from .shifts import get_register

MAX_QUANTITY = 999
MAX_LINES = 200


class ApprovalRequired(DomainError):
    """A manager must approve this change."""

    code = "approval_required"


class ApprovalRefused(DomainError):
    """The approval was not given: wrong PIN or password, or not a manager of this store."""

    code = "approval_refused"


# --- reading ------------------------------------------------------------------------------------


def get_cart(public_id: str, lock: bool = False) -> Cart:
    """The cart with this id; NotFound otherwise.  With ``lock`` the cart's row is locked (``FOR UPDATE``, the first
    lock of every path on a cart) and read afresh, and its lines are read after the lock, in a statement of their
    own.  Not joined into the locking statement: PostgreSQL re-reads only the locked row once the lock is granted,
    the joined lines would be those from before the wait (a line removed meanwhile would be sold,
    tests/pos/test_checkout_races.py)."""
    query = select(Cart).where(Cart.public_id == public_id)
    if lock:
        query = query.with_for_update(of=Cart).execution_options(populate_existing=True)
    cart = db.session.scalar(query)
    if lock and cart is not None and "lines" in cart.__dict__:
        db.session.expire(cart, ["lines"])  # loaded before the lock: read them again under it
    if cart is None:
        raise NotFound(f"no cart {public_id}")
    return cart


def _open(public_id_or_cart, lock: bool = True) -> Cart:
    cart = get_cart(public_id_or_cart if isinstance(public_id_or_cart, str) else public_id_or_cart.public_id, lock=lock)
    if cart.status != "open":
        raise InvalidTransition(f"cart {cart.public_id} is {cart.status.replace('_', ' ')}", {"status": cart.status})
    return cart


def _line(cart: Cart, line_id) -> CartLine:
    for line in cart.lines:
        if str(line.id) == str(line_id):
            return line
    raise NotFound(f"cart {cart.public_id} has no line {line_id}")


def cart_settings(cart: Cart):
    """The settings of the cart's store (``pos.store_settings``), read by the store's id: the cart already has its
    store, so it is not looked up again.  A store no longer active answers as ``store_settings`` does (a
    ValidationError naming ``store``)."""
    if not cart.location.active:
        return store_settings(cart.location.code)
    return settings_of(cart.location)


def price(cart: Cart) -> CartTotals:
    """The cart priced under its store's settings (see ``pos.pricing``)."""
    settings = cart_settings(cart)
    promo = db.session.get(PromoCode, cart.promo_code_id) if cart.promo_code_id else None
    return price_cart(
        [(line.id, line.sku, line.quantity, line.unit_price, line.tax_class, line.discount) for line in cart.lines],
        settings.store_tax,
        cart.basket_discount,
        promo,
        currency=cart.currency,
    )


def _reservations(cart: Cart) -> dict[int, inventory.Reservation]:
    ids = [line.reservation_id for line in cart.lines if line.reservation_id]
    if not ids:
        return {}
    return {r.id: r for r in db.session.scalars(select(inventory.Reservation).where(inventory.Reservation.id.in_(ids)))}


def line_hold(line: CartLine, reservation) -> dict:
    """Whether a line's units are held for this cart, until when."""
    now = clock.now()
    held = reservation is not None and reservation.status == "held" and (reservation.expires_at is None or reservation.expires_at > now)
    return {"held": held, "expires_at": clock.isoformat(reservation.expires_at) if held else None}


def cart_payload(cart: Cart, totals: CartTotals | None = None) -> dict:
    """The cart as the API shows it (SPEC §3): lines with their prices, discounts, tax and totals, all Money."""
    from .endless_aisle import fulfilment_details  # (it builds on this module)

    totals = totals or price(cart)
    by_id = {line.line_id: line for line in totals.lines}
    reservations = _reservations(cart)
    currency = cart.currency

    def money(amount):
        return Money(amount, currency).to_dict()

    lines = []
    for line in cart.lines:
        priced = by_id[line.id]
        lines.append(
            {
                "id": line.id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": money(line.unit_price),
                "list_price": money(line.list_price),
                "line_discount": line.discount,
                "discount": money(priced.discount),
                "tax": money(priced.tax),
                "total": money(priced.total),
                "tax_class": line.tax_class,
                "fulfilment": line.fulfilment,
                "hold": line_hold(line, reservations.get(line.reservation_id)),
                "fulfilment_details": fulfilment_details(line),
            }
        )
    promo = db.session.get(PromoCode, cart.promo_code_id) if cart.promo_code_id else None
    return {
        "id": cart.public_id,
        "status": cart.status,
        "store": cart.location.code,
        "register": cart.register.code,
        "customer_id": _customer_public_id(cart.customer_id),
        "currency": currency,
        "lines": lines,
        "basket_discount": cart.basket_discount,
        "promo_code": promo.code if promo else None,
        "totals": totals.totals_dict(),
        "tax_mode": totals.tax_mode,
        "created_at": clock.isoformat(cart.created_at),
        "updated_at": clock.isoformat(cart.updated_at),
    }


def _customer_public_id(customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    customer = db.session.get(Customer, customer_id)
    return customer.public_id if customer else None


# --- opening and abandoning ---------------------------------------------------------------------


def open_cart(store_code: str, register_code: str, actor: Actor, customer_id: str | None = None) -> Cart:
    """A new open cart at a store's register, sold by ``actor`` (a staff member), optionally for a customer.
    ValidationError naming ``store``, ``register`` or ``customer_id``."""
    register = get_register(store_code, register_code)
    settings = store_settings(store_code)
    cart = Cart(
        public_id=new_id("crt"),
        location_id=register.location_id,
        register_id=register.id,
        staff_id=actor.id if actor.kind == "staff" else None,
        status="open",
        currency=settings.currency,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    if customer_id:
        cart.customer_id = _customer(customer_id).id
    db.session.add(cart)
    db.session.flush()
    return cart


def _customer(customer_id: str) -> Customer:
    try:
        return find_customer(customer_id)
    except NotFound:
        found = find_customer_by_loyalty_code(customer_id)
        if found is None or found.merged_into_id is not None or not found.active:
            raise ValidationError(f"no customer {customer_id}", field="customer_id") from None
        return found


def abandon_cart(cart, actor: Actor) -> Cart:
    """Give a cart up: every hold is released and the cart is ``abandoned`` (an abandoned cart answers unchanged).
    A cart that had lines is a void: the audit log gets a ``void`` entry with its lines and total."""
    cart = get_cart(cart if isinstance(cart, str) else cart.public_id, lock=True)
    if cart.status == "abandoned":
        return cart
    if cart.status != "open":
        raise InvalidTransition(f"cart {cart.public_id} is {cart.status.replace('_', ' ')}", {"status": cart.status})
    if cart.lines:
        totals = price(cart)
        record_audit(
            "void",
            actor,
            "cart",
            cart.public_id,
            {
                "store": cart.location.code,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in cart.lines],
                "total": Money(totals.total, cart.currency).to_dict(),
            },
        )
    for line in cart.lines:
        _release(line, actor)
    cart.status = "abandoned"
    cart.closed_at = cart.updated_at = clock.now()
    db.session.flush()
    return cart


# --- lines --------------------------------------------------------------------------------------


def _variant(sku: str | None, barcode: str | None) -> inventory.Variant:
    if bool(sku) == bool(barcode):
        raise ValidationError("send a sku or a barcode", field="sku")
    if sku:
        variant = inventory.find_variant_by_sku(sku.strip())
        if variant is None:
            raise ValidationError(f"no product with SKU {sku!r}", field="sku")
        return variant
    variant = inventory.find_variant_by_barcode(barcode.strip())
    if variant is None:
        raise ValidationError(f"no product with barcode {barcode!r}", field="barcode")
    return variant


def _check_quantity(quantity) -> int:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(f"the quantity is a whole number from 1 to {MAX_QUANTITY}", field="quantity")
    return quantity


def _release(line: CartLine, actor: Actor) -> None:
    if line.reservation_id is None:
        return
    reservation = db.session.get(inventory.Reservation, line.reservation_id)
    line.reservation_id = None
    if reservation is not None and reservation.status == "held":
        inventory.release_reservation(reservation.public_id, actor)


def _hold(cart: Cart, line: CartLine, actor: Actor) -> bool:
    """Release the line's hold and hold its whole quantity anew; False (the line unheld) when the store's records
    do not have that many available.  Never raises for stock."""
    _release(line, actor)
    if line.fulfilment != "take_now":
        return False
    settings = cart_settings(cart)
    savepoint = db.session.begin_nested()
    try:
        reservation = inventory.reserve(
            cart.location.code,
            [{"sku": line.sku, "quantity": line.quantity}],
            "cart_hold",
            reference=cart.public_id,
            expires_in=settings.cart_hold_minutes * 60,
            actor=actor,
        )
    except InsufficientStock:
        savepoint.rollback()
        return False
    savepoint.commit()
    line.reservation_id = reservation.id
    return True


def add_line(cart, actor: Actor, sku: str | None = None, barcode: str | None = None, quantity: int = 1) -> tuple[Cart, CartLine]:
    """Add ``quantity`` of a product, by SKU or by scanned barcode; the same SKU again adds to its line.  The
    line's units are held for the cart when the store has them (see the module docstring).  ValidationError
    naming ``sku``, ``barcode`` or ``quantity``; InvalidTransition when the cart is no longer open."""
    _check_quantity(quantity)
    cart = _open(cart)
    variant = _variant(sku, barcode)
    if variant.currency != cart.currency:
        raise ValidationError(f"{variant.sku} is priced in {variant.currency}, this store sells in {cart.currency}", field="sku")
    line = next((existing for existing in cart.lines if existing.variant_id == variant.id and existing.fulfilment == "take_now"), None)
    if line is None:
        if len(cart.lines) >= MAX_LINES:
            raise ValidationError(f"a cart holds at most {MAX_LINES} lines", field="lines")
        line = new_line(cart, variant, quantity)
    else:
        _check_quantity(line.quantity + quantity)
        line.quantity += quantity
    db.session.flush()
    _hold(cart, line, actor)
    _touch(cart)
    return cart, line


def new_line(cart: Cart, variant: inventory.Variant, quantity: int, **fulfilment) -> CartLine:
    """A new line of ``quantity`` of ``variant`` at its list price, appended to the cart (at most ``MAX_LINES``);
    ``fulfilment``: the columns of a line fulfilled elsewhere (``pos.endless_aisle``)."""
    if len(cart.lines) >= MAX_LINES:
        raise ValidationError(f"a cart holds at most {MAX_LINES} lines", field="lines")
    line = CartLine(
        variant_id=variant.id,
        sku=variant.sku,
        title=_title(variant),
        quantity=quantity,
        list_price=variant.price_amount,
        unit_price=variant.price_amount,
        tax_class=variant.tax_class or "standard",
        **fulfilment,
    )
    cart.lines.append(line)
    return line


def _title(variant: inventory.Variant) -> str:
    product = variant.product
    options = " / ".join(str(value) for value in (variant.options or {}).values() if value)
    return f"{product.title} — {options}" if options else product.title


def change_line(
    cart,
    line_id,
    actor: Actor,
    quantity: int | None = None,
    discount=None,
    clear_discount: bool = False,
    unit_price: Money | None = None,
    approval: dict | None = None,
) -> Cart:
    """Change a line: its quantity (held anew), its discount (``{"percent"}`` or ``{"amount"}``) or its unit price
    (a price override).  A discount above the store's threshold, or a price below the list price, needs a manager's
    ``approval`` ({"pin"} or {"email", "password"}): ApprovalRequired (403 ``approval_required``) without one,
    ApprovalRefused when it is wrong.  Approved changes go to the audit log."""
    cart = _open(cart)
    line = _line(cart, line_id)
    settings = cart_settings(cart)
    if unit_price is not None:
        if unit_price.currency != cart.currency:
            raise ValidationError(f"the price must be in {cart.currency}", field="unit_price")
        if unit_price.amount < 0:
            raise ValidationError("a price cannot be negative", field="unit_price")
        if override_needs_approval(unit_price.amount, line.list_price):
            approver = _approve(cart, approval, "a price below the list price")
            line.approved_by = approver.id
            record_audit(
                "price_override",
                actor,
                "cart",
                cart.public_id,
                {
                    "sku": line.sku,
                    "list_price": line.list_price,
                    "unit_price": unit_price.amount,
                    "approved_by": approver.id,
                    "approver": approver.name,
                },
            )
        line.unit_price = unit_price.amount
    if clear_discount:
        line.discount = None
    elif discount is not None:
        gross = line.unit_price * (quantity or line.quantity)
        price_cart([(line.id, line.sku, 1, 0, "x", discount)], {"mode": "inclusive", "rates": {"x": 0}}, currency=cart.currency)  # validates
        if needs_approval(discount, gross, settings.discount_approval_percent):
            approver = _approve(cart, approval, f"a discount above {settings.discount_approval_percent} %")
            line.approved_by = approver.id
            record_audit(
                "discount_approved",
                actor,
                "cart",
                cart.public_id,
                {"sku": line.sku, "discount": discount, "gross": gross, "approved_by": approver.id, "approver": approver.name},
            )
        line.discount = dict(discount)
    if quantity is not None and quantity != line.quantity:
        line.quantity = _check_quantity(quantity)
        db.session.flush()
        _hold(cart, line, actor)
    _touch(cart)
    return cart


def remove_line(cart, line_id, actor: Actor) -> Cart:
    """Take a line out of the cart; its hold is released."""
    cart = _open(cart)
    line = _line(cart, line_id)
    _release(line, actor)
    cart.lines.remove(line)
    _touch(cart)
    return cart


def hold_again(cart, actor: Actor) -> Cart:
    """Hold anew every take-now line whose hold ran out or was never made (the cart came back after a while)."""
    cart = _open(cart)
    reservations = _reservations(cart)
    for line in cart.lines:
        if line.fulfilment == "take_now" and not line_hold(line, reservations.get(line.reservation_id))["held"]:
            _hold(cart, line, actor)
    _touch(cart)
    return cart


def set_customer(cart, customer_id: str | None, actor: Actor) -> Cart:
    """Attach a customer (by id, or a scanned loyalty code) to the cart, or detach with None."""
    cart = _open(cart)
    cart.customer_id = _customer(customer_id).id if customer_id else None
    _touch(cart)
    return cart


def set_basket_discount(cart, discount, actor: Actor, approval: dict | None = None) -> Cart:
    """A discount on the whole basket (None removes it); above the store's threshold a manager approves."""
    cart = _open(cart)
    if discount is None:
        cart.basket_discount = None
        cart.basket_discount_approved_by = None
        _touch(cart)
        return cart
    settings = cart_settings(cart)
    totals = price(cart)
    worth = totals.subtotal - totals.discount + totals.basket_discount + totals.promo_discount
    price_cart([], {"mode": "inclusive", "rates": {"x": 0}}, discount, currency=cart.currency)  # validates the discount
    if needs_approval(discount, worth, settings.discount_approval_percent):
        approver = _approve(cart, approval, f"a discount above {settings.discount_approval_percent} %")
        cart.basket_discount_approved_by = approver.id
        record_audit(
            "discount_approved",
            actor,
            "cart",
            cart.public_id,
            {"basket": True, "discount": discount, "worth": worth, "approved_by": approver.id, "approver": approver.name},
        )
    cart.basket_discount = dict(discount)
    _touch(cart)
    return cart


def apply_promo_code(cart, code: str | None, actor: Actor) -> Cart:
    """Apply a promo code (None removes it): it must be active, in its dates and its minimum spend met (checked
    again at checkout, when it is redeemed)."""
    cart = _open(cart)
    if not code:
        cart.promo_code_id = None
        _touch(cart)
        return cart
    totals = price(cart)
    promo = find_promo(code, None, Money(totals.subtotal - totals.discount + totals.promo_discount, cart.currency))
    cart.promo_code_id = promo.id
    _touch(cart)
    return cart


def _approve(cart: Cart, approval: dict | None, what: str) -> Staff:
    if not approval:
        raise ApprovalRequired(f"{what} needs a manager's approval (PIN or sign-in)", {"reason": what})
    if not isinstance(approval, dict):
        raise ValidationError('an approval is {"pin"} or {"email", "password"}', field="approval")
    approver = find_approver(cart.location, email=approval.get("email"), password=approval.get("password"), pin=approval.get("pin"))
    if approver is None:
        raise ApprovalRefused("that PIN or sign-in is not a manager of this store", {"reason": what})
    return approver


def _touch(cart: Cart) -> None:
    cart.updated_at = clock.now()
    db.session.flush()


# --- take-now: the records say none -------------------------------------------------------------


def why_unavailable(cart: Cart, line: CartLine) -> dict:
    """What the store's records say about a line's SKU (``inventory.stock_explanation``) and one sentence for the
    tablet: "None on record here" or "3 on hand, all held: online order WEB-58211 (2), pickup CC-100234 (1)"."""
    stock = inventory.stock_explanation(cart.location.code, line.sku)
    others = [hold for hold in stock["holds"] if hold["reference"] != cart.public_id]
    if stock["on_hand"] <= 0:
        sentence = "None on record here"
    elif others:
        kinds = {"online_order": "online order", "pickup": "pickup", "appointment_hold": "appointment", "cart_hold": "another cart"}
        held = ", ".join(
            f"{kinds.get(h['kind'], h['kind'])} {h['reference']} ({h['quantity']})".replace("another cart crt_", "another cart ") for h in others[:3]
        )
        sentence = f"{stock['on_hand']} on record, held: {held}"
    else:
        sentence = f"{stock['available']} available on record"
    return {**stock, "message": sentence}


def record_found_stock(cart, line_id, quantity: int, actor: Actor, approval: dict | None) -> Cart:
    """A take-now item the records do not have: a manager approves a count correction that adds ``quantity``
    units found (an ``adjustment`` in the ledger, reason and cart on it, and an audit entry), and the line is held
    again.  ApprovalRequired / ApprovalRefused as for discounts."""
    cart = _open(cart)
    line = _line(cart, line_id)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationError(f"the units found are a whole number from 1 to {MAX_QUANTITY}", field="quantity")
    approver = _approve(cart, approval, "recording stock found at the shelf")
    inventory.record_movement(
        cart.location.code,
        line.sku,
        "adjust",
        quantity,
        reason=f"found at the shelf during a sale (approved by {approver.name})",
        reference=cart.public_id,
        actor=actor,
    )
    record_audit(
        "stock_found", actor, "cart", cart.public_id, {"sku": line.sku, "quantity": quantity, "approved_by": approver.id, "approver": approver.name}
    )
    _hold(cart, line, actor)
    _touch(cart)
    return cart


# --- carts nobody finished ----------------------------------------------------------------------

STALE_AFTER = timedelta(hours=12)


def stale_carts(idle: timedelta = STALE_AFTER, limit: int = 200) -> list[str]:
    """Ids of open carts untouched for ``idle`` (a tablet left a sale half-made): the sweeper abandons them."""
    cutoff = clock.now() - idle
    return list(db.session.scalars(select(Cart.public_id).where(Cart.status == "open", Cart.updated_at <= cutoff).order_by(Cart.id).limit(limit)))


def abandon_stale_cart(public_id: str, idle: timedelta = STALE_AFTER) -> bool:
    """Abandon one open cart untouched for ``idle`` (its holds released), re-checked under its lock: False when
    it was checked out, abandoned or touched again meanwhile."""
    cart = get_cart(public_id, lock=True)
    if cart.status != "open" or cart.updated_at > clock.now() - idle:
        return False
    abandon_cart(cart, SYSTEM)
    return True
