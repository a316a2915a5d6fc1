"""Rate-limit counters in the application's own database, shared by every process and machine using it.

``DatabaseStorage`` is a ``limits`` storage (scheme ``database://``) for the fixed-window strategy
that Flask-Limiter uses by default: the embedded default (SQLite, several gunicorn workers, no
Redis) then counts a client's attempts once, not once per worker.  It keeps its own small
connection pool, apart from the request's unit of work: a count is committed at once and survives
the request's rollback (a refused login still counts).
"""

from __future__ import annotations

import random
import time

from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy import BigInteger, Column, Integer, String, Table, case, create_engine, delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .db import db, reset_read_only_transactions, set_read_only_transactions

rate_limit_counter = Table(
    "rate_limit_counter",
    db.metadata,
    Column("key", String(255), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", BigInteger, nullable=False),  # end of the key's current window, unix time in milliseconds
)


def _database_of(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    return make_url(url).database


def _own_sqlite_file(url: str) -> str:
    """On SQLite the counters live in a file of their own beside the app's database (``shelfside.db`` →
    ``shelfside.db-rate-limits``): SQLite locks a whole file for a write, and a rate-limited view
    counts its hit while its own request may already hold the app database's write lock (a POST
    begins ``BEGIN IMMEDIATE``), which would make the request wait for itself.  Every process still
    shares the one file.  Other databases lock rows, and keep the table in the app's database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return url
    return parsed.set(database=parsed.database + "-rate-limits").render_as_string(hide_password=False)


def _now_ms() -> int:
    return int(time.time() * 1000)  # the clock ``limits`` itself uses for windows and reset times


class DatabaseStorage(Storage):
    """Counters in the ``rate_limit_counter`` table.  ``url`` is the SQLAlchemy database URL (the app's),
    ``engine_options`` options for its own engine.

    ``incr`` is one atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on SQLite in a
    ``BEGIN IMMEDIATE`` transaction): of any number of concurrent hits from any processes, each gets
    its own count.  A window starts at the first hit after the previous one ended, like ``limits``'
    own storages.  Expired rows are swept now and then."""

    STORAGE_SCHEME = ["database"]
    SWEEP_ONE_IN = 500

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, url: str | None = None, engine_options: dict | None = None, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if not url:
            raise ConfigurationError("the database:// rate-limit storage needs the database URL (RATELIMIT_STORAGE_OPTIONS url)")
        self.engine = create_engine(_own_sqlite_file(url), **(engine_options or {}))
        if self.engine.dialect.name == "sqlite" and self.engine.url.database != _database_of(url):
            with self.engine.begin() as connection:  # several workers may start at once: IF NOT EXISTS
                connection.execute(
                    text(
                        "CREATE TABLE IF NOT EXISTS rate_limit_counter (key VARCHAR(255) PRIMARY KEY, count INTEGER NOT NULL, expires_at BIGINT NOT NULL)"
                    )
                )

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def _write(self):
        """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite, whatever the request is)."""
        token = set_read_only_transactions(False)
        try:
            return self.engine.begin()
        finally:
            reset_read_only_transactions(token)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = _now_ms()
        ends = now + int(expiry * 1000)
        table = rate_limit_counter
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        over = table.c.expires_at <= now
        statement = (
            dialect.insert(table)
            .values(key=key, count=amount, expires_at=ends)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"count": case((over, amount), else_=table.c.count + amount), "expires_at": case((over, ends), else_=table.c.expires_at)},
            )
            .returning(table.c.count)
        )
        with self._write() as connection:
            count = connection.execute(statement).scalar_one()
            if random.randrange(self.SWEEP_ONE_IN) == 0:
                connection.execute(delete(table).where(table.c.expires_at < now - 60_000))
        return count

    def _row(self, key: str):
        table = rate_limit_counter
        with self.engine.connect() as connection:
            return connection.execute(select(table.c.count, table.c.expires_at).where(table.c.key == key)).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return row.count if row is not None and row.expires_at > _now_ms() else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires_at / 1000 if row is not None and row.expires_at > _now_ms() else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._write() as connection:
            return connection.execute(delete(rate_limit_counter)).rowcount

    def clear(self, key: str) -> None:
        with self._write() as connection:
            connection.execute(delete(rate_limit_counter).where(rate_limit_counter.c.key == key))
