"""Who is calling: staff sessions (login page), partner API keys, kiosk devices."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from core import db
from core.actor import Actor

from accounts import Staff, authenticate_staff, find_api_key, hash_secret
from .errors import ApiError
from .extensions import csrf, limiter, login_manager

bp = Blueprint("auth", __name__)


@dataclass
class Principal:
    kind: str  # api_key | staff | kiosk
    id: int
    name: str
    scopes: set = field(default_factory=set)
    staff: Staff | None = None

    @property
    def key(self) -> str:
        """Namespace for idempotency keys: 'api_key:3', 'staff:5'."""
        return f"{self.kind}:{self.id}"

    @property
    def actor(self) -> Actor:
        """Who the services record as having made the change."""
        return Actor(self.kind, self.id, self.name)


@login_manager.user_loader
def load_staff(staff_id: str):
    return db.session.get(Staff, int(staff_id))


def current_principal() -> Principal | None:
    """The caller of an API request: a Bearer API key first, else the staff session."""
    # kept on the request, not on ``g``: ``g`` belongs to the app context, which a test (or a
    # script) may hold open across several requests
    if "shelfside.principal" in request.environ:
        return request.environ["shelfside.principal"]
    principal = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <api key>'", headers={"WWW-Authenticate": "Bearer"})
        principal = _api_key_principal(token.strip())
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS") and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # a browser session must prove the request came from our pages
        principal = Principal("staff", current_user.id, current_user.name, set(current_user.scopes), staff=current_user)
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


def require_scope(scope: str):
    """Decorator for API views: 401 without credentials, 403 without ``scope``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise ApiError(401, "unauthorized", "authentication required: send 'Authorization: Bearer <api key>'", headers={"WWW-Authenticate": "Bearer"})
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
    """``target`` if it is a path on this site (a safe redirect after sign-in or a form), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("tablet.home"))
    if form.validate_on_submit():
        staff = authenticate_staff(form.email.data, form.password.data)
        if staff is None:
            flash("That email and password don't match an active account.", "error")
        else:
            session.clear()
            login_user(staff)
            session["store_id"] = staff.stores[0].id if staff.stores else None
            return redirect(safe_next(request.args.get("next")) or url_for("tablet.home"))
    elif request.method == "POST":
        flash("Enter your email and password.", "error")
    return render_template("login.html", form=form), (401 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
