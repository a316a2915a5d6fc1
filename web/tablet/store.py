"""Which store the associate works in: their own, or any for an admin; switched from the top bar."""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for

from accounts import ROLES
from inventory import list_locations

from ..auth import require_role, safe_next
from ..errors import ApiError
from . import bp


def store_choices(staff) -> list:
    """The stores this staff member may work in: their own, or every store for an admin."""
    if staff.role == "admin":
        return list_locations(kinds=("store",))
    return [store for store in staff.stores if store.active and store.kind == "store"]


def current_store(staff, choices):
    """The store in ``session['store_id']`` when the staff member may see it, else their first."""
    wanted = session.get("store_id")
    store = next((s for s in choices if s.id == wanted), None)
    if store is None and choices:
        store = choices[0]
    new_id = store.id if store else None
    if session.get("store_id") != new_id:
        session["store_id"] = new_id
    return store


@bp.post("/store")
@require_role(*ROLES)
def switch_store():
    """Make another of the associate's stores the current one (CSRF-protected form)."""
    try:
        store_id = int(request.form.get("store_id", ""))
    except ValueError:
        raise ApiError(400, "invalid_request", "choose a store") from None
    store = next((s for s in g.stores if s.id == store_id), None)
    if store is None:
        raise ApiError(403, "forbidden", "you don't work at that store")
    session["store_id"] = store.id
    flash(f"You're now working at {store.name}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".home"))
