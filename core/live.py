"""Live messages to the screens open right now: a tablet on a product page learns that the stock
it shows has changed, without a reload.

``publish(channel, message)`` sends ``message`` (``{"event": name, "data": {...}}``) to everyone
subscribed to ``channel`` (``"store:BER-MITTE"``) at that moment.  It is meant to run after a
commit (``core.uow.after_commit``): a live screen must never show a change that rolled back.
Delivery is best effort — a screen that was not listening misses the message and shows the
truth on its next load — unlike webhooks, which go through the durable outbox.

Domain code does not call this module.  The web layer says which outbox events a live screen
wants and where they go (``route``); ``core.outbox.emit`` forwards those events here, to be
published after the commit.

Two backends, chosen by ``configure``:

* Redis pub/sub when a Redis URL is configured (several machines);
* otherwise the database: ``live_message`` rows that every subscriber polls from its last seen
  id about twice a second, pruned by age.  It works across gunicorn worker processes on the
  embedded SQLite default and on PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta

from sqlalchemy import Index, String, delete, event, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import clock
from .db import UTCDateTime, db, reset_read_only_transactions, set_read_only_transactions
from .uow import after_commit

POLL_SECONDS = 0.5  # how often a database subscriber looks for new messages
KEEP_SECONDS = 120  # database messages older than this are pruned (a reconnecting screen resumes within it)
PRUNE_EVERY_SECONDS = 30
LATE_COMMIT_WINDOW = 200  # ids below the newest one seen that are still looked at (see DatabaseSubscription)


class LiveMessage(db.Model):
    """One published message, kept for ``KEEP_SECONDS`` for the database backend's subscribers."""

    __tablename__ = "live_message"
    # AUTOINCREMENT on SQLite: ids never go back, even when pruning empties the table
    __table_args__ = (Index("ix_live_message_created_at", "created_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    message: Mapped[dict] = mapped_column(db.JSON)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now)


# --- routing outbox events to live channels ------------------------------------------------------

Router = Callable[[dict], Iterable[tuple[str, dict]]]
_routes: dict[str, list[Router]] = {}


def route(event_type: str, to: Router) -> None:
    """Have every ``event_type`` event also published live: ``to(data)`` answers the
    (channel, message) pairs to publish for one event's data.  Registered once, at import."""
    routers = _routes.setdefault(event_type, [])
    if to not in routers:
        routers.append(to)


_PENDING = "shelfside_live_pending"


def forward(event_type: str, data: dict) -> None:
    """Called by ``core.outbox.emit`` for every event: when a live listener wants this type, its
    messages are published after the current transaction commits (never when it rolls back),
    all of one transaction's messages together."""
    if event_type not in _routes:
        return
    info = db.session().info
    pending = info.get(_PENDING)
    if pending is None:  # the first in this transaction: one after-commit operation publishes them all
        pending = info[_PENDING] = []
        after_commit(_publish_pending, pending)
    pending.append((event_type, dict(data)))


def _publish_pending(pending: list[tuple[str, dict]]) -> None:
    db.session().info.pop(_PENDING, None)
    messages = [(channel, message) for event_type, data in pending for router in _routes.get(event_type, ()) for channel, message in router(data)]
    if messages:
        _backend.publish_many(messages)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- the backends -------------------------------------------------------------------------------


class DatabaseBackend:
    """Messages in ``live_message``; subscribers poll by id.  Needs an application context to
    publish (it uses ``db.engine``); a subscription keeps the engine it was opened with."""

    name = "database"

    def __init__(self):
        self._pruned_at = 0.0
        self._lock = threading.Lock()

    def publish(self, channel: str, message: dict) -> None:
        self.publish_many([(channel, message)])

    def publish_many(self, messages: list[tuple[str, dict]]) -> None:
        """All in one short write transaction of its own (the caller's has committed)."""
        table = LiveMessage.__table__
        now = clock.now()
        token = set_read_only_transactions(False)  # SQLite: a write transaction takes the lock first
        try:
            with db.engine.begin() as connection:
                connection.execute(insert(table), [{"channel": channel, "message": message, "created_at": now} for channel, message in messages])
                if self._prune_due():
                    connection.execute(delete(table).where(table.c.created_at < now - timedelta(seconds=KEEP_SECONDS)))
        finally:
            reset_read_only_transactions(token)

    def _prune_due(self) -> bool:
        with self._lock:
            if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
                return False
            self._pruned_at = time.monotonic()
            return True

    def subscribe(self, channels: list[str], after: int | None = None) -> DatabaseSubscription:
        return DatabaseSubscription(db.engine, channels, after)


class DatabaseSubscription:
    """Polls ``live_message`` for its channels, from where it started (or resumed).

    Ids are handed out in insert order but may become visible in another order (on PostgreSQL
    two publishing transactions can commit the other way round), so each poll also looks at the
    last ``LATE_COMMIT_WINDOW`` ids below the newest one seen, skipping those already delivered.
    """

    def __init__(self, engine, channels: list[str], after: int | None):
        self.engine, self.channels = engine, list(channels)
        with self._connection() as connection:
            newest = connection.execute(select(func.coalesce(func.max(LiveMessage.id), 0))).scalar_one()
        # resume after a reconnect (Last-Event-ID), but never from a number not reached yet
        self.start = newest if after is None else max(0, min(after, newest))
        self.newest = self.start
        self.seen: set[int] = set()

    @contextlib.contextmanager
    def _connection(self):
        token = set_read_only_transactions(True)  # SQLite: a plain BEGIN, never the write lock
        try:
            with self.engine.connect() as connection:
                yield connection
        finally:
            reset_read_only_transactions(token)

    def poll(self) -> list[dict]:
        """The messages that became visible since the last poll, oldest first."""
        table = LiveMessage.__table__
        floor = max(self.start, self.newest - LATE_COMMIT_WINDOW)
        with self._connection() as connection:
            rows = connection.execute(
                select(table.c.id, table.c.channel, table.c.message)
                .where(table.c.id > floor, table.c.channel.in_(self.channels))
                .order_by(table.c.id)
                .limit(500)
            ).all()
        found = [{"id": row.id, "channel": row.channel, **row.message} for row in rows if row.id not in self.seen]
        self.seen.update(message["id"] for message in found)
        if found:
            self.newest = max(self.newest, found[-1]["id"])
            floor = max(self.start, self.newest - LATE_COMMIT_WINDOW)
            self.seen = {seen for seen in self.seen if seen > floor}
        return found

    def wait(self, timeout: float) -> list[dict]:
        """The messages published since the last call, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.poll()
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        pass


class RedisBackend:
    """Redis pub/sub: published messages reach the subscribers connected at that moment, on any machine."""

    name = "redis"
    PREFIX = "shelfside:live:"

    def __init__(self, url: str):
        import redis

        self.url = url
        self.client = redis.Redis.from_url(url)

    def publish(self, channel: str, message: dict) -> None:
        self.client.publish(self.PREFIX + channel, json.dumps(message))

    def publish_many(self, messages: list[tuple[str, dict]]) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for channel, message in messages:
            pipeline.publish(self.PREFIX + channel, json.dumps(message))
        pipeline.execute()

    def subscribe(self, channels: list[str], after: int | None = None) -> RedisSubscription:
        return RedisSubscription(self.client, [self.PREFIX + channel for channel in channels])


class RedisSubscription:
    def __init__(self, client, channels: list[str]):
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(*channels)

    def wait(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        found = []
        while True:
            remaining = deadline - time.monotonic()
            item = self.pubsub.get_message(timeout=max(0.0, remaining) if not found else 0)
            if item is None:
                if found or remaining <= 0:
                    return found
                continue
            if item.get("type") != "message":
                continue
            channel = item["channel"].decode() if isinstance(item["channel"], bytes) else item["channel"]
            found.append({"id": None, "channel": channel[len(RedisBackend.PREFIX) :], **json.loads(item["data"])})

    def close(self) -> None:
        self.pubsub.close()


_backend: DatabaseBackend | RedisBackend = DatabaseBackend()


def configure(redis_url: str | None = None) -> None:
    """Choose the backend for this process: Redis pub/sub when ``redis_url`` is given, else the database."""
    global _backend
    if redis_url:
        if not (isinstance(_backend, RedisBackend) and _backend.url == redis_url):
            _backend = RedisBackend(redis_url)
    elif not isinstance(_backend, DatabaseBackend):
        _backend = DatabaseBackend()


def backend_name() -> str:
    return _backend.name


def publish(channel: str, message: dict) -> None:
    """Send ``message`` (``{"event": name, "data": {...}}``) to the current subscribers of ``channel``.
    Call it after the change committed (``core.uow.after_commit``); it never raises into a caller
    through after_commit, which logs a failure instead."""
    _backend.publish(channel, message)


def subscribe(channels: list[str], after: int | None = None):
    """A subscription to ``channels``: ``wait(timeout)`` answers the messages published since
    (``{"id", "channel", "event", "data"}``; ``id`` only on the database backend, which can also
    resume ``after`` a message id), ``close()`` ends it."""
    return _backend.subscribe(channels, after)
