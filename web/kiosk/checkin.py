"""Kiosk check-in: the customer types the booking code from their confirmation (or scans its QR code:
a scanner types the code) and is welcomed by first name, with who will be with them.  Only this
store's appointments check in here; nothing else about the customer is ever shown."""

from __future__ import annotations

from flask import current_app, g, render_template, request

import clienteling
from core.errors import DomainError

from ..extensions import limiter
from ..viewmodels.appointments import day_label, first_name, time_label
from . import bp


def _form(message: str | None = None, code: str = "", status: int = 200):
    return render_template("kiosk/checkin.html", message=message, code=code), status


@bp.get("/check-in")
def check_in_form():
    return _form()


@bp.post("/check-in")
@limiter.limit(lambda: current_app.config.get("KIOSK_CHECKIN_RATE_LIMIT", "30 per minute"))
def check_in():
    """Check in by booking code (CSRF-protected form).  A code of another store is refused (403)
    without a word about its appointment; a checked-in one is welcomed again."""
    typed = request.form.get("code", "")
    code = clienteling.normalise_code(typed)
    if not code:
        return _form("Please type the code from your booking confirmation.", status=400)
    appointment = clienteling.find_appointment_by_code(code)
    if appointment is None:
        return _form("We couldn't find that booking code. Please check it, or ask a member of staff.", code, 404)
    if appointment.location_id != g.kiosk.location_id:
        return _form("That booking is for another of our stores. A member of staff will be glad to help.", code, 403)
    try:
        clienteling.check_in(appointment, actor=g.kiosk.actor)
    except DomainError:
        location = appointment.location
        if appointment.status == "booked":
            when = appointment.starts_at.astimezone(clienteling.store_zone(location)).date()
            return _form(f"Your appointment is on {day_label(when)} at {time_label(appointment.starts_at, location)}. See you then!", code, 422)
        return _form("This booking can't be checked in any more. A member of staff will be glad to help.", code, 422)
    associate = first_name(appointment.associate.name) if appointment.associate else ""
    return render_template(
        "kiosk/checkin_welcome.html",
        name=first_name(appointment.customer.name),
        associate=associate,
        service=clienteling.SERVICE_NAMES.get(appointment.service, appointment.service),
        time=time_label(appointment.starts_at, appointment.location),
    )
