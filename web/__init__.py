"""Shelfside's composition root: ``create_app`` and every face.  gunicorn serves ``'web:create_app()'``."""

from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, g, jsonify, request
from sqlalchemy import text

from core import db, reset_read_only_transactions, set_read_only_transactions

from . import assets, security_headers
from .config import Config, ConfigurationError
from .input import CheckedJSONProvider, CheckedRequest, check_request_input


class ShelfsideFlask(Flask):
    """Flask with the request input checked once (``web.input``): JSON parsed and refused centrally."""

    request_class = CheckedRequest
    json_provider_class = CheckedJSONProvider


def create_app(config=None) -> Flask:
    """Build the app.  ``config`` is a Config subclass or a dict of overrides."""
    app = ShelfsideFlask(__name__, instance_path=os.environ.get("SHELFSIDE_INSTANCE_PATH") or None, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.json.sort_keys = False  # answers keep the contract's field order (sku, store, on_hand, ...)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "shelfside.db")
    if not app.config.get("SECRET_KEY"):
        if app.config.get("ENV_NAME") == "production":
            raise ConfigurationError(
                "SECRET_KEY is not set: in production (SHELFSIDE_ENV=production) every machine must sign sessions with the same key. "
                "Set SECRET_KEY, e.g. to the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'"
            )
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # An OLTP service on a few cores gains nothing from parallel plans, and with them the planner
        # scans all of `variant` for `sku IN (...)` joined to stock_level (availability, all stores):
        # see docs/benchmarks.md.  ALTER ROLE/DATABASE ... SET max_parallel_workers_per_gather = 0 does the same.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("options", "-c max_parallel_workers_per_gather=0")
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config.get("RATELIMIT_STORAGE_URI") == "database://":
        options = {key: value for key, value in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items() if key != "pool_size"}
        if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            options["pool_size"] = 2  # one short statement per rate-limited request
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"url": app.config["SQLALCHEMY_DATABASE_URI"], "engine_options": options}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from .access_log import MaskSecrets

    for name in ("werkzeug", "shelfside"):  # the development server's request log, the app's error log
        if not any(isinstance(f, MaskSecrets) for f in logging.getLogger(name).filters):
            logging.getLogger(name).addFilter(MaskSecrets())
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_request_hooks(app)
    security_headers.register(app)
    assets.register(app)
    return app


def _instance_secret(instance_path: str) -> str:
    """Development only: a secret key generated once and kept in the instance folder (shared by every worker
    on this machine, but not by another machine, so production refuses to start without SECRET_KEY)."""
    path = os.path.join(instance_path, "secret_key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    with open(path) as handle:
        return handle.read().strip()


def register_extensions(app: Flask) -> None:
    import accounts
    import clienteling
    import core.audit  # noqa: F401  (its table)
    import inventory  # noqa: F401
    import pos  # (its tables)

    accounts.configure_passwords(app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
    clienteling.settings["phone_region"] = app.config["PHONE_REGION"]
    clienteling.task_settings["follow_up_days"] = app.config["FOLLOW_UP_DAYS"]
    clienteling.configure_messaging(app.config)  # MESSAGE_PROVIDER (log | smtp) and SMTP_*
    try:
        pos.configure_payments(app.config)  # PAYMENT_GATEWAY (development | stripe) and STRIPE_*
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    from .extensions import api, csrf, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    api.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import auth, feedback, kiosk, pay, public, receipts, stripe_webhooks, tablet
    from .api import BLUEPRINTS, docs
    from .extensions import api, csrf

    for blueprint in BLUEPRINTS:
        csrf.exempt(blueprint)  # API keys need no CSRF; staff sessions are checked in web.auth
        api.register_blueprint(blueprint)
    app.register_blueprint(docs.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tablet.bp)
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(receipts.bp)
    app.register_blueprint(pay.bp)  # the development gateway's QR payment page
    app.register_blueprint(stripe_webhooks.bp)  # POST /webhooks/stripe (signed, CSRF-exempt)

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:
            return jsonify({"status": "unavailable", "database": str(exc.__class__.__name__)}), 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.get("/")
    def index():
        from flask import redirect, url_for

        return redirect(url_for("tablet.home"))


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    """One commit per request: a successful answer commits, anything else rolls back."""

    app.before_request(check_request_input)  # first of ours: no view sees a NUL, a lone surrogate or JSON nested too deep

    @app.before_request
    def mark_read_only():
        view = app.view_functions.get(request.endpoint)
        read_only = request.method in ("GET", "HEAD", "OPTIONS") and not getattr(view, "writes_on_get", False)
        request.environ["shelfside.read_only_token"] = set_read_only_transactions(read_only)

    @app.before_request
    def load_the_user_afresh():
        # Flask-Login caches the user on ``g``, which belongs to the app context: one held open across
        # requests (a test, a script) must not carry a signed-out or deactivated user into the next one
        g.pop("_login_user", None)

    @app.teardown_request
    def reset_read_only(_error=None):
        token = request.environ.pop("shelfside.read_only_token", None)
        if token is not None:
            reset_read_only_transactions(token)

    @app.after_request
    def commit_or_roll_back(response):
        from .auth import record_session_use

        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        record_session_use()  # a staff session's last-seen time, in its own short transaction
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
