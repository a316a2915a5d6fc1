"""marshmallow schemas at the edge: input schemas separate from output schemas."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, fields, post_load, validate, validates, validates_schema
from marshmallow import ValidationError as MarshmallowError

from core import clock
from core.money import Money
from core.outbox import event_types
from inventory import MAX_SKUS

CURRENCY = validate.Regexp(r"^[A-Z]{3}$", error="a three-letter ISO 4217 code in capitals, like EUR")
STORE_CODE = validate.Length(min=1, max=40)  # a location's code (GET /stores)
SKU = validate.Length(min=1, max=100)


class MoneySchema(Schema):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**12))
    currency = fields.String(required=True, validate=CURRENCY)

    @post_load
    def make(self, data, **kwargs):
        return Money(data["amount"], data["currency"])


class MoneyOut(Schema):
    amount = fields.Integer()
    currency = fields.String()


class ImageSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    alt = fields.String(load_default="", validate=validate.Length(max=500))


class VariantIn(Schema):
    sku = fields.String(
        required=True, validate=[validate.Length(min=1, max=100), validate.Regexp(r"^\S(.*\S)?$", error="no leading or trailing spaces")]
    )
    price = fields.Nested(MoneySchema, required=True)
    compare_at_price = fields.Nested(MoneySchema, allow_none=True, load_default=None)
    barcodes = fields.List(fields.String(validate=validate.Length(min=1, max=20)), load_default=list)
    options = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=50)), values=fields.String(validate=validate.Length(max=100)), load_default=dict
    )


class ProductIn(Schema):
    handle = fields.String(validate=validate.Length(min=1, max=255))  # optional in the body; the URL's wins
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(load_default="", allow_none=True)
    vendor = fields.String(load_default="", allow_none=True, validate=validate.Length(max=255))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    status = fields.String(load_default="active", validate=validate.OneOf(["active", "draft", "archived"]))
    tags = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    images = fields.List(fields.Nested(ImageSchema), load_default=list)
    variants = fields.List(fields.Nested(VariantIn), required=True, validate=validate.Length(min=1, max=500))


class VariantOut(Schema):
    sku = fields.String()
    title = fields.String()
    price = fields.Function(lambda v: v.price.to_dict())
    compare_at_price = fields.Function(lambda v: v.compare_at_price.to_dict() if v.compare_at_price else None)
    barcodes = fields.Function(lambda v: [b.code for b in v.barcodes])
    options = fields.Dict()


class ProductOut(Schema):
    handle = fields.String()
    title = fields.String()
    description = fields.String()
    vendor = fields.String()
    category = fields.Function(lambda p: p.category.name if p.category else None)
    status = fields.String()
    tags = fields.List(fields.String())
    images = fields.Function(lambda p: [{"url": i.url, "alt": i.alt} for i in p.images])
    variants = fields.List(fields.Nested(VariantOut))
    updated_at = fields.Function(lambda p: clock.isoformat(p.updated_at))


class ProductPage(Schema):
    items = fields.List(fields.Nested(ProductOut))
    next_cursor = fields.String(allow_none=True)


class ProductQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))
    status = fields.String(load_default="active", validate=validate.OneOf(["active", "draft", "archived", "any"]))


class BarcodeLookupOut(Schema):
    barcode = fields.String()
    sku = fields.String()
    handle = fields.String()
    title = fields.String()
    variant = fields.Nested(VariantOut)


class SkuList(fields.Field):
    """``sku`` repeated in a query string: strings of 1 to 100 characters, checked in one pass.

    The same rules as ``List(String(validate=Length(1, 100)))``, which costs a field call and a
    validator call per item: measurable on the hottest read, with up to 200 SKUs a request."""

    is_multiple = True  # webargs: collect every occurrence of the parameter

    def __init__(self, **kwargs):
        metadata = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100}, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, list) else [value]
        errors = {
            index: ["Length must be between 1 and 100."] for index, item in enumerate(values) if not isinstance(item, str) or not 0 < len(item) <= 100
        }
        if errors:
            raise MarshmallowError(errors)
        return values


class AvailabilityQuery(Schema):
    sku = SkuList(required=True)
    store = fields.String(load_default=None, validate=STORE_CODE)

    @validates_schema
    def check_count(self, data, **kwargs):
        if len(data.get("sku", [])) > MAX_SKUS:
            raise MarshmallowError(f"at most {MAX_SKUS} SKUs per request", field_name="sku")
        if not data.get("sku"):
            raise MarshmallowError("name at least one SKU", field_name="sku")


class AvailabilityItem(Schema):
    sku = fields.String()
    store = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class AvailabilityOut(Schema):
    items = fields.List(fields.Nested(AvailabilityItem))
    unknown = fields.List(fields.String())
    next_cursor = fields.String(allow_none=True)


class ReservationLineIn(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=100))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10000))


class ReservationIn(Schema):
    store = fields.String(required=True, validate=validate.Length(min=1, max=40))
    lines = fields.List(fields.Nested(ReservationLineIn), required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(load_default="", validate=validate.Length(max=200))
    kind = fields.String(load_default="online_order", validate=validate.OneOf(["online_order", "pickup"]))
    expires_in = fields.Integer(load_default=900, strict=True, validate=validate.Range(min=1, max=30 * 24 * 3600))


class ReservationLineOut(Schema):
    sku = fields.String()
    quantity = fields.Integer()


class ReservationOut(Schema):
    id = fields.String()
    status = fields.String()
    kind = fields.String()
    store = fields.String()
    reference = fields.String()
    expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    lines = fields.List(fields.Nested(ReservationLineOut))


class MovementIn(Schema):
    store = fields.String(required=True, validate=validate.Length(min=1, max=40))
    sku = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(["receive", "adjust", "count"]))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=-1_000_000, max=1_000_000))
    reason = fields.String(load_default="", validate=validate.Length(max=500))
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class MovementOut(Schema):
    id = fields.Integer()
    store = fields.String()
    sku = fields.String()
    kind = fields.String()
    quantity = fields.Integer(metadata={"description": "signed change of on hand (for a count: the variance)"})
    counted = fields.Integer(allow_none=True)
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    reason = fields.String()
    reference = fields.String()
    created_at = fields.String()


class LedgerLineOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    quantity = fields.Integer()
    on_hand_after = fields.Integer()
    counted = fields.Integer(allow_none=True)
    reason = fields.String()
    reference = fields.String()
    actor = fields.Function(lambda m: m.actor.ref, metadata={"description": "who made the change: 'staff:5', 'api_key:3', 'system'"})
    created_at = fields.Function(lambda m: clock.isoformat(m.created_at))


class LedgerQuery(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    sku = fields.String(required=True, validate=SKU)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LedgerPage(Schema):
    items = fields.List(fields.Nested(LedgerLineOut))
    next_cursor = fields.String(allow_none=True)


class CountLineIn(Schema):
    sku = fields.String(required=True, validate=SKU)
    counted = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1_000_000))


class CountIn(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    lines = fields.List(fields.Nested(CountLineIn), required=True, validate=validate.Length(min=1, max=1000))
    reason = fields.String(load_default="cycle count", validate=validate.Length(max=500))


class CountLineOut(Schema):
    sku = fields.String()
    expected = fields.Integer()
    counted = fields.Integer()
    variance = fields.Integer()


class CountOut(Schema):
    store = fields.String()
    lines = fields.List(fields.Nested(CountLineOut))


class TransferIn(Schema):
    source = fields.String(required=True, validate=STORE_CODE)
    destination = fields.String(required=True, validate=STORE_CODE)
    lines = fields.List(fields.Nested(ReservationLineIn), required=True, validate=validate.Length(min=1, max=500))
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class TransferReceiveIn(Schema):
    lines = fields.List(fields.Nested(ReservationLineIn), load_default=list, metadata={"description": "units that arrived per SKU; default all"})


class TransferLineOut(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    received_quantity = fields.Integer(allow_none=True)


class TransferOut(Schema):
    id = fields.String()
    status = fields.String()
    source = fields.String()
    destination = fields.String()
    reference = fields.String()
    created_at = fields.String()
    received_at = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(TransferLineOut))


class StoreOut(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    timezone = fields.String()
    address = fields.String()


class StorePage(Schema):
    items = fields.List(fields.Nested(StoreOut))
    next_cursor = fields.String(allow_none=True)


class WebhookEndpointIn(Schema):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"}, metadata={"format": "uri", "pattern": "^https?://"})
    # documented as an enum (register_endpoint refuses others, naming `events`); every package that declares
    # event types is imported before this module (through ``inventory``, ...): tests/web/test_openapi.py checks
    events = fields.List(fields.String(metadata={"enum": [*event_types(), "*"]}), required=True, validate=validate.Length(min=1))

    @validates("url")
    def check_port(self, value, **kwargs):
        try:
            urlsplit(value).port
        except ValueError:
            raise MarshmallowError("the port must be between 0 and 65535") from None


class WebhookEndpointOut(Schema):
    id = fields.String(attribute="public_id")
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.Function(lambda e: clock.isoformat(e.created_at))


class WebhookEndpointCreated(WebhookEndpointOut):
    secret = fields.String(metadata={"description": "shown once: verify Shelfside-Signature with it"})


class WebhookEndpointPage(Schema):
    items = fields.List(fields.Nested(WebhookEndpointOut))
    next_cursor = fields.String(allow_none=True)


class FeedQuery(Schema):
    store = fields.String(required=True, validate=STORE_CODE)


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Raw(allow_none=True)


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody)


class LowStockQuery(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LowStockItem(AvailabilityItem):
    threshold = fields.Integer()


class LowStockPage(Schema):
    items = fields.List(fields.Nested(LowStockItem))
    next_cursor = fields.String(allow_none=True)


class StaffTokenIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    device = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "a name for the device, shown in lists"})


class StaffOut(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    stores = fields.List(fields.String(), metadata={"description": "codes of the stores this staff member reaches (an admin: every store)"})


class StaffTokenOut(Schema):
    token = fields.String(metadata={"description": "shown once: send it as 'Authorization: Bearer <token>'"})
    expires_at = fields.String()
    staff = fields.Nested(StaffOut)
