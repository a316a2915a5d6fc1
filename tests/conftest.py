"""Test harness: one database per session (migrated with Alembic), factories as fixtures.

The same suite runs on SQLite (default) and on PostgreSQL (``TEST_DATABASE_URL``).  Each test
starts from empty tables (TRUNCATE / DELETE) instead of a rolled-back transaction, because the
suite also drives real concurrency and live servers, whose connections must see committed data.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

from core import db
from web import create_app
from web.config import TestConfig, normalise_database_url

IN_CI = os.environ.get("CI", "").lower() == "true"


def _database_url(tmp_path_factory) -> str:
    url = normalise_database_url(os.environ.get("TEST_DATABASE_URL"))
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    instance = tmp_path_factory.mktemp("instance")
    os.environ["SHELFSIDE_INSTANCE_PATH"] = str(instance)

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    application = create_app(Config)
    with application.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
        db.session.remove()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def backend(app) -> str:
    return "postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"


def _empty_tables():
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def row_locks(backend):
    """For tests that race real row locks: PostgreSQL only.  Skipped on SQLite (which has no row
    locks: BEGIN IMMEDIATE serialises its writers).  They do run in CI: under CI=true `make test`
    refuses to finish without its PostgreSQL pass (TEST_DATABASE_URL), where these tests run."""
    if backend != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set TEST_DATABASE_URL); SQLite serialises writers with BEGIN IMMEDIATE")
    return backend


@pytest.fixture(autouse=True)
def ctx(app):
    """Every test gets empty tables and an application context."""
    with app.app_context():
        _empty_tables()
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def create_location():
    from inventory import Location

    def make(code="S1", name=None, kind="store", timezone="Europe/Berlin"):
        location = Location(code=code, name=name or f"Store {code}", kind=kind, timezone=timezone)
        db.session.add(location)
        db.session.commit()
        return location

    return make


@pytest.fixture
def create_product():
    from core import Money
    from inventory import upsert_product

    def make(handle="trail-jacket", title="Trail Jacket", skus=("JKT-M",), price=12900, currency="EUR", barcodes=None, **extra):
        variants = []
        for index, sku in enumerate(skus):
            variant = {"sku": sku, "price": Money(price, currency), "options": {"size": sku.rsplit("-", 1)[-1]}}
            if barcodes:
                variant["barcodes"] = [barcodes[index]]
            variants.append(variant)
        product, _ = upsert_product({"handle": handle, "title": title, "variants": variants, **extra})
        db.session.commit()
        return product

    return make


@pytest.fixture
def set_stock():
    from inventory import record_movement

    def make(store, sku, on_hand):
        level, _ = record_movement(store, sku, "count", on_hand, reason="test setup")
        db.session.commit()
        return level

    return make


@pytest.fixture
def create_key():
    from accounts import SCOPES, create_api_key

    def make(*scopes, name="partner"):
        _, key = create_api_key(name, list(scopes or SCOPES))
        db.session.commit()
        return key

    return make


@pytest.fixture
def partner(client, create_key):
    """A test client speaking as a partner with every scope: partner.get(path), partner.post(path, json=..., key=...)."""
    key = create_key()

    class Partner:
        def __init__(self):
            self.key = key

        def _headers(self, idempotency_key=None, headers=None):
            out = {"Authorization": f"Bearer {self.key}"}
            if idempotency_key:
                out["Idempotency-Key"] = idempotency_key
            out.update(headers or {})
            return out

        def get(self, path, **kw):
            return client.get(path, headers=self._headers(headers=kw.pop("headers", None)), **kw)

        def post(self, path, json=None, key=None, **kw):
            return client.post(path, json=json, headers=self._headers(key, kw.pop("headers", None)), **kw)

        def put(self, path, json=None, **kw):
            return client.put(path, json=json, headers=self._headers(headers=kw.pop("headers", None)), **kw)

        def delete(self, path, **kw):
            return client.delete(path, headers=self._headers(headers=kw.pop("headers", None)), **kw)

    return Partner()


@pytest.fixture
def csrf_client(app):
    """A test client of a second app on the same database with CSRF protection switched on.

    It has its own database sessions: end the test's own transaction (commit) before its
    requests, or on SQLite they wait for the write lock the test holds."""

    class WithCsrf(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        WTF_CSRF_ENABLED = True

    return create_app(WithCsrf).test_client()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP by a threaded WSGI server; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
