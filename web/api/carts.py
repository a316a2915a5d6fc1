"""Staff endpoints for carts and checkout: scan or search to add, quantities, a customer, discounts with a
manager's approval, found stock, and the checkout (SPEC §3).

Carts are for staff only (a session cookie or a staff token); staff reach the carts of their own stores.  The
checkout needs an ``Idempotency-Key``: a retried checkout answers the first order and never sells twice.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError

import inventory
import pos
from core.errors import NotFound, ValidationError

from ..auth import current_principal
from ..public_urls import public_url_for
from .access import body_field, store_access
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import CURRENCY, SKU, STORE_CODE, ErrorOut, MoneyOut, MoneySchema
from .shifts import REGISTER, staff_member

blp = Blueprint("carts", __name__, url_prefix="/api/v1", description="Carts and checkout at the shelf (staff only)")


def _actor():
    return current_principal().actor


def cart_store(*args, cart_id, **kwargs):
    """The store a cart is at (None when there is no such cart: the view answers 404)."""
    try:
        return [pos.get_cart(cart_id).location.code]
    except NotFound:
        return [None]


def order_answer(order) -> dict:
    """The order payload with its absolute ``receipt_url``."""
    payload = pos.order_payload(order)
    payload["receipt_url"] = public_url_for("receipts.receipt", token=order.receipt_token)
    return payload


# --- schemas ----------------------------------------------------------------------------------


class DiscountSchema(Schema):
    percent = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    amount = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**12), metadata={"description": "minor units off the line or basket"})

    @validates_schema
    def one(self, data, **kwargs):
        if len(data) != 1:
            raise MarshmallowError('a discount is {"percent": 0-100} or {"amount": minor units}')


class ApprovalSchema(Schema):
    pin = fields.String(validate=validate.Length(min=4, max=8), metadata={"description": "a manager's approval PIN"})
    email = fields.String(validate=validate.Length(max=255))
    password = fields.String(validate=validate.Length(max=200))

    @validates_schema
    def either(self, data, **kwargs):
        if not data.get("pin") and not (data.get("email") and data.get("password")):
            raise MarshmallowError("send a manager's pin, or their email and password")


class CartIn(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    register = fields.String(required=True, validate=REGISTER, metadata={"description": "the register's code at the store, like T1"})
    customer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class AddressIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(validate=validate.Length(max=200))
    postal_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    region = fields.String(validate=validate.Length(max=100))
    country = fields.String(required=True, validate=validate.Length(equal=2), metadata={"description": "ISO 3166-1 alpha-2, like DE"})
    phone = fields.String(validate=validate.Length(max=40))


class FulfilmentIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["ship", "collect"]))
    source = fields.String(
        required=True, data_key="from", validate=STORE_CODE, metadata={"description": "the location the units come from: the warehouse or a store"}
    )
    ship_to = fields.Nested(AddressIn, metadata={"description": "ship: where to"})
    collect_at = fields.String(validate=STORE_CODE, metadata={"description": "collect: the store the customer collects at"})


class LineIn(Schema):
    sku = fields.String(validate=SKU)
    barcode = fields.String(validate=validate.Length(min=1, max=20), metadata={"description": "EAN-13 or UPC-A digits as scanned"})
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=999))
    fulfilment = fields.Nested(
        FulfilmentIn,
        metadata={
            "description": "endless aisle: the line comes from another location, shipped or collected (a separate line; nothing is held until checkout)"
        },
    )

    @validates_schema
    def sku_or_barcode(self, data, **kwargs):
        if bool(data.get("sku")) == bool(data.get("barcode")):
            raise MarshmallowError("send a sku or a barcode", field_name="sku")


class LineChangeIn(Schema):
    quantity = fields.Integer(strict=True, validate=validate.Range(min=1, max=999))
    discount = fields.Nested(DiscountSchema, allow_none=True, metadata={"description": "null removes the line's discount"})
    unit_price = fields.Nested(MoneySchema, metadata={"description": "a price override; below the list price a manager approves"})
    approval = fields.Nested(ApprovalSchema)


class CartCustomerIn(Schema):
    customer_id = fields.String(
        required=True,
        allow_none=True,
        validate=validate.Length(max=60),
        metadata={"description": "a customer id or a scanned loyalty code; null detaches"},
    )


class BasketDiscountIn(Schema):
    discount = fields.Nested(DiscountSchema, required=True, allow_none=True)
    approval = fields.Nested(ApprovalSchema)


class PromoIn(Schema):
    code = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))


class FoundStockIn(Schema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=999))
    approval = fields.Nested(ApprovalSchema, required=True)


class TenderIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(pos.TENDER_KINDS))
    amount = fields.Nested(
        MoneySchema, required=True, metadata={"description": "cash: what was handed over (change comes back); card/qr: what it pays"}
    )
    reader = fields.String(
        load_default=None, validate=validate.Length(max=100), metadata={"description": "card: the reader's id (default: this register's)"}
    )


class CheckoutIn(Schema):
    tenders = fields.List(fields.Nested(TenderIn), required=True, validate=validate.Length(min=1, max=5))
    receipt_email = fields.Email(load_default="", validate=validate.Length(max=255))


class HoldOut(Schema):
    held = fields.Boolean()
    expires_at = fields.String(allow_none=True)


class SaleCartLineOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    title = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Nested(MoneyOut)
    list_price = fields.Nested(MoneyOut)
    line_discount = fields.Dict(allow_none=True, metadata={"description": "the line's own discount as given"})
    discount = fields.Nested(
        MoneyOut, metadata={"description": "all taken off the line: its own discount and its shares of basket discount and promo"}
    )
    tax = fields.Nested(MoneyOut)
    total = fields.Nested(MoneyOut)
    tax_class = fields.String()
    fulfilment = fields.String(metadata={"enum": list(pos.FULFILMENTS)})
    hold = fields.Nested(HoldOut, metadata={"description": "whether its units are held for this cart (a cart hold)"})
    fulfilment_details = fields.Nested(
        "FulfilmentOut",
        allow_none=True,
        metadata={"description": "endless aisle: where it ships from and to, or where it is collected; null for take-now"},
    )


class TotalsOut(Schema):
    subtotal = fields.Nested(MoneyOut)
    discount = fields.Nested(MoneyOut)
    tax = fields.Nested(MoneyOut)
    total = fields.Nested(MoneyOut)


class SaleCartOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"enum": list(pos.CART_STATUSES)})
    store = fields.String()
    register = fields.String()
    customer_id = fields.String(allow_none=True)
    currency = fields.String(validate=CURRENCY)
    lines = fields.List(fields.Nested(SaleCartLineOut))
    basket_discount = fields.Dict(allow_none=True)
    promo_code = fields.String(allow_none=True)
    totals = fields.Nested(TotalsOut)
    tax_mode = fields.String(metadata={"enum": ["inclusive", "exclusive"]})
    created_at = fields.String()
    updated_at = fields.String()


class UnavailableOut(Schema):
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    holds = fields.List(fields.Dict())
    message = fields.String()


class TenderOut(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    amount = fields.Nested(MoneyOut)
    tendered = fields.Nested(MoneyOut)
    change = fields.Nested(MoneyOut)
    card = fields.Dict(allow_none=True)
    refunded = fields.Nested(MoneyOut)


class AddressOut(Schema):
    name = fields.String()
    line1 = fields.String()
    line2 = fields.String()
    postal_code = fields.String()
    city = fields.String()
    region = fields.String()
    country = fields.String()
    phone = fields.String()


class FulfilmentOut(Schema):
    kind = fields.String(metadata={"enum": ["ship", "collect"]})
    source = fields.String(data_key="from", attribute="from", metadata={"description": "the location the units come from"})
    ship_to = fields.Nested(AddressOut, allow_none=True)
    collect_at = fields.String(allow_none=True)
    reservation_id = fields.String(allow_none=True, metadata={"description": "the hold made at the source at checkout"})
    text = fields.String(metadata={"description": "for the receipt: 'ships from WH-EU to …' or 'collect at MUC-MAX'"})


class OrderLineOut(Schema):
    id = fields.Integer()
    sku = fields.String()
    title = fields.String()
    quantity = fields.Integer()
    returned_quantity = fields.Integer()
    unit_price = fields.Nested(MoneyOut)
    discount = fields.Nested(MoneyOut)
    tax = fields.Nested(MoneyOut)
    tax_rate = fields.String(metadata={"description": "basis points as the store states it: 1900 = 19 %"})
    total = fields.Nested(MoneyOut)
    fulfilment = fields.String()
    fulfilment_details = fields.Nested(
        FulfilmentOut,
        allow_none=True,
        metadata={"description": "endless aisle: where it ships from and to, or where it is collected; null for take-now"},
    )


class OrderOut(Schema):
    id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"enum": list(pos.ORDER_STATUSES)})
    store = fields.String()
    customer_id = fields.String(allow_none=True)
    currency = fields.String()
    lines = fields.List(fields.Nested(OrderLineOut))
    totals = fields.Nested(TotalsOut)
    tax_mode = fields.String()
    cash_rounding = fields.Nested(MoneyOut, metadata={"description": "what rounding the cash part to coins added to the total"})
    promo_code = fields.String(allow_none=True)
    tenders = fields.List(fields.Nested(TenderOut))
    payment = fields.Dict(metadata={"description": "card / pay by QR: the payment the order waits for (see GET /payments/{id})"})
    balance_due = fields.Nested(MoneyOut, metadata={"description": "awaiting payment: what is still to pay"})
    created_at = fields.String()
    completed_at = fields.String(allow_none=True)
    receipt_url = fields.String()


# --- routes -----------------------------------------------------------------------------------


@blp.route("/carts", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(CartIn)
@store_access(body_field("store"))
@blp.response(201, SaleCartOut)
def create_cart(data):
    """Open a cart at a store's register, optionally for a customer (their id or loyalty code)."""
    cart = pos.open_cart(data["store"], data["register"], _actor(), data["customer_id"])
    return pos.cart_payload(cart)


@blp.route("/carts/<cart_id>", methods=["GET"])
@staff_member
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def get_cart(cart_id):
    """One cart, priced now."""
    return pos.cart_payload(pos.get_cart(cart_id))


@blp.route("/carts/<cart_id>/lines", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(LineIn)
@store_access(cart_store)
@blp.response(201, SaleCartOut)
def add_line(data, cart_id):
    """Add a product by SKU or scanned barcode; the same SKU again adds to its line. Its units are held for the cart
    when the store has them; `hold.held` false says the records have none (see `/unavailable`).  With `fulfilment`
    (endless aisle) the line comes from another location, shipped or collected: 409 `insufficient_stock` when that
    location does not have the units available now."""
    fulfilment = data.get("fulfilment")
    if fulfilment:
        sku = data.get("sku")
        if not sku:
            sku = _sku_of_barcode(data["barcode"])
        cart, _ = pos.add_line_from_elsewhere(
            cart_id,
            _actor(),
            sku,
            data["quantity"],
            fulfilment["source"],
            fulfilment["kind"],
            ship_to=fulfilment.get("ship_to"),
            collect_at=fulfilment.get("collect_at"),
        )
        return pos.cart_payload(cart)
    cart, _ = pos.add_line(cart_id, _actor(), sku=data.get("sku"), barcode=data.get("barcode"), quantity=data["quantity"])
    return pos.cart_payload(cart)


def _sku_of_barcode(barcode: str) -> str:
    variant = inventory.find_variant_by_barcode(barcode.strip())
    if variant is None:
        raise ValidationError(f"no product with barcode {barcode!r}", field="barcode")
    return variant.sku


@blp.route("/carts/<cart_id>/lines/<line_id>", methods=["PATCH"])
@staff_member
@blp.arguments(LineChangeIn)
@store_access(cart_store)
@blp.response(200, SaleCartOut)
@blp.alt_response(
    403,
    schema=ErrorOut,
    description="a discount above the store's threshold or a price override needs a manager (`approval_required`, `approval_refused`)",
)
def change_line(data, cart_id, line_id):
    """Change a line's quantity, discount or price. Above the store's threshold a manager approves (PIN or sign-in)."""
    cart = pos.change_line(
        cart_id,
        line_id,
        _actor(),
        quantity=data.get("quantity"),
        discount=data.get("discount"),
        clear_discount="discount" in data and data["discount"] is None,
        unit_price=data.get("unit_price"),
        approval=data.get("approval"),
    )
    return pos.cart_payload(cart)


@blp.route("/carts/<cart_id>/lines/<line_id>", methods=["DELETE"])
@staff_member
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def remove_line(cart_id, line_id):
    """Take a line out of the cart; its hold is released."""
    return pos.cart_payload(pos.remove_line(cart_id, line_id, _actor()))


@blp.route("/carts/<cart_id>/lines/<line_id>/unavailable", methods=["GET"])
@staff_member
@store_access(cart_store)
@blp.response(200, UnavailableOut)
def line_unavailable(cart_id, line_id):
    """Why a line's units cannot be held: none on record, or held for which orders."""
    cart = pos.get_cart(cart_id)
    line = next((ln for ln in cart.lines if str(ln.id) == line_id), None)
    if line is None:
        raise NotFound(f"cart {cart_id} has no line {line_id}")
    return pos.why_unavailable(cart, line)


@blp.route("/carts/<cart_id>/lines/<line_id>/found-stock", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(FoundStockIn)
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def found_stock(data, cart_id, line_id):
    """A take-now item the records lack: a manager records the units found (a ledger adjustment) and the line is held."""
    return pos.cart_payload(pos.record_found_stock(cart_id, line_id, data["quantity"], _actor(), data["approval"]))


@blp.route("/carts/<cart_id>/customer", methods=["PUT"])
@staff_member
@blp.arguments(CartCustomerIn)
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def set_customer(data, cart_id):
    """Attach a customer (id or scanned loyalty code), or detach with null."""
    return pos.cart_payload(pos.set_customer(cart_id, data["customer_id"], _actor()))


@blp.route("/carts/<cart_id>/discount", methods=["PUT"])
@staff_member
@blp.arguments(BasketDiscountIn)
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def set_discount(data, cart_id):
    """A discount on the whole basket (null removes it); above the store's threshold a manager approves."""
    return pos.cart_payload(pos.set_basket_discount(cart_id, data["discount"], _actor(), data.get("approval")))


@blp.route("/carts/<cart_id>/promo-code", methods=["PUT"])
@staff_member
@blp.arguments(PromoIn)
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def set_promo(data, cart_id):
    """Apply a promo code (null removes it)."""
    return pos.cart_payload(pos.apply_promo_code(cart_id, data["code"], _actor()))


@blp.route("/carts/<cart_id>/abandon", methods=["POST"])
@staff_member
@store_access(cart_store)
@blp.response(200, SaleCartOut)
def abandon(cart_id):
    """Give the cart up: its holds are released."""
    return pos.cart_payload(pos.abandon_cart(cart_id, _actor()))


@blp.route("/carts/<cart_id>/checkout", methods=["POST"])
@staff_member
@idempotent(required=True)
@blp.arguments(CheckoutIn)
@store_access(cart_store)
@blp.response(201, OrderOut)
@blp.alt_response(202, schema=OrderOut, description="card or pay-by-QR: the order is `awaiting_payment` with its `payment`")
@blp.alt_response(
    409, schema=ErrorOut, description="`insufficient_stock` (lines with requested and available; the cart stays open) or `no_open_shift`"
)
@blp.alt_response(422, schema=ErrorOut, description="`tender_short` (details: missing) or the cart is not open")
@blp.alt_response(502, schema=ErrorOut, description="`gateway_error`: the payment gateway refused or was unreachable; nothing changed, retry")
def checkout(data, cart_id):
    """Check the cart out, atomically: order, stock, cash, timeline and `order.completed` together or not at all.
    Card / pay by QR: 202 with the order `awaiting_payment` and its `payment`; after a declined card the same call
    pays the order's `balance_due` with another tender (409 `payment_in_progress` while one is pending)."""
    from .payments import checkout_answer

    order = pos.checkout_and_pay(cart_id, data["tenders"], _actor(), receipt_email=data["receipt_email"])
    if order.status == "awaiting_payment":
        return checkout_answer(order), 202
    return order_answer(order)
