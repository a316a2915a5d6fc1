"""Creating and finding staff accounts, partner API keys and kiosks.  Secrets are stored hashed
and shown once."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from core import clock
from core.db import db
from core.errors import NotFound, ValidationError
from inventory import Location

from .models import ROLES, SCOPES, ApiKey, KioskDevice, Staff, StaffSession, settings

STAFF_TOKEN_PREFIX = "sst_"  # staff tokens; partner API keys start "ssk_"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (keys and device tokens; passwords use scrypt)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_staff(email: str, name: str, role: str, password: str, store_codes: list[str]) -> Staff:
    """Create a staff member bound to stores.  ValidationError on a bad role, email, store or password."""
    email = (email or "").strip().lower()
    if "@" not in email:
        raise ValidationError("not an email address", field="email")
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    if db.session.scalar(select(Staff).where(Staff.email == email)):
        raise ValidationError(f"{email} already has an account", field="email")
    stores = []
    for code in store_codes:
        location = db.session.scalar(select(Location).where(Location.code == code, Location.kind == "store"))
        if location is None:
            raise ValidationError(f"unknown store {code!r}", field="stores")
        stores.append(location)
    if role != "admin" and not stores:
        raise ValidationError("associates and managers belong to at least one store", field="stores")
    staff = Staff(email=email, name=name or email, role=role, stores=stores)
    staff.set_password(password)
    db.session.add(staff)
    db.session.flush()
    return staff


def configure_passwords(method: str) -> None:
    """Hash new passwords with ``method`` (werkzeug's notation, e.g. ``scrypt``) and compute, once per
    process and method, the stand-in hash that ``authenticate_staff`` checks for an unknown email."""
    settings["password_hash_method"] = method
    _stand_in_hash(method)


@functools.lru_cache(maxsize=4)
def _stand_in_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def authenticate_staff(email: str, password: str) -> Staff | None:
    """The active staff member with this email and password, else None.

    Costs exactly one password hash whatever the outcome (unknown email, inactive account, wrong or
    right password), so the time taken does not tell whether an account exists."""
    staff = db.session.scalar(select(Staff).where(Staff.email == (email or "").strip().lower()))
    if staff is None:
        check_password_hash(_stand_in_hash(settings["password_hash_method"]), password or "")
        return None
    if not staff.check_password(password or "") or not staff.active:
        return None
    return staff


# --- manager approval at the till -------------------------------------------------------------

APPROVER_ROLES = ("manager", "admin")


def set_staff_pin(staff: Staff, pin: str | None) -> None:
    """Give a manager (or admin) an approval PIN of 4 to 8 digits, stored hashed; None removes it."""
    if pin is None:
        staff.pin_hash = None
        return
    if staff.role not in APPROVER_ROLES:
        raise ValidationError("only managers and admins approve at the till", field="role")
    if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 8 or not pin.isascii():
        raise ValidationError("a PIN is 4 to 8 digits", field="pin")
    staff.pin_hash = generate_password_hash(pin, method=settings["password_hash_method"])
    db.session.flush()


def find_approver(location, email: str | None = None, password: str | None = None, pin: str | None = None) -> Staff | None:
    """The manager (or admin) who approves at ``location``'s till: by email and password, or by PIN among the
    active managers of that store who have one.  None when the credentials are wrong, the staff member is not a
    manager there, or is inactive."""
    if pin:
        candidates = db.session.scalars(
            select(Staff).where(Staff.active.is_(True), Staff.role.in_(APPROVER_ROLES), Staff.pin_hash.is_not(None)).order_by(Staff.id)
        ).all()
        for staff in candidates:
            if staff.can_see_store(location) and check_password_hash(staff.pin_hash, pin):
                return staff
        return None
    staff = authenticate_staff(email or "", password or "")
    if staff is None or staff.role not in APPROVER_ROLES or not staff.can_see_store(location):
        return None
    return staff


# --- staff sessions: browser sign-ins and staff tokens -------------------------------------------


def start_staff_session(staff: Staff, kind: str, device: str = "", lifetime: timedelta | None = None) -> tuple[StaffSession, str]:
    """A new session for ``staff`` (kind ``browser`` or ``token``); answers (record, its secret in clear —
    shown once, only its hash is kept).  A token's secret starts with ``sst_``.  ``lifetime`` sets an
    absolute expiry.  The staff member's long-dead sessions (ended or expired over a week ago) are
    deleted on the way."""
    if kind not in ("browser", "token"):
        raise ValueError("a staff session is a browser session or a token")
    now = clock.now()
    db.session.execute(
        delete(StaffSession).where(
            StaffSession.staff_id == staff.id,
            or_(StaffSession.ended_at < now - timedelta(days=7), StaffSession.expires_at < now - timedelta(days=7)),
        )
    )
    secret = (STAFF_TOKEN_PREFIX if kind == "token" else "") + secrets.token_urlsafe(32)
    record = StaffSession(
        staff_id=staff.id,
        kind=kind,
        secret_hash=hash_secret(secret),
        device=(device or "")[:200],
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    db.session.add(record)
    db.session.flush()
    return record, secret


def find_staff_session(secret: str, kind: str, idle_limit: timedelta) -> StaffSession | None:
    """The live session of this kind with this secret, else None: a session that was ended (sign-out,
    revoked token, deactivation), is past its expiry, was last used longer than ``idle_limit`` ago, or
    belongs to an inactive staff member is never answered."""
    if not secret or not isinstance(secret, str):
        return None
    record = db.session.scalar(select(StaffSession).where(StaffSession.secret_hash == hash_secret(secret), StaffSession.kind == kind))
    now = clock.now()
    if record is None or record.ended_at is not None or not record.staff.active:
        return None
    if (record.expires_at is not None and record.expires_at <= now) or record.last_seen_at + idle_limit <= now:
        return None
    return record


def touch_staff_session(session_id: int, at=None) -> None:
    """Record that a session was used at ``at`` (default now), unless it has ended meanwhile."""
    db.session.execute(
        update(StaffSession).where(StaffSession.id == session_id, StaffSession.ended_at.is_(None)).values(last_seen_at=at or clock.now())
    )


def end_staff_session(session_id: int) -> None:
    """End one session now (sign-out, a revoked token): its cookie or token stops working, copies included."""
    db.session.execute(update(StaffSession).where(StaffSession.id == session_id, StaffSession.ended_at.is_(None)).values(ended_at=clock.now()))


def end_all_staff_sessions(staff: Staff) -> int:
    """End every live session and token of ``staff``; answers how many were live."""
    live = update(StaffSession).where(StaffSession.staff_id == staff.id, StaffSession.ended_at.is_(None))
    result = db.session.execute(live.values(ended_at=clock.now()))
    return result.rowcount


def deactivate_staff(email: str) -> Staff:
    """Deactivate the staff member with this email: they can no longer sign in, and every session and token
    they hold ends now.  Deactivating twice is harmless.  NotFound for an unknown email."""
    staff = db.session.scalar(select(Staff).where(Staff.email == (email or "").strip().lower()))
    if staff is None:
        raise NotFound(f"no staff member {email!r}")
    staff.active = False
    end_all_staff_sessions(staff)
    db.session.flush()
    return staff


def create_api_key(name: str, scopes: list[str], key: str | None = None) -> tuple[ApiKey, str]:
    """A new partner API key; answers (record, the key in clear — shown once, only its hash is kept)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValidationError(f"unknown scope; choose among: {', '.join(SCOPES)}", field="scope")
    key = key or "ssk_" + secrets.token_urlsafe(32)
    record = ApiKey(name=name, prefix=key[:10], key_hash=hash_secret(key), scopes=sorted(set(scopes)))
    db.session.add(record)
    db.session.flush()
    return record, key


def find_api_key(key: str) -> ApiKey | None:
    if not key:
        return None
    record = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(key)))
    if record is None or record.revoked_at is not None or not hmac.compare_digest(record.key_hash, hash_secret(key)):
        return None
    return record


def find_api_key_record(ident: str) -> ApiKey:
    """A key by its id (as ``list-api-keys`` prints it), its whole value, or its printed prefix."""
    ident = (ident or "").strip()
    if ident.isdigit():
        record = db.session.get(ApiKey, int(ident))
    elif len(ident) > 10:
        record = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(ident)))
    else:
        matches = list(db.session.scalars(select(ApiKey).where(ApiKey.prefix == ident))) if ident else []
        if len(matches) > 1:
            raise ValidationError(f"{len(matches)} keys start {ident!r}; use the id", field="key")
        record = matches[0] if matches else None
    if record is None:
        raise NotFound(f"no API key {ident!r}")
    return record


def revoke_api_key(ident: str) -> ApiKey:
    """Revoke a partner key now (its id or prefix); revoking twice keeps the first time."""
    record = find_api_key_record(ident)
    if record.revoked_at is None:
        record.revoked_at = clock.now()
        db.session.flush()
    return record


def revoke_kiosk(device_id: int) -> KioskDevice:
    """Revoke a kiosk: its device cookie stops working on the next page."""
    device = db.session.get(KioskDevice, device_id)
    if device is None:
        raise NotFound(f"no kiosk with id {device_id}")
    if device.revoked_at is None:
        device.revoked_at = clock.now()
        db.session.flush()
    return device


def register_kiosk(store_code: str, name: str, token: str | None = None) -> tuple[KioskDevice, str]:
    """Register a kiosk bound to one store; answers (device, activation token in clear — shown once, and
    good for one activation)."""
    location = db.session.scalar(select(Location).where(Location.code == store_code, Location.kind == "store"))
    if location is None:
        raise ValidationError(f"unknown store {store_code!r}", field="store")
    token = token or "kio_" + secrets.token_urlsafe(24)
    device = KioskDevice(name=name, location_id=location.id, token_hash=hash_secret(token))
    db.session.add(device)
    db.session.flush()
    return device, token


def find_kiosk(token: str) -> KioskDevice | None:
    """The unrevoked kiosk this activation token was issued to (used or not), else None.  Activating takes
    ``activate_kiosk``."""
    if not token:
        return None
    device = db.session.scalar(select(KioskDevice).where(KioskDevice.token_hash == hash_secret(token)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def activate_kiosk(token: str) -> KioskDevice | None:
    """Use an activation token: the kiosk it belongs to when it is unused and the kiosk not revoked, else None.

    A token works once: it is marked used in the same statement that checks it is unused, so of two
    browsers activating with one token at the same moment exactly one gets the kiosk.  A second screen
    needs a new link (``issue_kiosk_link``)."""
    if not token or not isinstance(token, str):
        return None
    used = db.session.execute(
        update(KioskDevice)
        .where(KioskDevice.token_hash == hash_secret(token), KioskDevice.token_used_at.is_(None), KioskDevice.revoked_at.is_(None))
        .values(token_used_at=clock.now())
    )
    if used.rowcount != 1:
        return None
    return db.session.scalar(select(KioskDevice).where(KioskDevice.token_hash == hash_secret(token)).execution_options(populate_existing=True))


def issue_kiosk_link(device_id: int, token: str | None = None) -> tuple[KioskDevice, str]:
    """A fresh activation token for an existing kiosk (a new or reset screen); answers (device, token in clear —
    shown once).  The kiosk's previous link stops working; screens already activated keep working.
    NotFound for an unknown kiosk, ValidationError for a revoked one."""
    device = db.session.get(KioskDevice, device_id)
    if device is None:
        raise NotFound(f"no kiosk with id {device_id}")
    if device.revoked_at is not None:
        raise ValidationError(f"kiosk {device_id} is revoked; register a new one with create-kiosk", field="kiosk")
    token = token or "kio_" + secrets.token_urlsafe(24)
    device.token_hash = hash_secret(token)
    device.token_used_at = None
    db.session.flush()
    return device, token
