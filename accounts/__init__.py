"""Staff accounts, partner API keys and kiosk devices: the public face other packages may call.

Staff belong to stores (``inventory.Location``) and have a role; every other package may refer
to a staff member (an associate on an appointment, a cashier on an order).
"""

from .models import ROLE_SCOPES, ROLES, SCOPES, ApiKey, KioskDevice, Staff, StaffSession, settings, staff_store
from .services import (
    STAFF_TOKEN_PREFIX,
    activate_kiosk,
    authenticate_staff,
    configure_passwords,
    create_api_key,
    create_staff,
    deactivate_staff,
    end_all_staff_sessions,
    end_staff_session,
    find_api_key,
    find_api_key_record,
    find_kiosk,
    find_staff_session,
    hash_secret,
    issue_kiosk_link,
    register_kiosk,
    revoke_api_key,
    revoke_kiosk,
    start_staff_session,
    touch_staff_session,
)

__all__ = [
    "ROLE_SCOPES",
    "ROLES",
    "SCOPES",
    "ApiKey",
    "KioskDevice",
    "Staff",
    "StaffSession",
    "settings",
    "staff_store",
    "STAFF_TOKEN_PREFIX",
    "activate_kiosk",
    "authenticate_staff",
    "configure_passwords",
    "create_api_key",
    "create_staff",
    "deactivate_staff",
    "end_all_staff_sessions",
    "end_staff_session",
    "find_api_key",
    "find_api_key_record",
    "find_kiosk",
    "find_staff_session",
    "hash_secret",
    "issue_kiosk_link",
    "register_kiosk",
    "revoke_api_key",
    "revoke_kiosk",
    "start_staff_session",
    "touch_staff_session",
]
