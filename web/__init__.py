"""Shelfside's composition root: ``create_app`` and every face.  gunicorn serves ``'web:create_app()'``."""
from __future__ import annotations

import logging
import os
import secrets

from flask import Flask, jsonify, request
from sqlalchemy import text

from core import db, reset_read_only_transactions, set_read_only_transactions

from . import assets, security_headers
from .config import Config


def create_app(config=None) -> Flask:
    """Build the app.  ``config`` is a Config subclass or a dict of overrides."""
    app = Flask(__name__, instance_path=os.environ.get("SHELFSIDE_INSTANCE_PATH") or None, instance_relative_config=True)
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
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
    """A secret key generated once and kept in the instance folder (shared by every worker)."""
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
    import accounts  # noqa: F401  (every domain package's models on the metadata before Alembic looks)
    import inventory  # noqa: F401

    accounts.settings["password_hash_method"] = app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    from .extensions import api, csrf, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to continue."
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
    api.init_app(app)


def register_blueprints(app: Flask) -> None:
    from . import auth, kiosk, tablet
    from .api import BLUEPRINTS
    from .extensions import api, csrf

    for blueprint in BLUEPRINTS:
        csrf.exempt(blueprint)  # API keys need no CSRF; staff sessions are checked in web.auth
        api.register_blueprint(blueprint)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tablet.bp)
    app.register_blueprint(kiosk.bp)

    @app.get("/healthz")
    def healthz():
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
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

    @app.before_request
    def mark_read_only():
        request.environ["shelfside.read_only_token"] = set_read_only_transactions(request.method in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def reset_read_only(_error=None):
        token = request.environ.pop("shelfside.read_only_token", None)
        if token is not None:
            reset_read_only_transactions(token)

    @app.after_request
    def commit_or_roll_back(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
