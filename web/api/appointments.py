"""Appointments over the API: the e-commerce site reads a store's bookable slots and books (scope
``appointments:write``); staff list a store's day, book, check customers in, complete, mark
no-shows, cancel and hold items; a store's kiosk checks its own customers in."""

from __future__ import annotations

from functools import wraps

from flask import current_app, request, session
from marshmallow import Schema, fields, validate

import clienteling
from accounts import KioskDevice
from core import clock, db
from core.actor import Actor
from core.errors import NotFound
from inventory import reservation_payload

from ..auth import current_principal
from ..errors import ApiError
from ..extensions import csrf
from .access import body_field, store_access
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import STORE_CODE, ErrorOut, MoneyOut, MoneySchema, ReservationLineIn, ReservationOut

blp = Blueprint("appointments", __name__, url_prefix="/api/v1", description="Appointments: slots, booking, check-in, holds")

SCOPE = "appointments:write"
KIOSK_SESSION_KEY = "kiosk_device_id"  # web.kiosk.SESSION_KEY: the activated device in the kiosk's cookie


# --- schemas --------------------------------------------------------------------------------


class SlotsQuery(Schema):
    date = fields.Date(required=True, metadata={"description": "the store's local day, YYYY-MM-DD"})
    service = fields.String(required=True, validate=validate.OneOf(list(clienteling.SERVICES)))


class SlotOut(Schema):
    starts_at = fields.String()
    ends_at = fields.String()


class SlotPage(Schema):
    items = fields.List(fields.Nested(SlotOut))
    next_cursor = fields.String(allow_none=True)


class CustomerInfoIn(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=320))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class QuestionnaireIn(Schema):
    occasion = fields.String(validate=validate.Length(max=200), metadata={"description": "what the appointment is for"})
    sizes = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.String(validate=validate.Length(max=20)),
        metadata={"description": 'size per category, e.g. {"tops": "M", "bottoms": "32", "shoes": "42"}'},
    )
    budget = fields.Nested(MoneySchema)
    skus = fields.List(fields.String(validate=validate.Length(min=1, max=100)), metadata={"description": "products of interest (at most 10)"})
    notes = fields.String(validate=validate.Length(max=2000))


class ConsentsIn(Schema):
    email_marketing = fields.Boolean()
    sms_marketing = fields.Boolean()
    personalisation = fields.Boolean()


class AppointmentIn(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    service = fields.String(required=True, validate=validate.OneOf(list(clienteling.SERVICES)))
    starts_at = fields.AwareDateTime(required=True, format="iso", metadata={"description": "a slot's start, with an offset"})
    customer = fields.Nested(CustomerInfoIn, required=True)
    questionnaire = fields.Nested(QuestionnaireIn, load_default=dict)
    consents = fields.Nested(ConsentsIn, load_default=dict, metadata={"description": "what the customer agreed to while booking"})
    associate_id = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={"description": "staff only: book this associate"})


class AppointmentCreated(Schema):
    id = fields.String()
    code = fields.String(metadata={"description": "the booking code the customer types or scans at the kiosk"})
    status = fields.String()
    store = fields.String()
    service = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()
    customer_id = fields.String()


class PersonOut(Schema):
    id = fields.Raw()
    name = fields.String()


class AppointmentCustomerOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class QuestionnaireOut(Schema):
    occasion = fields.String()
    sizes = fields.Dict(keys=fields.String(), values=fields.String())
    budget = fields.Nested(MoneyOut)
    skus = fields.List(fields.String())
    notes = fields.String()


class AppointmentOut(AppointmentCreated):
    service_name = fields.String()
    channel = fields.String()
    associate = fields.Nested(PersonOut, allow_none=True)
    customer = fields.Nested(AppointmentCustomerOut)
    questionnaire = fields.Nested(QuestionnaireOut)
    created_at = fields.String()
    checked_in_at = fields.String(allow_none=True)


class AppointmentPage(Schema):
    items = fields.List(fields.Nested(AppointmentOut))
    next_cursor = fields.String(allow_none=True)


class AppointmentsQuery(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    date = fields.Date(required=True, metadata={"description": "the store's local day, YYYY-MM-DD"})
    associate = fields.String(load_default=None, metadata={"description": "`me`, or a staff id: that associate's appointments only"})


class HoldIn(Schema):
    lines = fields.List(fields.Nested(ReservationLineIn), required=True, validate=validate.Length(min=1, max=50))


# --- who may call ---------------------------------------------------------------------------


def kiosk_device() -> KioskDevice | None:
    """The activated, unrevoked kiosk this browser is (its cookie), else None."""
    device_id = session.get(KIOSK_SESSION_KEY)
    device = db.session.get(KioskDevice, device_id) if isinstance(device_id, int) else None
    if device is None or device.revoked_at is not None or not device.location.active:
        return None
    return device


def caller(staff: bool = True, partner: bool = False, kiosk: bool = False):
    """Who may use a route: signed-in staff (any role: associates run appointments), partner keys with
    ``appointments:write`` (``partner``), a store's kiosk by its cookie (``kiosk``, writes need the CSRF
    token).  401 without credentials, 403 for the others.  The caller is kept as
    ``request.environ["shelfside.appointments_actor"]`` (an Actor) and, for a kiosk, its device."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            environ = request.environ
            if principal is None:
                device = kiosk_device() if kiosk else None
                if device is None:
                    raise ApiError(
                        401, "unauthorized", "authentication required: send 'Authorization: Bearer <api key>'", headers={"WWW-Authenticate": "Bearer"}
                    )
                if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
                    csrf.protect()
                environ["shelfside.kiosk"] = device
                environ["shelfside.appointments_actor"] = device.actor
            elif principal.staff is not None:
                if not staff:
                    raise ApiError(403, "forbidden", "staff cannot use this route")
                environ["shelfside.appointments_actor"] = principal.actor
            else:
                if not partner:
                    raise ApiError(403, "forbidden", "this route is for staff", {"required_scope": "staff"})
                if SCOPE not in principal.scopes:
                    raise ApiError(403, "forbidden", f"this key lacks the scope {SCOPE}", {"required_scope": SCOPE})
                environ["shelfside.appointments_actor"] = principal.actor
            return view(*args, **kwargs)

        wrapper._required_scope = SCOPE if partner else "staff"  # documented (401, 403) by web.api.blueprint
        return wrapper

    return decorator


def _actor() -> Actor:
    return request.environ["shelfside.appointments_actor"]


def path_store(*args, code, **kwargs):
    """The store named in the path."""
    return [code]


def appointment_store(*args, appointment_id, **kwargs):
    """The store an appointment is at (None when there is no such appointment: the view answers 404)."""
    try:
        return [clienteling.find_appointment(appointment_id).location.code]
    except NotFound:
        return [None]


# --- answers --------------------------------------------------------------------------------


def created_view(appointment) -> dict:
    payload = clienteling.appointment_payload(appointment)
    return {key: payload[key] for key in ("id", "code", "status", "store", "service", "starts_at", "ends_at", "customer_id")}


def staff_view(appointment) -> dict:
    customer = appointment.customer
    associate = appointment.associate
    return {
        **created_view(appointment),
        "service_name": clienteling.SERVICE_NAMES.get(appointment.service, appointment.service),
        "channel": appointment.channel,
        "associate": {"id": associate.id, "name": associate.name} if associate else None,
        "customer": {"id": customer.public_id, "name": customer.name, "email": customer.email, "phone": customer.phone},
        "questionnaire": appointment.questionnaire or {},
        "created_at": clock.isoformat(appointment.created_at),
        "checked_in_at": clock.isoformat(appointment.checked_in_at),
    }


# --- partner: slots and booking -------------------------------------------------------------


@blp.route("/stores/<code>/slots", methods=["GET"])
@caller(staff=True, partner=True)
@blp.arguments(SlotsQuery, location="query")
@store_access(path_store)
@blp.response(200, SlotPage)
def list_slots(args, code):
    """Bookable slots on the store's local day for a service: from its opening hours and its associates' availability.
    Slots that have begun are left out."""
    slots = clienteling.available_slots(code, args["date"], args["service"])
    return {"items": [{"starts_at": clock.isoformat(s.starts_at), "ends_at": clock.isoformat(s.ends_at)} for s in slots], "next_cursor": None}


@blp.route("/appointments", methods=["POST"])
@caller(staff=True, partner=True)
@idempotent(required=True)
@blp.arguments(AppointmentIn)
@store_access(body_field("store"))
@blp.response(201, AppointmentCreated)
@blp.alt_response(409, schema=ErrorOut, description="`slot_unavailable`: the slot was taken (by a concurrent booking too); choose another")
def create_appointment(data):
    """Book an appointment with a pre-appointment questionnaire. Needs `Idempotency-Key`.

    The customer is found by email or created. The associate is the customer's preferred one when free,
    else the least booked free one (staff may name `associate_id`)."""
    actor = _actor()
    is_staff = actor.kind == "staff"
    appointment = clienteling.book_appointment(
        data["store"],
        data["service"],
        data["starts_at"],
        data["customer"],
        data["questionnaire"],
        actor=actor,
        channel="store" if is_staff else "partner",
        associate_id=data["associate_id"] if is_staff else None,
        consents=data["consents"],
    )
    return created_view(appointment)


# --- staff: the day and its appointments ----------------------------------------------------


@blp.route("/appointments", methods=["GET"])
@caller(staff=True)
@blp.arguments(AppointmentsQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, AppointmentPage)
def list_appointments(args):
    """A store's appointments on its local day, by start time, with customer and questionnaire (staff)."""
    associate_id = None
    if args["associate"]:
        if args["associate"] == "me":
            associate_id = current_principal().staff.id
        elif args["associate"].isdigit():
            associate_id = int(args["associate"])
        else:
            raise ApiError(400, "invalid_request", "associate is `me` or a staff id", {"associate": ["`me` or a staff id"]})
    appointments = clienteling.appointments_for_day(args["store"], args["date"], associate_id)
    return {"items": [staff_view(a) for a in appointments], "next_cursor": None}


@blp.route("/appointments/<appointment_id>", methods=["GET"])
@caller(staff=True)
@store_access(appointment_store)
@blp.response(200, AppointmentOut)
def get_appointment(appointment_id):
    """One appointment with its customer and questionnaire (staff)."""
    return staff_view(clienteling.find_appointment(appointment_id))


@blp.route("/appointments/<appointment_id>/check-in", methods=["POST"])
@caller(staff=True, kiosk=True)
@store_access(appointment_store)
@blp.response(200, AppointmentOut)
@blp.alt_response(422, schema=ErrorOut, description="cancelled, completed, a no-show, or not today (`invalid_transition`)")
def check_in(appointment_id):
    """The customer has arrived (staff, or the store's own kiosk). The assigned associate's tablet is told live.
    Checking in twice answers the checked-in appointment."""
    appointment = clienteling.find_appointment(appointment_id)
    device = request.environ.get("shelfside.kiosk")
    if device is not None and device.location_id != appointment.location_id:
        raise ApiError(403, "forbidden", "this kiosk checks in appointments at its own store only", {"store": appointment.location.code})
    appointment = clienteling.check_in(appointment, actor=_actor())
    if device is not None:  # a kiosk hears the outcome, never the customer's details
        return {
            key: value
            for key, value in staff_view(appointment).items()
            if key in ("id", "code", "status", "store", "service", "starts_at", "ends_at")
        }
    return staff_view(appointment)


def _transition(appointment_id, change):
    return staff_view(change(clienteling.find_appointment(appointment_id), actor=_actor()))


@blp.route("/appointments/<appointment_id>/complete", methods=["POST"])
@caller(staff=True)
@store_access(appointment_store)
@blp.response(200, AppointmentOut)
@blp.alt_response(422, schema=ErrorOut, description="cancelled or a no-show (`invalid_transition`)")
def complete(appointment_id):
    """The appointment took place. Items held for it stay held until their expiry."""
    return _transition(appointment_id, clienteling.complete)


@blp.route("/appointments/<appointment_id>/no-show", methods=["POST"])
@caller(staff=True)
@store_access(appointment_store)
@blp.response(200, AppointmentOut)
@blp.alt_response(422, schema=ErrorOut, description="not booked any more (`invalid_transition`)")
def no_show(appointment_id):
    """The customer did not come: the associate's slots and the held items are released."""
    return _transition(appointment_id, clienteling.mark_no_show)


@blp.route("/appointments/<appointment_id>/cancel", methods=["POST"])
@caller(staff=True)
@store_access(appointment_store)
@blp.response(200, AppointmentOut)
@blp.alt_response(422, schema=ErrorOut, description="completed or a no-show (`invalid_transition`)")
def cancel(appointment_id):
    """Cancel: the slots become bookable again and the held items available."""
    return _transition(appointment_id, clienteling.cancel)


@blp.route("/appointments/<appointment_id>/holds", methods=["POST"])
@caller(staff=True)
@idempotent(required=False)
@blp.arguments(HoldIn)
@store_access(appointment_store)
@blp.response(201, ReservationOut)
@blp.alt_response(409, schema=ErrorOut, description="insufficient_stock: details.lines lists sku, requested, available")
@blp.alt_response(422, schema=ErrorOut, description="the appointment is closed (`invalid_transition`)")
def hold_items(data, appointment_id):
    """Hold items at the appointment's store until two hours after it ends (an `appointment_hold` reservation)."""
    appointment = clienteling.find_appointment(appointment_id)
    reservation = clienteling.hold_items_for_appointment(appointment, data["lines"], actor=_actor())
    return reservation_payload(reservation)
