"""The database object, the naming convention and the SQLite transaction discipline.

SQLite ignores ``SELECT ... FOR UPDATE``.  To make its guarantees match PostgreSQL's we take
the database write lock at the *start* of every write transaction (``BEGIN IMMEDIATE``), so
a transaction never reads, then loses a race to upgrade its lock.  Read-only work (the web
layer marks GET requests) begins with a plain deferred ``BEGIN`` and runs concurrently.
"""

from __future__ import annotations

import contextlib
import sqlite3
from contextvars import ContextVar
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC on every database (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL paths on SQLite
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_sqlite_begin = ContextVar("shelfside_sqlite_begin", default="BEGIN IMMEDIATE")


def set_read_only_transactions(read_only: bool):
    """Mark the current context (one web request) as read-only or not; returns a reset token."""
    return _sqlite_begin.set("BEGIN" if read_only else "BEGIN IMMEDIATE")


def reset_read_only_transactions(token) -> None:
    """Undo ``set_read_only_transactions`` (at the end of the request)."""
    _sqlite_begin.reset(token)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, see _begin_sqlite
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if mode != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin_sqlite(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_sqlite_begin.get())


@contextlib.contextmanager
def read_connection():
    """A connection for one read-only statement.

    On PostgreSQL: a pooled connection in autocommit, outside the session's transaction, so the
    statement costs one round trip instead of three (no ``BEGIN``/``COMMIT``).  A single
    statement sees one consistent snapshot either way; it does not see the session's own
    uncommitted changes.  Elsewhere, or when the session already holds a connection: that one.
    """
    if is_postgresql() and db.session().get_transaction() is None:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection
    else:
        yield db.session.connection()


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def upsert_insert(table):
    """``INSERT`` with ``ON CONFLICT`` support for the session's database (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if is_postgresql() else sqlite).insert(table)
