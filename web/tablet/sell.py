"""The tablet's checkout: the cart screen (scan, search to add, quantities, discounts with a manager's approval,
found stock, the customer and what to show them), the cash tender screen and the receipt screen.

The cart belongs to the store and the register the tablet picked once (kept in the session).  Every change is a
small form posted here and answered with a redirect back to the cart (its scan field focused again), so a page
works without JavaScript; ``static/tablet/sell.js`` adds the PIN pad, keeps the scan field ready and stops a double
tap.  A refused change (a discount above the threshold, found stock) renders the cart again with the approval
dialog and a 403; every error answer (4xx) rolls the request's transaction back (``web.register_request_hooks``).

The checkout form carries an idempotency key made when the tender screen is drawn (``sell.js`` makes a fresh one
per attempt): the same key twice — a double tap, a retried post — answers the first sale, never a second one.
"""

from __future__ import annotations

import secrets

import qrcode
import qrcode.image.svg
from flask import Response, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

import clienteling
import inventory
import pos
from accounts import ROLES
from core import db
from core.errors import DomainError, InsufficientStock, NotFound, ValidationError
from core.idempotency import check_key, find_answer, request_fingerprint, store_answer
from core.money import Money

from ..auth import require_role, safe_next
from ..errors import DOMAIN_STATUS, ApiError
from ..public_urls import public_url_for
from ..receipts import local_time, send_receipt
from ..viewmodels import exact_variant
from . import bp
from .customers import card_owner, scanned_loyalty_code

QUICK_DISCOUNTS = (10, 20, 30)
NOTES = (500, 1000, 2000, 5000, 10000, 20000, 50000)  # minor units: the notes a customer hands over, smallest first


# --- where the tablet sells: store, register, cart --------------------------------------------


def _key(name: str) -> str:
    return f"sell.{name}.{g.store.id}"


def current_register() -> str | None:
    """The register this tablet sells at in the current store (picked once, kept in the session), if still active."""
    if g.get("store") is None:
        return None
    code = session.get(_key("register"))
    if code and any(r.code == code for r in pos.list_registers(g.store.code)):
        return code
    return None


def _current_cart():
    """The open cart this tablet has at its store and register, or None."""
    cart_id = session.get(_key("cart"))
    if not cart_id:
        return None
    try:
        cart = pos.get_cart(cart_id)
    except NotFound:
        return None
    if cart.status != "open" or cart.location_id != g.store.id or cart.register.code != current_register():
        return None
    return cart


def _cart(cart_id: str, lock: bool = False):
    """The cart ``cart_id`` when it is at one of the signed-in staff member's stores; 404 otherwise."""
    try:
        cart = pos.get_cart(cart_id)
    except NotFound:
        raise ApiError(404, "not_found", "that sale no longer exists") from None
    if cart.location_id not in {s.id for s in g.get("stores", [])}:
        raise ApiError(404, "not_found", "that sale no longer exists")
    return cart


def _order(order_id: str):
    try:
        order = pos.get_order(order_id)
    except NotFound:
        raise ApiError(404, "not_found", "no such sale") from None
    if order.location_id not in {s.id for s in g.get("stores", [])}:
        raise ApiError(404, "not_found", "no such sale")
    return order


def _require_store():
    if g.get("store") is None:
        raise ApiError(403, "forbidden", "you work at no store yet: ask a manager to add you to one")


def _money(value: dict | None) -> str:
    return Money(value["amount"], value["currency"]).format() if value else ""


def status_of(exc: DomainError) -> int:
    """The HTTP status the JSON API gives this error (``web.errors``): the tablet answers the same."""
    return next((code for cls, code in DOMAIN_STATUS if isinstance(exc, cls)), 400)


def _sentence(exc: DomainError) -> str:
    text = exc.message or "that did not work"
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def _parse_money(text: str, currency: str, field: str) -> Money:
    try:
        value = Money.parse_decimal((text or "").strip().replace("€", "").strip(), currency)
    except ValueError:
        raise ValidationError("write an amount like 12.50", field=field) from None
    if value.amount < 0:
        raise ValidationError("an amount cannot be negative", field=field)
    return value


def _approval_from_form() -> dict | None:
    """The manager's approval a form carries: a PIN, or their email and password; None without one."""
    pin = request.form.get("approval_pin", "").strip()
    email = request.form.get("approval_email", "").strip()
    password = request.form.get("approval_password", "")
    if pin:
        return {"pin": pin}
    if email and password:
        return {"email": email, "password": password}
    return None


# --- the cart screen ---------------------------------------------------------------------------


def line_views(cart, payload: dict) -> list[dict]:
    """The cart's lines as the screen shows them, each unheld take-now line with why (``pos.why_unavailable``)."""
    lines = {line.id: line for line in cart.lines}
    views = []
    for data in payload["lines"]:
        view = dict(data)
        view["unheld"] = None
        if data["fulfilment"] == "take_now" and not data["hold"]["held"]:
            view["unheld"] = pos.why_unavailable(cart, lines[data["id"]])["message"]
        views.append(view)
    return views


def _customer_panel(cart) -> dict | None:
    if cart is None or cart.customer_id is None:
        return None
    customer = db.session.get(clienteling.Customer, cart.customer_id)
    if customer is None:
        return None
    return {
        "customer": customer,
        "recommendations": clienteling.recommend(customer, g.store.code, limit=4),
        "personalised": clienteling.has_consent(customer, "personalisation"),
    }


def render_cart(cart=None, status: int = 200, error: str | None = None, approval: dict | None = None, results=None, query: str = ""):
    """The cart screen: the cart (or an empty one before the first scan), its lines and totals, the customer, and
    optionally an error in words, the approval dialog, or products / customers found by a search."""
    register = current_register()
    shift = pos.find_open_shift(g.store.code, register) if register else None
    payload = pos.cart_payload(cart) if cart is not None else None
    page = render_template(
        "tablet/sell/cart.html",
        cart=cart,
        payload=payload,
        lines=line_views(cart, payload) if cart is not None else [],
        register=register,
        registers=pos.list_registers(g.store.code),
        shift=shift,
        panel=_customer_panel(cart),
        error=error,
        approval=approval,
        results=results,
        query=query,
        quick_discounts=QUICK_DISCOUNTS,
        money=_money,
    )
    return page, status


@bp.get("/sell")
@require_role(*ROLES)
def sell():
    """The cart screen of this tablet's register: the open cart, or an empty one waiting for the first scan."""
    _require_store()
    if current_register() is None:
        return render_template("tablet/sell/register.html", registers=pos.list_registers(g.store.code))
    cart = _current_cart()
    if cart is not None:
        return redirect(url_for(".cart", cart_id=cart.public_id))
    return render_cart(None, query=request.args.get("q", "").strip()[:200], results=_search(request.args.get("q", "")))


@bp.get("/carts/<cart_id>")
@require_role(*ROLES)
def cart(cart_id):
    """One cart at one of the staff member's stores."""
    _require_store()
    found = _cart(cart_id)
    if found.status != "open":
        return redirect(url_for(".sell"))
    query = request.args.get("q", "").strip()[:200]
    return render_cart(found, query=query, results=_search(query))


def _search(query: str) -> dict | None:
    """Products (with their variants, to add) and customers (to attach) matching a typed search."""
    query = (query or "").strip()[:200]
    if not query:
        return None
    products, _ = inventory.search_products(query, limit=6)
    customers, _ = clienteling.search_page(query, limit=5)
    return {"products": products, "customers": customers}


@bp.post("/sell/register")
@require_role(*ROLES)
def choose_register():
    """Pick the register this tablet sells at (kept in the session for this store)."""
    _require_store()
    code = request.form.get("register", "")
    if not any(r.code == code for r in pos.list_registers(g.store.code)):
        raise ApiError(400, "invalid_request", "choose one of this store's registers", {"register": ["unknown register"]})
    session[_key("register")] = code
    session.pop(_key("cart"), None)
    return redirect(safe_next(request.form.get("next")) or url_for(".sell"))


def _open_or_current():
    cart = _current_cart()
    if cart is not None:
        return pos.get_cart(cart.public_id)
    register = current_register()
    if register is None:
        raise ApiError(409, "no_register", "pick this tablet's register first")
    cart = pos.open_cart(g.store.code, register, current_user.actor)
    session[_key("cart")] = cart.public_id
    return cart


def _failed(cart_id: str | None, exc: DomainError, status: int):
    """Render the cart again with what went wrong (the 4xx status rolls the request back)."""
    db.session.rollback()
    cart = _cart(cart_id) if cart_id else _current_cart()
    if cart is not None and cart.status != "open":
        cart = None
    return render_cart(cart, status=status, error=_sentence(exc))


def _back(cart) -> Response:
    return redirect(url_for(".cart", cart_id=cart.public_id))


@bp.post("/sell/scan")
@require_role(*ROLES)
def scan():
    """What the scan field received: a barcode or SKU adds the product, a loyalty code (or the card's QR link)
    attaches the customer; anything else is a search shown under the cart."""
    _require_store()
    text = request.form.get("code", "").strip()[:200]
    cart = _current_cart()
    if not text:
        return _back(cart) if cart else redirect(url_for(".sell"))
    code = scanned_loyalty_code(text)
    try:
        if code:
            customer = card_owner(code)
            if customer is None:
                raise ValidationError(f"no customer has the loyalty code {code}", field="code")
            cart = _open_or_current()
            pos.set_customer(cart, customer.public_id, current_user.actor)
            return _back(cart)
        variant = exact_variant(text)
        if variant is None:
            if cart is not None:
                return redirect(url_for(".cart", cart_id=cart.public_id, q=text))
            return redirect(url_for(".sell", q=text))
        cart = _open_or_current()
        pos.add_line(cart, current_user.actor, sku=variant.sku)
    except DomainError as exc:
        return _failed(cart.public_id if cart else None, exc, status_of(exc))
    return _back(cart)


@bp.post("/sell/add")
@require_role(*ROLES)
def add_found():
    """Add a product found by the search (its SKU), opening the cart when this is the first item."""
    _require_store()
    cart = _current_cart()
    try:
        cart = _open_or_current()
        pos.add_line(cart, current_user.actor, sku=request.form.get("sku", "").strip()[:100] or None)
    except DomainError as exc:
        return _failed(cart.public_id if cart else None, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/lines/<line_id>/quantity")
@require_role(*ROLES)
def change_quantity(cart_id, line_id):
    """Set a line's quantity (the +/− buttons send the new number)."""
    cart = _cart(cart_id)
    try:
        quantity = int(request.form.get("quantity", ""))
    except ValueError:
        return _failed(cart_id, ValidationError("the quantity is a whole number", field="quantity"), 400)
    try:
        if quantity <= 0:
            pos.remove_line(cart, line_id, current_user.actor)
        else:
            pos.change_line(cart, line_id, current_user.actor, quantity=quantity)
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/lines/<line_id>/remove")
@require_role(*ROLES)
def remove_line(cart_id, line_id):
    cart = _cart(cart_id)
    try:
        pos.remove_line(cart, line_id, current_user.actor)
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


def _discount_from_form(currency: str) -> dict | None:
    """``{"percent": n}`` or ``{"amount": minor units}`` from the form; None for "no discount"."""
    kind = request.form.get("kind", "percent")
    value = request.form.get("value", "").strip()
    if kind == "none" or value == "":
        return None
    if kind == "amount":
        return {"amount": _parse_money(value, currency, "value").amount}
    try:
        percent = int(value.rstrip("%").strip())
    except ValueError:
        raise ValidationError("a percentage is a whole number from 0 to 100", field="value") from None
    if not 0 <= percent <= 100:
        raise ValidationError("a percentage is a whole number from 0 to 100", field="value")
    return {"percent": percent}


def _needs_approval(cart_id: str, exc: DomainError, action: str, what: str):
    """Render the cart with the approval dialog holding the change that waits for a manager."""
    refused = isinstance(exc, pos.ApprovalRefused)
    db.session.rollback()
    fields = {k: v for k, v in request.form.items() if k not in ("csrf_token", "approval_pin", "approval_email", "approval_password")}
    approval = {
        "action": action,
        "fields": fields,
        "what": what,
        "reason": _sentence(exc),
        "refused": refused,
        "email": request.form.get("approval_email", ""),
    }
    return render_cart(_cart(cart_id), status=403, approval=approval)


@bp.post("/carts/<cart_id>/lines/<line_id>/discount")
@require_role(*ROLES)
def line_discount(cart_id, line_id):
    """A line's discount; above the store's threshold the approval dialog asks for a manager."""
    cart = _cart(cart_id)
    action = url_for(".line_discount", cart_id=cart_id, line_id=line_id)
    try:
        discount = _discount_from_form(cart.currency)
        line = next((ln for ln in cart.lines if str(ln.id) == line_id), None)
        title = line.title if line else "this line"
        pos.change_line(cart, line_id, current_user.actor, discount=discount, clear_discount=discount is None, approval=_approval_from_form())
    except (pos.ApprovalRequired, pos.ApprovalRefused) as exc:
        return _needs_approval(cart_id, exc, action, f"{_describe(discount)} off {title}")
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


def _describe(discount: dict | None) -> str:
    if not discount:
        return "No discount"
    if "percent" in discount:
        return f"{discount['percent']} %"
    return Money(discount["amount"], "EUR").format()


@bp.post("/carts/<cart_id>/discount")
@require_role(*ROLES)
def basket_discount(cart_id):
    """A discount on the whole basket; above the store's threshold the approval dialog asks for a manager."""
    cart = _cart(cart_id)
    action = url_for(".basket_discount", cart_id=cart_id)
    discount = None
    try:
        discount = _discount_from_form(cart.currency)
        pos.set_basket_discount(cart, discount, current_user.actor, approval=_approval_from_form())
    except (pos.ApprovalRequired, pos.ApprovalRefused) as exc:
        return _needs_approval(cart_id, exc, action, f"{_describe(discount)} off the basket")
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/promo")
@require_role(*ROLES)
def promo(cart_id):
    cart = _cart(cart_id)
    code = request.form.get("code", "").strip()[:40]
    try:
        pos.apply_promo_code(cart, code or None, current_user.actor)
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/lines/<line_id>/found-stock")
@require_role(*ROLES)
def found_stock(cart_id, line_id):
    """The item is in the customer's hand though the records have none: a manager records the units found."""
    cart = _cart(cart_id)
    action = url_for(".found_stock", cart_id=cart_id, line_id=line_id)
    line = next((ln for ln in cart.lines if str(ln.id) == line_id), None)
    try:
        quantity = int(request.form.get("quantity", "") or (line.quantity if line else 1))
    except ValueError:
        return _failed(cart_id, ValidationError("the units found are a whole number", field="quantity"), 400)
    try:
        pos.record_found_stock(cart, line_id, quantity, current_user.actor, _approval_from_form())
    except (pos.ApprovalRequired, pos.ApprovalRefused) as exc:
        return _needs_approval(cart_id, exc, action, f"Record {quantity} × {line.title if line else 'this item'} found at the shelf")
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/customer")
@require_role(*ROLES)
def attach_customer(cart_id):
    """Attach the customer picked from the search (``customer_id``), or detach (empty)."""
    cart = _cart(cart_id)
    try:
        pos.set_customer(cart, request.form.get("customer_id", "").strip()[:60] or None, current_user.actor)
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    return _back(cart)


@bp.post("/sell/customer")
@require_role(*ROLES)
def attach_customer_first():
    """Attach a customer before the first item (opens the cart)."""
    _require_store()
    cart = None
    try:
        cart = _open_or_current()
        pos.set_customer(cart, request.form.get("customer_id", "").strip()[:60] or None, current_user.actor)
    except DomainError as exc:
        return _failed(cart.public_id if cart else None, exc, status_of(exc))
    return _back(cart)


@bp.post("/carts/<cart_id>/abandon")
@require_role(*ROLES)
def abandon(cart_id):
    """Give the sale up: its holds are released and the next scan starts a new cart."""
    cart = _cart(cart_id)
    try:
        pos.abandon_cart(cart, current_user.actor)
    except DomainError as exc:
        return _failed(cart_id, exc, status_of(exc))
    if session.get(_key("cart")) == cart_id:
        session.pop(_key("cart"), None)
    return redirect(url_for(".sell"))


# --- the tender screen -------------------------------------------------------------------------


def quick_amounts(due: int) -> list[int]:
    """What a customer is likely to hand over for ``due`` (minor units, already rounded for cash): the exact
    amount, then the next round amounts in notes (up to three, smallest first)."""
    amounts = [due]
    for note in NOTES:
        next_up = -(-due // note) * note
        if next_up > due and next_up not in amounts:
            amounts.append(next_up)
        if len(amounts) == 4:
            break
    return amounts


def waiting_order(cart):
    """The order an ``awaiting_payment`` cart waits with (a card or QR payment runs, or one was declined), or None."""
    if cart.status != "awaiting_payment":
        return None
    return db.session.scalar(select(pos.Order).where(pos.Order.cart_id == cart.id))


def pending_payment(order):
    """The card or QR payment the order waits for now, or None."""
    if order is None:
        return None
    return next((p for p in order.payments if p.kind != "cash" and p.status == "pending"), None)


def render_pay(cart, status: int = 200, error: str | None = None, short: list | None = None):
    """The tender screen: what is left to pay (the total; after a declined card, the balance due with what was paid
    already), cash quick amounts (rounded to the coins), and card on the register's reader or pay by QR."""
    payload = pos.cart_payload(cart)
    order = waiting_order(cart)
    left = pos.balance_due(order) if order is not None else payload["totals"]["total"]["amount"]
    due = pos.round_cash(left, cart.currency)
    register = cart.register.code
    paid = []
    declined = None
    if order is not None:
        paid = [p for p in order.payments if p.status == "succeeded"]
        failed = [p for p in order.payments if p.status == "failed"]
        declined = failed[-1] if failed else None
    return (
        render_template(
            "tablet/sell/pay.html",
            cart=cart,
            payload=payload,
            order=order,
            paid=paid,
            declined=declined,
            left=Money(left, cart.currency),
            due=Money(due, cart.currency),
            quick=[Money(amount, cart.currency) for amount in quick_amounts(due)],
            shift=pos.find_open_shift(cart.location.code, register),
            register=register,
            error=error,
            short=short or [],
            attempt=secrets.token_urlsafe(18),
            money=_money,
        ),
        status,
    )


@bp.get("/carts/<cart_id>/pay")
@require_role(*ROLES)
def pay(cart_id):
    """The tender screen: the total, cash quick amounts (exact, the next notes) and any amount typed."""
    cart = _cart(cart_id)
    if cart.status == "awaiting_payment":
        order = waiting_order(cart)
        running = pending_payment(order)
        if running is not None:
            return redirect(url_for(".payment", payment_id=running.public_id))
        return render_pay(cart)
    if cart.status != "open":
        return redirect(url_for(".sell"))
    if not cart.lines:
        return _back(cart)
    return render_pay(cart)


def _stored_sale(principal: str, key: str, fingerprint: str):
    found = find_answer(principal, key, fingerprint)
    return redirect(url_for(".sale", order_id=found[1])) if found else None


@bp.post("/carts/<cart_id>/checkout")
@require_role(*ROLES)
def checkout(cart_id):
    """Pay cash (``tendered`` in minor units from a quick amount, or ``tendered_text`` typed) and check out through
    ``pos.checkout``; on success the receipt screen.  The ``attempt`` key makes a repeat of this post answer the
    same sale.  Errors in words on the tender screen: not enough stock (which line, how many), too little cash,
    no open shift."""
    cart = _cart(cart_id)
    principal = f"staff:{current_user.id}"
    fingerprint = request_fingerprint("POST", request.path, None)
    try:
        key = check_key(request.form.get("attempt", ""))
        replay = _stored_sale(principal, key, fingerprint)
        if replay is not None:
            return replay
        kind = request.form.get("kind", "cash")
        if kind in ("card", "qr"):  # the card or the phone pays what is left, exactly
            order = waiting_order(cart)
            left = pos.balance_due(order) if order is not None else pos.price(cart).total
            tenders = [{"kind": kind, "amount": Money(left, cart.currency)}]
        elif kind == "split":  # some cash handed over, the card on the reader pays the rest
            order = waiting_order(cart)
            left = pos.balance_due(order) if order is not None else pos.price(cart).total
            part = _parse_money(request.form.get("cash_text", ""), cart.currency, "cash_text")
            if not 0 < part.amount < left:
                raise ValidationError(f"the cash part is more than nothing and less than {Money(left, cart.currency).format()}", field="cash_text")
            tenders = [{"kind": "cash", "amount": part}, {"kind": "card", "amount": Money(left - part.amount, cart.currency)}]
        elif kind == "cash":
            if request.form.get("tendered"):
                try:
                    tendered = Money(int(request.form["tendered"]), cart.currency)
                except ValueError:
                    raise ValidationError("choose an amount", field="tendered") from None
            else:
                tendered = _parse_money(request.form.get("tendered_text", ""), cart.currency, "tendered")
            tenders = [{"kind": "cash", "amount": tendered}]
        else:
            raise ValidationError("pay by cash, card or QR code", field="kind")
        order = pos.checkout_and_pay(cart.public_id, tenders, current_user.actor)
    except InsufficientStock as exc:
        db.session.rollback()
        fresh = _cart(cart_id)
        titles = {line.sku: line.title for line in fresh.lines}
        short = [{**line, "title": titles.get(line["sku"], line["sku"])} for line in exc.lines]
        return render_pay(fresh, 409, error=_short_sentence(exc), short=short)
    except DomainError as exc:
        db.session.rollback()
        details = getattr(exc, "details", None) or {}
        fresh = _cart(cart_id)
        if exc.code == "payment_in_progress" and details.get("payment_id"):  # a card is on the reader already
            return redirect(url_for(".payment", payment_id=details["payment_id"]))
        if fresh.status not in ("open", "awaiting_payment") and details.get("order_id"):  # sold already: show that sale
            return redirect(url_for(".sale", order_id=details["order_id"]))
        if fresh.status not in ("open", "awaiting_payment"):
            return redirect(url_for(".sell"))
        return render_pay(fresh, status_of(exc), error=_tender_sentence(exc, fresh.currency))
    if not store_answer(principal, key, fingerprint, 303, order.public_id):
        db.session.rollback()  # the same attempt won a moment ago: show its sale
        replay = _stored_sale(principal, key, fingerprint)
        if replay is not None:
            return replay
    if order.status == "awaiting_payment":
        running = pending_payment(order)
        return redirect(url_for(".payment", payment_id=running.public_id) if running else url_for(".pay", cart_id=cart.public_id))
    if session.get(_key("cart")) == cart.public_id:
        session.pop(_key("cart"), None)
    return redirect(url_for(".sale", order_id=order.public_id))


def _short_sentence(exc: InsufficientStock) -> str:
    count = len(exc.lines)
    return f"Not enough in stock for {'this line' if count == 1 else f'{count} lines'}: change the cart, or have a manager record the stock found."


def _tender_sentence(exc: DomainError, currency: str) -> str:
    if exc.code == "tender_short":
        missing = (exc.details or {}).get("missing")
        if isinstance(missing, dict):
            return f"Not enough cash: {Money(missing['amount'], missing['currency']).format()} more is needed."
        return _sentence(exc)
    if exc.code == "no_open_shift":
        return "Cash needs an open shift on this register: open one first."
    return _sentence(exc)


# --- the receipt screen --------------------------------------------------------------------------


def receipt_url(order) -> str:
    return public_url_for("receipts.receipt", token=order.receipt_token)


@bp.get("/sales/<order_id>")
@require_role(*ROLES)
def sale(order_id):
    """After the sale: the change to hand back (large), a QR code of the digital receipt, email it, print it, and a
    new sale."""
    _require_store()
    order = _order(order_id)
    if order.status == "awaiting_payment":  # a replayed attempt of a sale still paying: where it stands
        cart = db.session.get(pos.Cart, order.cart_id)
        return redirect(url_for(".pay", cart_id=cart.public_id))
    if session.get(_key("cart")) == db.session.get(pos.Cart, order.cart_id).public_id:
        session.pop(_key("cart"), None)
    payload = pos.order_payload(order)
    cash = next((t for t in payload["tenders"] if t["kind"] == "cash"), None)
    customer = db.session.get(clienteling.Customer, order.customer_id) if order.customer_id else None
    email = order.receipt_email or (customer.email if customer is not None and customer.active else "") or ""
    return render_template(
        "tablet/sell/receipt.html",
        order=order,
        payload=payload,
        cash=cash,
        customer=customer,
        email=email,
        receipt_url=receipt_url(order),
        money=_money,
        when=local_time(order),
    )


@bp.get("/sales/<order_id>/receipt-qr.svg")
@require_role(*ROLES)
def receipt_qr(order_id):
    """A QR code of the order's digital receipt for the customer's phone camera."""
    order = _order(order_id)
    image = qrcode.make(receipt_url(order), image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return Response(image.to_string(encoding="unicode"), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=600"})


@bp.post("/sales/<order_id>/email")
@require_role(*ROLES)
def email_receipt(order_id):
    """Email the receipt (a transactional message: no marketing consent needed, but recorded)."""
    order = _order(order_id)
    try:
        address = send_receipt(order, request.form.get("email", ""), receipt_url(order), current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        flash(_sentence(exc), "error")
        return redirect(url_for(".sale", order_id=order_id))
    flash(f"The receipt is on its way to {address}.", "info")
    return redirect(url_for(".sale", order_id=order_id))
