"""Rate-limit counters in the database: atomic, shared by every storage instance (process), windowed."""

import threading

import pytest

from core import db
from core.rate_limits import DatabaseStorage


@pytest.fixture
def storages(app):
    """Two storages with engines of their own on the test database, as two processes would have."""
    made = [
        DatabaseStorage(
            "database://",
            url=app.config["SQLALCHEMY_DATABASE_URI"],
            engine_options={"connect_args": {"timeout": 30}} if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else {},
        )
        for _ in range(2)
    ]
    db.session.commit()
    yield made
    for storage in made:
        storage.engine.dispose()


def test_two_storages_share_one_count(storages):
    first, second = storages
    assert [first.incr("login/1.2.3.4", 60), second.incr("login/1.2.3.4", 60), first.incr("login/1.2.3.4", 60)] == [1, 2, 3]
    assert second.get("login/1.2.3.4") == 3 and first.get("login/5.6.7.8") == 0
    second.clear("login/1.2.3.4")
    assert first.get("login/1.2.3.4") == 0


def test_a_new_window_starts_after_the_old_one_ends(storages, monkeypatch):
    import core.rate_limits as rate_limits

    storage, _ = storages
    now = [1_000_000.0]
    monkeypatch.setattr(rate_limits.time, "time", lambda: now[0])
    assert [storage.incr("k", 60), storage.incr("k", 60)] == [1, 2]
    assert storage.get_expiry("k") == 1_000_060.0
    now[0] += 59
    assert storage.incr("k", 60) == 3
    now[0] += 2
    assert storage.get("k") == 0 and storage.incr("k", 60) == 1 and storage.get_expiry("k") == 1_000_121.0


def test_concurrent_hits_each_get_their_own_count(storages):
    counts, lock = [], threading.Lock()

    def hit(storage):
        for _ in range(20):
            value = storage.incr("busy", 60)
            with lock:
                counts.append(value)

    threads = [threading.Thread(target=hit, args=(storages[n % 2],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, 81))


def test_a_hit_is_counted_while_the_request_itself_holds_the_sqlite_write_lock(app, backend, tmp_path):
    """A rate-limited POST view (the kiosk check-in) counts its hit after its own unit of work began
    BEGIN IMMEDIATE on the app's database: the counter must not wait for that lock."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    import sqlite3

    path = tmp_path / "app.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # the request's own write transaction
    storage = DatabaseStorage("database://", url=f"sqlite:///{path}", engine_options={"connect_args": {"timeout": 0.2}})
    try:
        assert [storage.incr("kiosk-check-in/1.2.3.4", 60), storage.incr("kiosk-check-in/1.2.3.4", 60)] == [1, 2]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        storage.engine.dispose()
