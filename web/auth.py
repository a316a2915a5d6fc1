"""Who is calling: staff sessions (login page; kept server-side, see ``accounts.StaffSession``), staff tokens of
native clients, partner API keys, kiosk devices."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from accounts import (
    STAFF_TOKEN_PREFIX,
    Staff,
    authenticate_staff,
    end_staff_session,
    find_api_key,
    find_staff_session,
    hash_secret,
    start_staff_session,
    touch_staff_session,
)
from core import clock, db, reset_read_only_transactions, set_read_only_transactions
from core.actor import Actor

from .errors import ApiError
from .extensions import csrf, limiter, login_manager

bp = Blueprint("auth", __name__)
log = logging.getLogger("shelfside.auth")

STAFF_SESSION_KEY = "staff_session"  # the browser session's secret, in the signed cookie


@dataclass
class Principal:
    kind: str  # api_key | staff | kiosk
    id: int
    name: str
    scopes: set = field(default_factory=set)
    staff: Staff | None = None
    session_id: int | None = None  # the StaffSession behind a staff principal
    via: str = ""  # how a staff member authenticated: "cookie" or "token"

    @property
    def key(self) -> str:
        """Namespace for idempotency keys: 'api_key:3', 'staff:5'."""
        return f"{self.kind}:{self.id}"

    @property
    def actor(self) -> Actor:
        """Who the services record as having made the change."""
        return Actor(self.kind, self.id, self.name)


# --- staff sessions (server-side: see accounts.StaffSession) ---------------------------------------


def idle_limit() -> timedelta:
    return timedelta(hours=current_app.config["STAFF_SESSION_IDLE_HOURS"])


def _note_use(record) -> None:
    """Remember to record this session's use after the request (``record_session_use``), at most every few
    minutes per session, so that a session in regular use never reaches the idle limit."""
    every = min(timedelta(minutes=5), idle_limit() / 20)
    if clock.now() - record.last_seen_at >= every:
        request.environ["shelfside.touch_session"] = record.id


def record_session_use() -> None:
    """After the request's own commit or rollback: store the last-seen time noted by ``_note_use`` in a short
    write transaction of its own (so a read-only request never upgrades its transaction).  A failure is
    logged, not raised: the next request tries again."""
    session_id = request.environ.pop("shelfside.touch_session", None)
    if session_id is None:
        return
    token = set_read_only_transactions(False)
    try:
        touch_staff_session(session_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("could not record the use of staff session %s", session_id, exc_info=True)
    finally:
        reset_read_only_transactions(token)


@login_manager.user_loader
def load_staff(staff_id: str):
    """The signed-in staff member, only while the cookie's server-side session is live (not signed out, not
    idle past STAFF_SESSION_IDLE_HOURS, staff member active); else the request is anonymous."""
    record = find_staff_session(session.get(STAFF_SESSION_KEY), "browser", idle_limit())
    if record is None or str(record.staff_id) != str(staff_id):
        session.pop("_user_id", None)
        session.pop(STAFF_SESSION_KEY, None)
        return None
    _note_use(record)
    request.environ["shelfside.staff_session"] = record.id
    return record.staff


def sign_in(staff: Staff) -> None:
    """Start a browser session for ``staff`` in a fresh cookie session (any previous content is dropped)."""
    session.clear()
    _, secret = start_staff_session(staff, "browser", device=request.user_agent.string)
    login_user(staff)
    session[STAFF_SESSION_KEY] = secret


def sign_out() -> None:
    """End the browser's staff session server-side (copies of the cookie stop working too) and clear the cookie."""
    if current_user.is_authenticated and request.environ.get("shelfside.staff_session"):
        end_staff_session(request.environ["shelfside.staff_session"])
    logout_user()
    session.clear()


def _staff_principal(staff: Staff, session_id: int | None, via: str) -> Principal:
    return Principal("staff", staff.id, staff.name, set(staff.scopes), staff=staff, session_id=session_id, via=via)


def current_principal() -> Principal | None:
    """The caller of an API request: a Bearer credential first (``sst_…`` a staff token, else a partner API key;
    401 when unknown, expired or revoked), else the staff session cookie (writes need its CSRF token)."""
    # kept on the request, not on ``g``: ``g`` belongs to the app context, which a test (or a
    # script) may hold open across several requests
    if "shelfside.principal" in request.environ:
        return request.environ["shelfside.principal"]
    principal = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <api key or staff token>'", headers={"WWW-Authenticate": "Bearer"})
        token = token.strip()
        principal = _staff_token_principal(token) if token.startswith(STAFF_TOKEN_PREFIX) else _api_key_principal(token)
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # a browser session must prove the request came from our pages
        principal = _staff_principal(current_user, request.environ.get("shelfside.staff_session"), "cookie")
    request.environ["shelfside.principal"] = principal
    return principal


_verified_keys: dict[str, tuple[float, Principal]] = {}


def _api_key_principal(token: str) -> Principal:
    """The principal of a valid API key; 401 otherwise.  Verified keys are remembered per process
    for API_KEY_CACHE_SECONDS (so a revocation takes effect within that time)."""
    ttl = current_app.config.get("API_KEY_CACHE_SECONDS", 0)
    digest = hash_secret(token)
    if ttl:
        cached = _verified_keys.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    record = find_api_key(token)
    if record is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    principal = Principal("api_key", record.id, record.name, set(record.scopes))
    if ttl:
        if len(_verified_keys) > 1000:
            _verified_keys.clear()
        _verified_keys[digest] = (time.monotonic() + ttl, principal)
    return principal


def _staff_token_principal(token: str) -> Principal:
    """The staff member a live staff token belongs to; 401 for an unknown, expired, idle or revoked one."""
    record = find_staff_session(token, "token", idle_limit())
    if record is None:
        raise ApiError(401, "unauthorized", "unknown, expired or revoked staff token", headers={"WWW-Authenticate": "Bearer"})
    _note_use(record)
    return _staff_principal(record.staff, record.id, "token")


def require_scope(scope: str):
    """Decorator for API views: 401 without credentials, 403 without ``scope``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise ApiError(
                    401, "unauthorized", "authentication required: send 'Authorization: Bearer <api key>'", headers={"WWW-Authenticate": "Bearer"}
                )
            if scope not in principal.scopes:
                raise ApiError(403, "forbidden", f"this key lacks the scope {scope}", {"required_scope": scope})
            return view(*args, **kwargs)

        wrapper._required_scope = scope
        return wrapper

    return decorator


def require_role(*roles):
    """Decorator for UI views: staff signed in with one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                raise ApiError(403, "forbidden", "your role cannot open this page")
            return view(*args, **kwargs)

        return wrapper

    return decorator


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (a safe redirect after sign-in or a form), else None.  A target
    with control characters (a header injection attempt) is never one (``web.input`` refuses it first)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


_password_attempts = limiter.shared_limit(_login_limit, scope="password-attempts", methods=["POST"])


def password_attempts(view):
    """Rate-limit a view that checks a password: one LOGIN_RATE_LIMIT counter per client for every way of
    trying one (the sign-in form, staff tokens)."""
    limited = _password_attempts(view)
    limited._rate_limited = True  # documented (429) by web.api.blueprint
    return limited


@bp.route("/login", methods=["GET", "POST"])
@password_attempts
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("tablet.home"))
    if form.validate_on_submit():
        staff = authenticate_staff(form.email.data, form.password.data)
        if staff is None:
            flash("That email and password don't match an active account.", "error")
        else:
            sign_in(staff)
            session["store_id"] = staff.stores[0].id if staff.stores else None
            return redirect(safe_next(request.args.get("next")) or url_for("tablet.home"))
    elif request.method == "POST":
        flash("Enter your email and password.", "error")
    return render_template("login.html", form=form), (401 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    sign_out()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
