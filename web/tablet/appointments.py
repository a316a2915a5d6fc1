"""Tablet screens for appointments: the store's day (everyone's or the associate's own), actions on each
appointment (check in, complete, no-show), and the prep view with the questionnaire, the customer's
activity, the products of interest in their size with stock here, and holding them for the
appointment.

``appointment.checked_in`` travels live: to the assigned associate's own channel as
``appointment.checked_in`` (a banner on whatever page they have open) and to the store's channel as
``appointment.status`` (the day's list refreshes in place).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

import clienteling
import inventory
from accounts import ROLES
from core import db, live
from core.errors import DomainError, InsufficientStock, NotFound, ValidationError

from ..auth import require_role, safe_next
from ..errors import ApiError
from ..htmx import is_partial
from ..viewmodels.appointments import (
    SIZE_LABELS,
    activity_line,
    appointment_card,
    day_label,
    first_name,
    money_label,
    short_day_label,
    time_label,
)
from ..viewmodels.customers import product_titles
from ..viewmodels.stock import stock_state
from . import bp
from .live import staff_channel, store_channel

# --- live ---------------------------------------------------------------------------------------


def checked_in_live(data: dict):
    """``appointment.checked_in`` to the associate (a banner) and to the store (the list refreshes)."""
    try:  # no database here: this runs after the commit (core.live), from the event's own data
        starts = datetime.fromisoformat(data["starts_at_local"]).strftime("%H:%M")
    except (KeyError, TypeError, ValueError):
        starts = ""
    customer = data.get("customer_name") or "Your customer"
    service = clienteling.SERVICE_NAMES.get(data["service"], data["service"]).lower()
    message = {
        "id": data["id"],
        "code": data["code"],
        "store": data["store"],
        "status": data["status"],
        "associate_id": data.get("associate_id"),
        "text": f"{customer} has checked in for {service}" + (f" at {starts}" if starts else "") + ".",
        "url": f"/tablet/appointments/{data['id']}",
    }
    if data.get("associate_id"):
        yield staff_channel(data["associate_id"]), {"event": "appointment.checked_in", "data": message}
    yield store_channel(data["store"]), {"event": "appointment.status", "data": message}


live.route("appointment.checked_in", checked_in_live)


# --- the day ------------------------------------------------------------------------------------


def _day(value: str | None, store) -> date:
    today = clienteling.local_today(store)
    if not value:
        return today
    try:
        return date.fromisoformat(value)
    except ValueError:
        return today


@bp.get("/appointments")
@require_role(*ROLES)
def appointments():
    """Today's appointments at the current store (or another day's), everyone's or ``mine=1``."""
    store = g.store
    if store is None:
        raise ApiError(403, "forbidden", "you don't work at any store yet")
    day = _day(request.args.get("date"), store)
    mine = request.args.get("mine") == "1"
    rows = clienteling.appointments_for_day(store.code, day, current_user.id if mine else None)
    today = clienteling.local_today(store)
    page = {
        "day": day,
        "day_label": day_label(day),
        "is_today": day == today,
        "previous": (day - timedelta(days=1)).isoformat(),
        "next": (day + timedelta(days=1)).isoformat(),
        "mine": mine,
        "cards": [appointment_card(a) for a in rows],
        "waiting": sum(1 for a in rows if a.status == "checked_in"),
    }
    if is_partial("appointment-list"):
        return render_template("tablet/_appointment_list.html", **page)
    return render_template("tablet/appointments.html", **page)


def _appointment(appointment_id: str):
    try:
        appointment = clienteling.find_appointment(appointment_id)
    except NotFound:
        abort(404)
    if not any(store.id == appointment.location_id for store in g.stores):
        raise ApiError(403, "forbidden", f"this appointment is at {appointment.location.name}, where you don't work")
    return appointment


ACTIONS = {
    "check-in": (clienteling.check_in, "{name} is checked in."),
    "complete": (clienteling.complete, "The appointment with {name} is complete."),
    "no-show": (clienteling.mark_no_show, "{name} is marked as a no-show; the time and any held items are free again."),
    "cancel": (clienteling.cancel, "The appointment with {name} is cancelled."),
}


@bp.post("/appointments/<appointment_id>/<action>")
@require_role(*ROLES)
def appointment_action(appointment_id, action):
    """Check in, complete, mark a no-show or cancel (CSRF-protected forms), then back to where the
    associate was."""
    if action not in ACTIONS:
        abort(404)
    appointment = _appointment(appointment_id)
    change, words = ACTIONS[action]
    try:
        change(appointment, actor=current_user.actor)
    except DomainError as error:
        db.session.rollback()  # the redirect would commit: nothing of a refused change may stay
        flash(error.message[:1].upper() + error.message[1:] + ".", "error")
    else:
        flash(words.format(name=appointment.customer.name or "The customer"), "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".appointment", appointment_id=appointment_id))


# --- the prep view ------------------------------------------------------------------------------


def _product_rows(prepared) -> list[dict]:
    held: dict[str, int] = {}
    for reservation in prepared["holds"]:
        for line in inventory.reservation_payload(reservation)["lines"]:
            held[line["sku"]] = held.get(line["sku"], 0) + line["quantity"]
    rows = []
    for item in prepared["products"]:
        variant = item["variant"]
        available = item["available_here"]
        size = (variant.options or {}).get("size", "")
        rows.append(
            {
                "title": item["product"].title,
                "handle": item["product"].handle,
                "sku": variant.sku,
                "size": size,
                "colour": (variant.options or {}).get("color") or (variant.options or {}).get("colour") or "",
                "wanted_size": item["size"],
                "in_size": item["in_size"],
                "reason": item["reason"],
                "available": available,
                "held": held.get(variant.sku, 0),
                "state": stock_state(available, 0 < available <= 2),
                "price": variant.price.format(),
            }
        )
    return rows


@bp.get("/appointments/<appointment_id>")
@require_role(*ROLES)
def appointment(appointment_id):
    """The prep view: what the customer told us, what they did online (with consent), the products of
    interest in their size with stock here, and holding them."""
    appointment = _appointment(appointment_id)
    prepared = clienteling.prepare(appointment)
    known = product_titles(event.sku for event in prepared["activity"])  # one query for every SKU on the list
    titles = {sku: item["title"] + (f" ({item['options']['size']})" if item["options"].get("size") else "") for sku, item in known.items()}
    answers = prepared["questionnaire"]
    holds = [
        {
            "id": reservation.public_id,
            "expires": time_label(reservation.expires_at, appointment.location) if reservation.expires_at else "",
            "lines": inventory.reservation_payload(reservation)["lines"],
        }
        for reservation in prepared["holds"]
    ]
    return render_template(
        "tablet/appointment.html",
        card=appointment_card(appointment),
        appointment=appointment,
        customer=prepared["customer"],
        first_name=first_name(prepared["customer"].name),
        day=day_label(clienteling.local_today(appointment.location, appointment.starts_at)),
        occasion=answers.get("occasion", ""),
        notes=answers.get("notes", ""),
        budget=money_label(answers.get("budget")),
        sizes=[(SIZE_LABELS.get(category, category.capitalize()), size) for category, size in prepared["sizes"].items()],
        personalised=prepared["personalised"],
        activity=[activity_line(event, titles) for event in prepared["activity"]],
        products=_product_rows(prepared),
        holds=holds,
        short_day=short_day_label,
        recommendations=clienteling.recommend(prepared["customer"], appointment.location.code, limit=6),
    )


@bp.post("/appointments/<appointment_id>/hold")
@require_role(*ROLES)
def hold(appointment_id):
    """Hold the ticked products (one of each) at this store for the appointment."""
    appointment = _appointment(appointment_id)
    skus = [sku for sku in dict.fromkeys(request.form.getlist("sku")) if sku][:20]
    back = url_for(".appointment", appointment_id=appointment_id)
    if not skus:
        flash("Tick the products to hold first.", "error")
        return redirect(back)
    try:
        reservation = clienteling.hold_items_for_appointment(appointment, [{"sku": sku, "quantity": 1} for sku in skus], actor=current_user.actor)
    except InsufficientStock as error:
        short = ", ".join(f"{line['sku']} ({line['available']} available)" for line in error.lines)
        flash(f"Nothing was held: not enough here of {short}.", "error")
    except (ValidationError, DomainError) as error:
        flash(f"Nothing was held: {error.message}.", "error")
    else:
        count = len(skus)
        flash(
            f"Held {count} item{'s' if count != 1 else ''} for {appointment.customer.name or 'the customer'} until {time_label(reservation.expires_at, appointment.location)}.",
            "info",
        )
    return redirect(back)
