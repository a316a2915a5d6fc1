"""Tablet screen of click-and-collect: the pickups due at the current store (soonest expiry first), a search that
takes an order reference, a name or a scanned loyalty card, and hand over / refuse, each behind a confirmation page
(no script needed).  The work is ``pos.pickups``; the request commits once (``web.register_request_hooks``)."""

from __future__ import annotations

from datetime import datetime

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

import pos
from accounts import ROLES
from core import clock, db
from core.errors import DomainError, NotFound, ValidationError

from ..auth import require_role
from ..errors import ApiError
from ..viewmodels.customers import local_time, zone_of
from ..viewmodels.messages import sentence as _sentence
from . import bp


def _store():
    if g.store is None:
        raise ApiError(403, "forbidden", "you work at no store: pickups are listed per store")
    return g.store


def _row(pickup: dict) -> dict:
    """A pickup with its expiry in the store's local time and whether it lapses within a day."""
    zone = zone_of(g.store)
    expires = datetime.fromisoformat(pickup["expires_at"]) if pickup["expires_at"] else None
    hours_left = (expires - clock.now()).total_seconds() / 3600 if expires else None
    return {**pickup, "expires_local": local_time(expires, zone), "soon": hours_left is not None and hours_left < 24}


def _pickup(reservation_id: str) -> dict:
    """The pickup, if it is held at the current store; 404 otherwise (another store's pickups are not shown)."""
    store = _store()
    try:
        reservation = pos.get_pickup(reservation_id)
    except NotFound:
        raise ApiError(404, "not_found", "that pickup no longer exists") from None
    if reservation.location_id != store.id:
        raise ApiError(404, "not_found", "that pickup is for another store")
    return _row(pos.pickup_payload(reservation, pos.pickup_customer(reservation)))


@bp.get("/pickups")
@require_role(*ROLES)
def pickups():
    """The pickups due at the current store; ``q``: an order reference, a name or a scanned loyalty code."""
    store = _store()
    query = (request.args.get("q") or "").strip()[:100]
    rows = [_row(pickup) for pickup in pos.pickups_due(store.code, query or None)]
    return render_template("tablet/pickups.html", rows=rows, query=query)


@bp.route("/pickups/<reservation_id>/hand-over", methods=["GET", "POST"])
@require_role(*ROLES)
def hand_over_pickup(reservation_id):
    """GET: what is handed over, to confirm; POST: hand it over (the hold committed, the timeline written)."""
    pickup = _pickup(reservation_id)
    if request.method == "GET":
        return render_template("tablet/pickups_confirm.html", pickup=pickup, action="hand_over", error=None)
    try:
        done = pos.hand_over(reservation_id, current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        flash(_sentence(exc.message), "error")
        return redirect(url_for(".pickups"))
    who = done["customer"]["name"] if done["customer"] else done["reference"]
    flash(f"Handed over: {done['reference']} to {who}." if done["customer"] else f"Handed over: {who}.", "info")
    return redirect(url_for(".pickups"))


@bp.route("/pickups/<reservation_id>/refuse", methods=["GET", "POST"])
@require_role(*ROLES)
def refuse_pickup(reservation_id):
    """GET: the pickup and a reason to give, to confirm; POST: record the refusal (the hold released)."""
    pickup = _pickup(reservation_id)
    if request.method == "GET":
        return render_template("tablet/pickups_confirm.html", pickup=pickup, action="refuse", error=None, reason="")
    reason = (request.form.get("reason") or "").strip()
    try:
        done = pos.refuse(reservation_id, reason, current_user.actor)
    except ValidationError as exc:
        db.session.rollback()
        error = _sentence(exc.message)
        return render_template("tablet/pickups_confirm.html", pickup=pickup, action="refuse", error=error, reason=reason[:500]), 400
    except DomainError as exc:
        db.session.rollback()
        flash(_sentence(exc.message), "error")
        return redirect(url_for(".pickups"))
    flash(f"Refused: {done['reference']}. The units are back on sale.", "info")
    return redirect(url_for(".pickups"))
