"""Error pages that speak the reader's language, per face.

``web.errors`` decides *that* an HTML page is the answer (and its status); this module decides
what it says.  A kiosk customer never sees a technical message — not a domain error's text, not
Werkzeug's — only what happened in plain words, a search and a way back to the start.  The
tablet tells an associate what to do next (search for the product); our own messages for refused
actions ("you don't work at that store") are kept there, since they are written for staff.
"""

from __future__ import annotations

from flask import g, render_template, request
from flask_login import current_user

KIOSK = {
    404: ("We couldn't find that page.", "Try searching or ask a member of staff."),
    429: ("Just a moment", "Lots of taps at once! Please wait a few seconds and try again."),
    500: ("Sorry, something went wrong", "Something went wrong on our side. Please try again, or ask a member of staff."),
}
KIOSK_OTHER = ("That didn't work", "Please start again, or ask a member of staff — they'll be glad to help.")
KIOSK_NOT_FOUND = {
    "/kiosk/products/": ("We couldn't find that product.", "Try searching or ask a member of staff."),
    "/kiosk/categories/": ("We couldn't find that category.", "Try searching, or pick another category from the start."),
}

TABLET = {
    400: "That didn't work",
    401: "Please sign in",
    403: "Not available to you",
    404: "We couldn't find that page",
    405: "That didn't work",
    429: "Slow down a moment",
    500: "Something went wrong",
}
TABLET_NOT_FOUND = {
    "/tablet/products/": (
        "We couldn't find that product",
        "It may have been removed from the catalogue, or the link is out of date. Search for it by name or SKU, or scan its barcode.",
    ),
}
STAFF_MESSAGES = (400, 403, 409, 422)  # our own words for a refused action: worth showing to staff

PLAIN = {
    404: ("We couldn't find that page", "The link may be out of date."),
    429: ("Slow down a moment", "Too many attempts in a short time. Please wait a minute and try again."),
    500: ("Something went wrong", "Something went wrong on our side. Nothing was changed."),
}


def face() -> str | None:
    """'kiosk' or 'tablet' for the pages of those faces (also for an address under them that
    matches no page), else None."""
    if request.blueprint in ("kiosk", "tablet"):
        return request.blueprint
    for name in ("kiosk", "tablet"):
        if request.path == f"/{name}" or request.path.startswith(f"/{name}/"):
            return name
    return None


def _by_path(table: dict[str, object]):
    return next((value for prefix, value in table.items() if request.path.startswith(prefix)), None)


def render_error_page(status: int, message: str | None):
    """The HTML answer for an error with ``status``; ``message`` is the error's own text (shown
    only where it is written for the reader)."""
    where = face()
    if where == "kiosk":
        heading, text = KIOSK.get(status, KIOSK_OTHER)
        if status == 404:
            heading, text = _by_path(KIOSK_NOT_FOUND) or (heading, text)
        device = g.get("kiosk")
        return render_template(
            "kiosk/error.html", status=status, heading=heading, message=text, kiosk_store=device.location if device else None
        ), status
    if where == "tablet" and current_user.is_authenticated:
        heading, text = TABLET.get(status, f"Error {status}"), None
        if status == 404:
            heading, text = _by_path(TABLET_NOT_FOUND) or (heading, "The link may be out of date. Search for what you were looking for:")
        elif status in STAFF_MESSAGES and message:
            text = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
        elif status >= 500:
            text = "Something went wrong on our side. Nothing was changed — please try again."
        return render_template(
            "tablet/error.html", status=status, heading=heading, message=text, store=g.get("store"), stores=g.get("stores", [])
        ), status
    heading, text = PLAIN.get(status, (TABLET.get(status, f"Error {status}"), message if status in STAFF_MESSAGES else None))
    return render_template("error.html", status=status, heading=heading, message=text), status
