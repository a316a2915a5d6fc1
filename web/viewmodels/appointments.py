"""Appointments in words, for the tablet, the kiosk and the public booking page: local times at the
store, service names, statuses, the questionnaire and timeline entries as an associate reads them."""

from __future__ import annotations

from datetime import date

import clienteling
from core.money import Money

STATUS_WORDS = {
    "booked": "Booked",
    "checked_in": "Checked in",
    "completed": "Completed",
    "no_show": "No-show",
    "cancelled": "Cancelled",
}
ACTIVITY_WORDS = {
    "product_viewed": "Viewed",
    "product_searched": "Searched for",
    "wishlist_added": "Added to wishlist",
    "wishlist_removed": "Removed from wishlist",
    "cart_updated": "Updated their cart",
    "cart_abandoned": "Left a cart",
    "order_placed": "Ordered online",
    "order_returned": "Returned an online order",
    "appointment_booked": "Booked an appointment",
    "appointment_checked_in": "Checked in for an appointment",
    "appointment_completed": "Had an appointment",
    "appointment_no_show": "Missed an appointment",
    "appointment_cancelled": "Cancelled an appointment",
    "message_sent": "Was sent a message",
    "feedback_given": "Gave feedback",
    "purchase_in_store": "Bought in store",
    "return_in_store": "Returned in store",
}
SIZE_LABELS = {"tops": "Tops", "bottoms": "Bottoms", "shoes": "Shoes"}


def local(dt, location):
    return dt.astimezone(clienteling.store_zone(location))


def time_label(dt, location) -> str:
    """'14:30' at the store."""
    return local(dt, location).strftime("%H:%M")


def day_label(day: date) -> str:
    """'Saturday 29 March'."""
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B')}"


def short_day_label(day: date) -> str:
    """'Sat 29 Mar'."""
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b')}"


def money_label(value) -> str:
    if not value:
        return ""
    try:
        return Money(value["amount"], value["currency"]).format()
    except (KeyError, TypeError, ValueError):
        return ""


def first_name(name: str) -> str:
    return (name or "").split()[0] if (name or "").split() else ""


def appointment_card(appointment) -> dict:
    """One appointment as a row of the day's list."""
    location = appointment.location
    answers = appointment.questionnaire or {}
    return {
        "id": appointment.public_id,
        "code": appointment.code,
        "status": appointment.status,
        "status_words": STATUS_WORDS.get(appointment.status, appointment.status),
        "time": f"{time_label(appointment.starts_at, location)}–{time_label(appointment.ends_at, location)}",
        "starts": time_label(appointment.starts_at, location),
        "service": clienteling.SERVICE_NAMES.get(appointment.service, appointment.service),
        "customer": appointment.customer.name or "Customer",
        "associate": appointment.associate.name if appointment.associate else "Unassigned",
        "associate_id": appointment.associate_id,
        "occasion": answers.get("occasion", ""),
        "budget": money_label(answers.get("budget")),
        "can_check_in": appointment.status == "booked",
        "can_complete": appointment.status in ("booked", "checked_in"),
        "can_no_show": appointment.status == "booked",
    }


def activity_line(event, titles: dict[str, str]) -> dict:
    """A timeline entry as a line of the prep view."""
    data = event.data or {}
    what = ACTIVITY_WORDS.get(event.type, event.type.replace("_", " ").capitalize())
    detail = ""
    if event.sku:
        detail = titles.get(event.sku, event.sku)
    elif event.type == "product_searched":
        detail = f"“{data.get('query', '')}”"
    elif data.get("total"):
        detail = money_label(data["total"])
    elif data.get("service"):
        detail = clienteling.SERVICE_NAMES.get(data["service"], data["service"])
    return {"what": what, "detail": detail, "channel": event.channel, "when": event.occurred_at}
