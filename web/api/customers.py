"""Staff endpoints for customers: search, create, the profile with its summary, changes, notes,
and the privacy operations (merge, export, erase) with the logs admins read.

Customer data is for staff only (a session cookie or a staff token): partner API keys and kiosks
get 403, whatever their scopes.  Customers belong to the brand, not to a store: every associate
may find and serve any customer; a ``home_store`` given in a body must be a store the staff
member works at.  Merge, export and erase are for managers and admins; the profile-view log and
the audit log for admins.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import Response, session
from marshmallow import Schema, fields, validate

import clienteling
from accounts import Staff
from core import clock, db
from core.errors import NotFound, ValidationError
from core.pagination import decode_cursor, encode_cursor

from ..access_log import writes_on_get
from ..auth import current_principal
from ..errors import ApiError
from ..kiosk import SESSION_KEY as KIOSK_SESSION_KEY
from .access import body_field, brand_wide, store_access
from .blueprint import Blueprint
from .schemas import ErrorOut, MoneyOut

blp = Blueprint("customers", __name__, url_prefix="/api/v1", description="Customers, their notes and their privacy (staff only)")

BRAND_WIDE = "customers belong to the brand, not a store"
MANAGERS = ("manager", "admin")
ADMINS = ("admin",)
EVERY_ROLE = ("associate", "manager", "admin")


def staff_only(*roles: str):
    """Decorator: the caller must be a staff member (cookie or staff token) with one of ``roles``.
    401 without credentials; 403 for a partner API key, a kiosk, or a role not in ``roles``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                if session.get(KIOSK_SESSION_KEY):
                    raise ApiError(403, "forbidden", "a kiosk cannot reach customer data")
                raise ApiError(
                    401, "unauthorized", "sign in, or send a staff token as 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
                )
            if principal.staff is None:
                raise ApiError(
                    403, "forbidden", "customer data is for staff only (not for partner API keys or kiosks)", {"required_role": list(roles)}
                )
            if principal.staff.role not in roles:
                raise ApiError(403, "forbidden", f"this needs the role {' or '.join(roles)}", {"required_role": list(roles)})
            return view(*args, **kwargs)

        wrapper = blp.alt_response(401, schema=ErrorOut, description="no credentials, or an unknown, revoked or expired staff token")(wrapper)
        who = " or ".join(roles) if roles != EVERY_ROLE else "a staff member"
        return blp.alt_response(
            403,
            schema=ErrorOut,
            description=f"not {who} (`error.details.required_role`): partner API keys and kiosks never reach customer data; "
            "or a `home_store` the staff member does not work at (`error.details.store`)",
        )(wrapper)

    return decorator


def _staff() -> Staff:
    return current_principal().staff


def _actor():
    return current_principal().actor


# --- schemas ----------------------------------------------------------------------------------

NAME = validate.Length(min=1, max=200)
LABEL = validate.Length(min=1, max=50)


class StrictBoolean(fields.Boolean):
    """true or false, nothing else ("yes", 1 or "true" are invalid)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class ConsentsField(fields.Dict):
    def __init__(self, **kwargs):
        super().__init__(
            keys=fields.String(validate=validate.OneOf(clienteling.CONSENT_PURPOSES)),
            values=StrictBoolean(),
            metadata={"description": "purpose -> granted: " + ", ".join(clienteling.CONSENT_PURPOSES)},
            **kwargs,
        )


class CustomerQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "a name, email, phone or loyalty code"})
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CustomerIn(Schema):
    name = fields.String(required=True, validate=NAME)
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=320))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    home_store = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    consents = ConsentsField(load_default=dict)
    sizes = fields.Dict(keys=fields.String(validate=LABEL), values=fields.String(validate=validate.Length(max=50)), load_default=dict)
    tags = fields.List(fields.String(validate=LABEL), load_default=list, validate=validate.Length(max=50))


class CustomerPatchIn(Schema):
    name = fields.String(validate=NAME)
    sizes = fields.Dict(keys=fields.String(validate=LABEL), values=fields.String(validate=validate.Length(max=50)))
    preferences = fields.Dict(keys=fields.String(validate=LABEL), values=fields.String(validate=validate.Length(max=500)))
    tags = fields.List(fields.String(validate=LABEL), validate=validate.Length(max=50))
    home_store = fields.String(allow_none=True, validate=validate.Length(max=40), metadata={"description": "a store code; null clears it"})
    preferred_associate = fields.Integer(allow_none=True, strict=True, metadata={"description": "a staff id; null clears it"})
    consents = ConsentsField()


class CustomerListItem(Schema):
    id = fields.String(attribute="public_id")
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    loyalty_code = fields.String(allow_none=True)
    home_store = fields.Function(lambda c: c.home_store.code if c.home_store else None, metadata={"type": "string", "nullable": True})


class CustomerPage(Schema):
    items = fields.List(fields.Nested(CustomerListItem))
    next_cursor = fields.String(allow_none=True)


class ConsentOut(Schema):
    granted = fields.Boolean()
    source = fields.String(allow_none=True)
    recorded_at = fields.String(allow_none=True)


class StaffRef(Schema):
    id = fields.Integer()
    name = fields.String()


class TitledSku(Schema):
    sku = fields.String()
    title = fields.String()


class ViewedSku(TitledSku):
    count = fields.Integer()


class CartLineOut(Schema):
    sku = fields.String()
    quantity = fields.Integer()


class CartOut(Schema):
    cart_id = fields.String()
    lines = fields.List(fields.Nested(CartLineOut))
    total = fields.Nested(MoneyOut, allow_none=True)
    updated_at = fields.String()
    abandoned = fields.Boolean()


class LifetimeValueOut(Schema):
    online = fields.Nested(MoneyOut, metadata={"description": "online orders minus online refunds"})
    store = fields.Nested(MoneyOut, metadata={"description": "in-store purchases minus in-store returns"})


class SummaryOut(Schema):
    viewed_recently = fields.List(fields.Nested(ViewedSku), metadata={"description": "viewed in the last 30 days, most first"})
    wishlist = fields.List(fields.Nested(TitledSku))
    open_carts = fields.List(fields.Nested(CartOut))
    abandoned_carts = fields.List(fields.Nested(CartOut))
    lifetime_value = fields.Nested(LifetimeValueOut)


class CustomerOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "customer, or lead (known only from online events)"})
    name = fields.String()
    emails = fields.List(fields.String())
    phones = fields.List(fields.String())
    loyalty_code = fields.String(allow_none=True)
    home_store = fields.String(allow_none=True)
    preferred_associate = fields.Nested(StaffRef, allow_none=True)
    sizes = fields.Dict(keys=fields.String(), values=fields.String())
    preferences = fields.Dict(keys=fields.String(), values=fields.String())
    tags = fields.List(fields.String())
    consents = fields.Dict(keys=fields.String(), values=fields.Nested(ConsentOut))
    created_at = fields.String()
    summary = fields.Nested(
        SummaryOut, metadata={"description": "online activity (views, wishlist, carts) only with the customer's personalisation consent"}
    )


class NoteIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    pinned = StrictBoolean(load_default=False)


class NoteOut(Schema):
    id = fields.Integer()
    text = fields.String()
    pinned = fields.Boolean()
    author = fields.Function(
        lambda n: {"id": n.author.id, "name": n.author.name} if n.author else None, metadata={"type": "object", "nullable": True}
    )
    created_at = fields.Function(lambda n: clock.isoformat(n.created_at), metadata={"type": "string"})


class NotePage(Schema):
    items = fields.List(fields.Nested(NoteOut))
    next_cursor = fields.String(allow_none=True)


class MergeIn(Schema):
    duplicate_id = fields.String(required=True, validate=validate.Length(min=1, max=40))


class ExportOut(Schema):
    format = fields.String()
    exported_at = fields.String()
    profile = fields.Dict()
    identities = fields.List(fields.Dict())
    consents = fields.List(fields.Dict(), metadata={"description": "the whole history of grants and withdrawals"})
    events = fields.List(fields.Dict(), metadata={"description": "every timeline event, oldest first"})
    notes = fields.List(fields.Dict())
    profile_views = fields.List(fields.Dict())
    merged_profiles = fields.List(fields.Dict())
    audit = fields.List(fields.Dict())
    other = fields.Dict(metadata={"description": "rows of every other table referring to the customer, by table"})


class ErasedOut(Schema):
    id = fields.String()
    name = fields.String()
    erased_at = fields.String()


class ProfileViewQuery(Schema):
    customer = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ProfileViewOut(Schema):
    id = fields.Integer()
    customer_id = fields.String()
    staff = fields.Nested(StaffRef, allow_none=True)
    via = fields.String()
    viewed_at = fields.String()


class ProfileViewPage(Schema):
    items = fields.List(fields.Nested(ProfileViewOut))
    next_cursor = fields.String(allow_none=True)


class AuditQuery(Schema):
    subject_type = fields.String(load_default=None, validate=validate.Length(min=1, max=40))
    subject_id = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    action = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ActorOut(Schema):
    kind = fields.String()
    id = fields.Integer(allow_none=True)
    name = fields.String()


class AuditEntryOut(Schema):
    id = fields.Integer()
    action = fields.String()
    actor = fields.Nested(ActorOut)
    subject_type = fields.String()
    subject_id = fields.String()
    details = fields.Dict()
    created_at = fields.String()


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEntryOut))
    next_cursor = fields.String(allow_none=True)


# --- payloads ---------------------------------------------------------------------------------


def customer_payload(customer) -> dict:
    staff = customer.preferred_associate
    return {
        "id": customer.public_id,
        "kind": customer.kind,
        "name": customer.name,
        "emails": customer.identity_values("email"),
        "phones": customer.identity_values("phone"),
        "loyalty_code": customer.loyalty_code,
        "home_store": customer.home_store.code if customer.home_store else None,
        "preferred_associate": {"id": staff.id, "name": staff.name} if staff else None,
        "sizes": customer.sizes or {},
        "preferences": customer.preferences or {},
        "tags": customer.tags or [],
        "consents": {
            purpose: {**state, "recorded_at": clock.isoformat(state["recorded_at"])} for purpose, state in clienteling.consents(customer).items()
        },
        "created_at": clock.isoformat(customer.created_at),
        "summary": clienteling.customer_summary(customer),
    }


def _search_cursor(raw):
    value = decode_cursor(raw)
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)):
        raise ValidationError("not a valid cursor", field="cursor")
    return value[0], value[1]


def _id_cursor(raw) -> int | None:
    value = decode_cursor(raw)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValidationError("not a valid cursor", field="cursor")
    return value


def _preferred_associate(staff_id):
    if staff_id is None:
        return 0  # update_profile: 0 clears
    staff = db.session.get(Staff, staff_id)
    if staff is None or not staff.active:
        raise ValidationError(f"no active staff member {staff_id}", field="preferred_associate")
    return staff.id


def _record_consents(customer, wanted: dict) -> None:
    """Record each purpose whose state changes (source "store"); one already so records nothing."""
    now = clienteling.consents(customer)
    for purpose, granted in wanted.items():
        if now[purpose]["source"] is None or now[purpose]["granted"] != granted:
            clienteling.record_consent(customer, purpose, granted, "store", _actor())


# --- routes -----------------------------------------------------------------------------------


@blp.route("/customers", methods=["GET"])
@staff_only(*EVERY_ROLE)
@blp.arguments(CustomerQuery, location="query")
@brand_wide(BRAND_WIDE)
@blp.response(200, CustomerPage)
def list_customers(args):
    """Find customers by name (every word a prefix of a word of the name, accents and case ignored), email, phone or loyalty code."""
    items, next_cursor = clienteling.search_page(args["q"], args["limit"], _search_cursor(args["cursor"]))
    return {"items": items, "next_cursor": encode_cursor(list(next_cursor)) if next_cursor else None}


@blp.route("/customers", methods=["POST"])
@staff_only(*EVERY_ROLE)
@blp.arguments(CustomerIn)
@store_access(body_field("home_store"))
@blp.response(201, CustomerOut)
@blp.alt_response(409, schema=ErrorOut, description="the email or phone already belongs to a profile (`details.field`, `details.customer_id`)")
def create_customer(data):
    """A new customer profile with a loyalty code; consents are recorded with source "store"."""
    customer = clienteling.create_customer(
        data["name"],
        _actor(),
        email=data["email"] or None,
        phone=data["phone"] or None,
        home_store=data["home_store"] or None,
        consents=data["consents"],
        sizes=data["sizes"],
        tags=data["tags"],
        consent_source="store",
    )
    if data["sizes"] or data["tags"]:
        clienteling.update_profile(customer, sizes=data["sizes"], tags=data["tags"])  # normalised like a PATCH
    return customer_payload(customer)


@blp.route("/customers/<customer_id>", methods=["GET"])
@writes_on_get
@staff_only(*EVERY_ROLE)
@brand_wide(BRAND_WIDE)
@blp.response(200, CustomerOut)
def get_customer(customer_id):
    """The profile with its summary; a merged profile's id answers the survivor. Every opening is written to the profile-view log."""
    customer = clienteling.find_customer(customer_id)
    clienteling.record_profile_view(customer, _staff().id, "api")
    return customer_payload(customer)


@blp.route("/customers/<customer_id>", methods=["PATCH"])
@staff_only(*EVERY_ROLE)
@blp.arguments(CustomerPatchIn)
@store_access(body_field("home_store"))
@blp.response(200, CustomerOut)
def update_customer(data, customer_id):
    """Change the name, sizes, preferences, tags, home store, preferred associate or consents (recorded with source "store"); only given fields change."""
    customer = clienteling.find_customer(customer_id)
    changes = {key: data[key] for key in ("name", "sizes", "preferences", "tags") if key in data}
    if "home_store" in data:
        changes["home_store"] = data["home_store"] or ""  # "" clears it
    if "preferred_associate" in data:
        changes["preferred_associate_id"] = _preferred_associate(data["preferred_associate"])
    clienteling.update_profile(customer, **changes)
    if data.get("consents"):
        _record_consents(customer, data["consents"])
    db.session.flush()
    db.session.refresh(customer)
    return customer_payload(customer)


@blp.route("/customers/<customer_id>/notes", methods=["POST"])
@staff_only(*EVERY_ROLE)
@blp.arguments(NoteIn)
@brand_wide(BRAND_WIDE)
@blp.response(201, NoteOut)
def add_note(data, customer_id):
    """An associate's note on the customer (pinned notes come first)."""
    return clienteling.add_note(clienteling.find_customer(customer_id), _staff().id, data["text"], data["pinned"])


@blp.route("/customers/<customer_id>/notes", methods=["GET"])
@staff_only(*EVERY_ROLE)
@brand_wide(BRAND_WIDE)
@blp.response(200, NotePage)
def list_notes(customer_id):
    """The customer's notes: pinned first, then newest first."""
    return {"items": clienteling.list_notes(clienteling.find_customer(customer_id)), "next_cursor": None}


@blp.route("/customers/<customer_id>/merge", methods=["POST"])
@staff_only(*MANAGERS)
@blp.arguments(MergeIn)
@brand_wide(BRAND_WIDE)
@blp.response(200, CustomerOut)
@blp.alt_response(422, schema=ErrorOut, description="either profile is erased or already merged (`invalid_transition`)")
def merge_customer(data, customer_id):
    """Merge the duplicate into this profile: every identity, event, note, consent, appointment and order of both ends up here; the duplicate's id then answers this profile."""
    survivor = clienteling.find_customer(customer_id)
    try:
        duplicate = clienteling.find_customer(data["duplicate_id"], include_inactive=True)
    except NotFound:
        raise ValidationError(f"no customer {data['duplicate_id']}", field="duplicate_id") from None
    clienteling.merge_customers(survivor, duplicate, _actor())
    return customer_payload(db.session.get(clienteling.Customer, survivor.id))


@blp.route("/customers/<customer_id>/export", methods=["GET"])
@writes_on_get
@staff_only(*MANAGERS)
@brand_wide(BRAND_WIDE)
@blp.response(200, ExportOut, description="a JSON file (`Content-Disposition: attachment`)")
def export_customer(customer_id):
    """Everything stored about the customer as one JSON file to download; the export is audited (`customer.exported`)."""
    customer = clienteling.find_customer(customer_id)
    document = clienteling.export_customer(customer, _actor())
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{customer.public_id}.json"', "Cache-Control": "no-store"},
    )


@blp.route("/customers/<customer_id>/erase", methods=["POST"])
@staff_only(*MANAGERS)
@brand_wide(BRAND_WIDE)
@blp.response(200, ErasedOut)
def erase_customer(customer_id):
    """Erase the customer's personal data (that of profiles merged into it too); orders and payments stay without it. Audited (`customer.erased`).

    Safe to retry: erasing an erased profile answers 200 with the same state."""
    customer = clienteling.find_customer(customer_id, include_inactive=True)
    seen = 0
    while customer.merged_into_id is not None and seen < 20:
        customer = db.session.get(clienteling.Customer, customer.merged_into_id)
        seen += 1
    clienteling.erase_customer(customer, _actor())
    customer = db.session.get(clienteling.Customer, customer.id)
    return {"id": customer.public_id, "name": customer.name, "erased_at": clock.isoformat(customer.erased_at)}


@blp.route("/profile-views", methods=["GET"])
@staff_only(*ADMINS)
@blp.arguments(ProfileViewQuery, location="query")
@brand_wide("the privacy log covers the whole brand")
@blp.response(200, ProfileViewPage)
def list_profile_views(args):
    """Who opened which customer's profile, newest first (`customer` narrows it to one profile, erased ones too)."""
    customer = None
    if args["customer"]:
        try:
            customer = clienteling.find_customer(args["customer"], include_inactive=True)
        except NotFound:
            raise ValidationError(f"no customer {args['customer']}", field="customer") from None
    views, next_cursor = clienteling.profile_view_page(customer, _id_cursor(args["cursor"]), args["limit"])
    return {
        "items": [
            {
                "id": view.id,
                "customer_id": public_id,
                "staff": {"id": view.staff.id, "name": view.staff.name} if view.staff else None,
                "via": view.via,
                "viewed_at": clock.isoformat(view.viewed_at),
            }
            for view, public_id in views
        ],
        "next_cursor": encode_cursor(next_cursor) if next_cursor else None,
    }


@blp.route("/audit", methods=["GET"])
@staff_only(*ADMINS)
@blp.arguments(AuditQuery, location="query")
@brand_wide("the audit log covers the whole brand")
@blp.response(200, AuditPage)
def list_audit(args):
    """The audit log (merges, exports, erasures, refunds, overrides...), newest first."""
    entries, next_cursor = clienteling.audit_page(args["subject_type"], args["subject_id"], args["action"], _id_cursor(args["cursor"]), args["limit"])
    return {
        "items": [
            {
                "id": entry.id,
                "action": entry.action,
                "actor": {"kind": entry.actor_kind, "id": entry.actor_id, "name": entry.actor_name},
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "details": entry.details or {},
                "created_at": clock.isoformat(entry.created_at),
            }
            for entry in entries
        ],
        "next_cursor": encode_cursor(next_cursor) if next_cursor else None,
    }
