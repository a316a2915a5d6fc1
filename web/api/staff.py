"""Staff tokens for native clients: sign in with email and password, sign out the token."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, request

import inventory
from accounts import authenticate_staff, end_staff_session, start_staff_session
from core import clock

from ..auth import current_principal, password_attempts
from ..errors import ApiError
from .access import brand_wide
from .blueprint import Blueprint
from .schemas import ErrorOut, StaffTokenIn, StaffTokenOut

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff tokens for native clients")


def reachable_store_codes(staff) -> list[str]:
    """Codes of the stores ``staff`` may work in: their own, or every active store for an admin."""
    if staff.role == "admin":
        return [store.code for store in inventory.list_locations(kinds=("store",))]
    return [store.code for store in staff.stores if store.active and store.kind == "store"]


@blp.route("/staff/tokens", methods=["POST"])
@blp.doc(security=[])
@password_attempts
@blp.arguments(StaffTokenIn)
@brand_wide("signing in comes before any store")
@blp.response(201, StaffTokenOut)
@blp.alt_response(401, schema=ErrorOut, description="the email and password don't match an active account")
def create_staff_token(data):
    """Sign in a native client: a staff token (`sst_…`) to send as `Authorization: Bearer`, shown once.

    Rate-limited together with the sign-in page (LOGIN_RATE_LIMIT per client).  The token acts with the
    staff member's role and stores, ends after STAFF_SESSION_IDLE_HOURS unused or at `expires_at`,
    and stops working at once when revoked or when the staff member is deactivated."""
    staff = authenticate_staff(data["email"], data["password"])
    if staff is None:
        raise ApiError(401, "unauthorized", "that email and password don't match an active account")
    lifetime = timedelta(hours=current_app.config["STAFF_TOKEN_HOURS"])
    record, token = start_staff_session(staff, "token", device=data["device"] or request.user_agent.string, lifetime=lifetime)
    return {
        "token": token,
        "expires_at": clock.isoformat(record.expires_at),
        "staff": {"id": staff.id, "name": staff.name, "role": staff.role, "stores": reachable_store_codes(staff)},
    }


@blp.route("/staff/tokens/current", methods=["DELETE"])
@blp.doc(security=[{"apiKey": []}])
@brand_wide("a staff member's own token")
@blp.response(204)
@blp.alt_response(401, schema=ErrorOut)
@blp.alt_response(403, schema=ErrorOut, description="the request was not made with a staff token")
def revoke_current_staff_token():
    """Sign out the staff token this request carries: it stops working now."""
    principal = current_principal()
    if principal is None:
        raise ApiError(
            401, "unauthorized", "send the staff token to revoke as 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
        )
    if principal.via != "token":
        raise ApiError(403, "forbidden", "only a staff token can be signed out here (a browser signs out at /logout)")
    end_staff_session(principal.session_id)
