"""The in-store kiosk UI: public, unauthenticated, bound to one store through a registered device.

A device is activated with the one-time link from ``flask --app web create-kiosk STORE`` (or a fresh
one from ``kiosk-link ID``); the session then remembers the device id (a permanent cookie) and
every request re-checks that the device still exists and is not revoked.  Pages are GET only, rate-limited, and show catalogue
and stock at this store — never staff or customer data, and no stock numbers beyond "only N left".

This module holds the blueprint and the device check; the screens are ``products`` (home,
search, categories, product page) and ``checkin`` (appointment check-in by booking code, the one
POST form).  Templates live in ``templates/kiosk/``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from accounts import KioskDevice, activate_kiosk
from core import db

from ..access_log import writes_on_get
from ..auth import sign_out
from ..extensions import limiter

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)

SESSION_KEY = "kiosk_device_id"


def _not_set_up(message: str | None = None):
    return render_template("kiosk/not_set_up.html", message=message), 403


@bp.before_request
def require_device():
    """Every kiosk page needs an activated device that still exists and is not revoked."""
    g.kiosk = None
    if request.endpoint == "kiosk.activate":
        return None
    device_id = session.get(SESSION_KEY)
    device = db.session.get(KioskDevice, device_id) if isinstance(device_id, int) else None
    if device is None or device.revoked_at is not None or not device.location.active:
        session.pop(SESSION_KEY, None)
        return _not_set_up()
    g.kiosk = device
    return None


@bp.context_processor
def kiosk_context():
    device = g.get("kiosk")
    return {"kiosk_store": device.location if device else None}


@bp.get("/activate/<token>")
@writes_on_get
def activate(token):
    """Bind this browser to a registered kiosk, using up the link's token (a second screen needs a new link),
    and redirect at once; access logs show the path without the token (``web.access_log``).  Any staff
    session in this browser ends: a kiosk is public."""
    device = activate_kiosk(token)
    if device is None:
        return _not_set_up("This set-up link isn't valid any more.")
    sign_out()
    session[SESSION_KEY] = device.id
    session.permanent = True
    return redirect(url_for(".home"))


from . import checkin, products  # noqa: E402,F401  (the screens register their routes on bp)
