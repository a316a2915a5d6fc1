"""Public pages reached without signing in: booking an appointment with its questionnaire, and the
booking's confirmation with a QR code of its code for the kiosk.

No login; rate-limited like every public face (``PUBLIC_RATE_LIMIT``, bookings also
``BOOKING_RATE_LIMIT``); the booking form is CSRF-protected.  Every page works without JavaScript
(each choice re-renders the form with what was typed) and htmx, when present, swaps just the times
or the product list.  The confirmation is addressed by the appointment's unguessable ``apt_…`` id,
not by the short code, and shows no personal data.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

import clienteling
import inventory
from core import clock, db
from core.actor import SYSTEM
from core.errors import NotFound, ValidationError

from ..extensions import limiter
from ..viewmodels.appointments import day_label, money_label, short_day_label, time_label

bp = Blueprint("public", __name__, url_prefix="/book")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)

BOOKING_DAYS = 14
MAX_PRODUCTS = 5
SIZE_FIELDS = (("tops", "Tops", "e.g. M"), ("bottoms", "Bottoms", "e.g. 32 or M"), ("shoes", "Shoes", "e.g. 42"))
# what the form shows for a refused field of book_appointment
FORM_FIELDS = {
    "starts_at": "slot",
    "service": "service",
    "customer.email": "email",
    "customer.name": "name",
    "customer.phone": "phone",
    "questionnaire.occasion": "occasion",
    "questionnaire.budget": "budget",
    "questionnaire.notes": "notes",
    "questionnaire.skus": "skus",
}


def _store(store_code: str):
    location = db.session.scalar(select(inventory.Location).where(inventory.Location.code == store_code, inventory.Location.kind == "store"))
    if location is None or not location.active:
        abort(404)
    return location


def _currency() -> str:
    return db.session.scalar(select(inventory.Variant.currency).limit(1)) or "EUR"


def _days(location) -> list[date]:
    today = clienteling.local_today(location)
    return [today + timedelta(days=n) for n in range(BOOKING_DAYS)]


def _chosen_day(location, value: str | None, service: str) -> date:
    days = _days(location)
    try:
        wanted = date.fromisoformat(value) if value else None
    except ValueError:
        wanted = None
    if wanted in days:
        return wanted
    for day in days:  # nothing chosen yet: the first day with a free time
        if clienteling.available_slots(location.code, day, service):
            return day
    return days[0]


def _values(source) -> dict:
    """What the form holds, from the query (first visit) or the posted form."""
    service = source.get("service") if source.get("service") in clienteling.SERVICES else "styling"
    skus = [sku.strip() for sku in dict.fromkeys(source.getlist("skus")) if sku.strip()][:20]
    values = {
        "service": service,
        "date": source.get("date", ""),
        "slot": source.get("slot", ""),
        "name": source.get("name", "").strip()[:200],
        "email": source.get("email", "").strip()[:320],
        "phone": source.get("phone", "").strip()[:40],
        "occasion": source.get("occasion", "").strip()[:200],
        "budget": source.get("budget", "").strip()[:20],
        "notes": source.get("notes", "").strip()[:2000],
        "q": source.get("q", "").strip()[:100],
        "skus": skus,
        "consent_email": source.get("consent_email") == "1",
        "consent_sms": source.get("consent_sms") == "1",
    }
    for key, _, _ in SIZE_FIELDS:
        values[f"size_{key}"] = source.get(f"size_{key}", "").strip()[:20]
    return values


def _slot_views(location, day: date, service: str, chosen: str) -> list[dict]:
    return [
        {
            "value": clock.isoformat(slot.starts_at),
            "label": time_label(slot.starts_at, location),
            "checked": clock.isoformat(slot.starts_at) == chosen,
        }
        for slot in clienteling.available_slots(location.code, day, service)
    ]


def _product_views(values: dict) -> list[dict]:
    """The chosen products first (ticked), then the search results."""
    views, seen = [], set()
    for sku in values["skus"]:
        variant = inventory.find_variant_by_sku(sku)
        if variant is not None and variant.product.status == "active" and variant.product_id not in seen:
            seen.add(variant.product_id)
            views.append({"sku": sku, "title": variant.product.title, "price": variant.price.format(), "checked": True})
    if values["q"]:
        products, _ = inventory.search_products(values["q"], limit=8)
        for product in products:
            if product.id in seen or not product.variants:
                continue
            seen.add(product.id)
            views.append({"sku": product.variants[0].sku, "title": product.title, "price": product.variants[0].price.format(), "checked": False})
    return views


def _page(location, values: dict, errors: dict | None = None, message: str | None = None, status: int = 200):
    day = _chosen_day(location, values["date"], values["service"])
    values["date"] = day.isoformat()
    return render_template(
        "public/book.html",
        store=location,
        values=values,
        errors=errors or {},
        message=message,
        services=[(key, clienteling.SERVICE_NAMES[key], minutes) for key, minutes in clienteling.SERVICES.items()],
        days=[(d.isoformat(), short_day_label(d)) for d in _days(location)],
        day_label=day_label(day),
        slots=_slot_views(location, day, values["service"], values["slot"]),
        products=_product_views(values),
        size_fields=SIZE_FIELDS,
        currency=_currency(),
        max_products=MAX_PRODUCTS,
    ), status


@bp.get("/<store_code>")
def book(store_code):
    """The booking page: service, day, time, contact details, questionnaire, consent."""
    location = _store(store_code)
    return _page(location, _values(request.args))


@bp.get("/<store_code>/slots")
def slots(store_code):
    """The free times for a service and day (htmx swaps them into the booking page)."""
    location = _store(store_code)
    values = _values(request.args)
    day = _chosen_day(location, values["date"], values["service"])
    return render_template(
        "public/_slots.html",
        slots=_slot_views(location, day, values["service"], ""),
        day_label=day_label(day),
        values={**values, "date": day.isoformat()},
        errors={},
    )


@bp.get("/<store_code>/products")
def products(store_code):
    """Products matching ``q``, with the ones already chosen (htmx swaps them into the booking page)."""
    _store(store_code)
    return render_template("public/_products.html", products=_product_views(_values(request.args)), max_products=MAX_PRODUCTS, errors={})


def _budget(text: str, currency: str) -> dict | None:
    if not text:
        return None
    cleaned = text.replace(" ", "").replace("€", "").replace(",", ".")
    try:
        amount = round(float(cleaned) * 100)
    except ValueError:
        raise ValidationError("enter a budget in euros, such as 300", field="questionnaire.budget") from None
    if amount < 0 or amount > 100_000_000:
        raise ValidationError("enter a budget in euros, such as 300", field="questionnaire.budget")
    return {"amount": amount, "currency": currency}


@bp.post("/<store_code>")
@limiter.limit(
    lambda: current_app.config.get("BOOKING_RATE_LIMIT", "20 per hour"), methods=["POST"], exempt_when=lambda: request.form.get("action") != "book"
)
def submit(store_code):
    """Book (``action=book``), or re-render the form with its values after choosing another service or
    day (``refresh``) or searching products (``search``): the page works without JavaScript."""
    location = _store(store_code)
    values = _values(request.form)
    if request.form.get("action") != "book":
        return _page(location, values)
    errors: dict[str, list[str]] = {}
    if len(values["skus"]) > MAX_PRODUCTS:
        errors["skus"] = [f"choose up to {MAX_PRODUCTS} products"]
    if not values["slot"]:
        errors["slot"] = ["choose a time"]
    starts_at = None
    if values["slot"]:
        try:
            starts_at = datetime.fromisoformat(values["slot"])
        except ValueError:
            errors["slot"] = ["choose a time from the list"]
    questionnaire = {"occasion": values["occasion"], "notes": values["notes"], "skus": values["skus"]}
    sizes = {key: values[f"size_{key}"] for key, _, _ in SIZE_FIELDS if values[f"size_{key}"]}
    if sizes:
        questionnaire["sizes"] = sizes
    try:
        budget = _budget(values["budget"], _currency())
        if budget:
            questionnaire["budget"] = budget
    except ValidationError:
        errors["budget"] = ["enter a budget in euros, such as 300"]
    if errors:
        return _page(location, values, errors, "Please check the highlighted answers.", 400)
    customer = {"email": values["email"], "name": values["name"], "phone": values["phone"] or None}
    consents = {"email_marketing": values["consent_email"], "sms_marketing": values["consent_sms"]}
    try:
        appointment = clienteling.book_appointment(
            location.code, values["service"], starts_at, customer, questionnaire, actor=SYSTEM, channel="web", consents=consents
        )
    except clienteling.SlotUnavailable:
        values["slot"] = ""
        return _page(location, values, {"slot": ["that time was just taken"]}, "Sorry — that time was just taken. Please choose another.", 409)
    except ValidationError as error:
        for field, messages in (error.details or {}).items():
            key = FORM_FIELDS.get(field) or FORM_FIELDS.get(field.rsplit(".", 1)[0]) or ("skus" if field.startswith("questionnaire.skus") else "form")
            errors.setdefault(key, []).extend(messages if isinstance(messages, list) else [str(messages)])
        if not errors:
            errors["form"] = [error.message]
        return _page(location, values, errors, "Please check the highlighted answers.", 400)
    return redirect(url_for(".confirmation", appointment_id=appointment.public_id), 303)


def _appointment(appointment_id: str):
    try:
        return clienteling.find_appointment(appointment_id)
    except NotFound:
        abort(404)


@bp.get("/confirmation/<appointment_id>")
def confirmation(appointment_id):
    """The booking code, its QR code for the kiosk, and when and where — nothing personal."""
    appointment = _appointment(appointment_id)
    location = appointment.location
    local_day = appointment.starts_at.astimezone(clienteling.store_zone(location)).date()
    return render_template(
        "public/confirmation.html",
        appointment=appointment,
        store=location,
        service=clienteling.SERVICE_NAMES.get(appointment.service, appointment.service),
        day=day_label(local_day),
        time=f"{time_label(appointment.starts_at, location)}–{time_label(appointment.ends_at, location)}",
        budget=money_label((appointment.questionnaire or {}).get("budget")),
        cancelled=appointment.status == "cancelled",
    )


@bp.get("/confirmation/<appointment_id>/qr.svg")
def confirmation_qr(appointment_id):
    """A QR code holding the booking code: the kiosk's scanner types it into the check-in field."""
    appointment = _appointment(appointment_id)
    image = qrcode.make(appointment.code, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return Response(image.to_string(encoding="unicode"), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})
