"""The live channel (core.live): messages reach current subscribers after the commit, never for a
rolled-back change, across processes through the database (or Redis when configured)."""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import web.tablet.live  # noqa: F401  (routes stock.changed to the store's channel, as the app does)
from core import db, live
from core.live import LiveMessage, RedisBackend
from core.uow import unit_of_work


@pytest.fixture
def shop(create_location, create_product, set_stock):
    create_location("S1")
    create_location("S2")
    create_product(handle="rain-jacket", title="Rain Jacket", skus=("RTJ-MOSS-M",))
    set_stock("S1", "RTJ-MOSS-M", 5)


def test_a_stock_change_is_published_to_its_stores_channel_once_it_committed(shop):
    from inventory import record_movement

    here, elsewhere = live.subscribe(["store:S1"]), live.subscribe(["store:S2"])
    with unit_of_work():
        record_movement("S1", "RTJ-MOSS-M", "adjust", -3, reason="sold")
        assert here.poll() == []  # not before the commit
    [message] = here.wait(2)
    assert message["event"] == "stock.changed" and message["channel"] == "store:S1"
    assert message["data"] == {"sku": "RTJ-MOSS-M", "available": 2, "on_hand": 2, "reserved": 0, "text": "RTJ-MOSS-M: 2 left here"}
    assert elsewhere.wait(0.6) == []


def test_one_transactions_messages_are_published_together_after_it(shop, monkeypatch):
    from inventory import record_movement

    batches = []
    real = live._backend.publish_many
    monkeypatch.setattr(live._backend, "publish_many", lambda messages: (batches.append(len(messages)), real(messages)))
    subscription = live.subscribe(["store:S1"])
    with unit_of_work():
        record_movement("S1", "RTJ-MOSS-M", "adjust", -1)
        record_movement("S1", "RTJ-MOSS-M", "adjust", -1)
        record_movement("S2", "RTJ-MOSS-M", "receive", 4)
    assert batches == [3]  # one write for the three, after the commit
    assert [m["data"]["available"] for m in subscription.wait(2)] == [4, 3]
    with unit_of_work():
        record_movement("S1", "RTJ-MOSS-M", "adjust", -1)
    assert batches == [3, 1]  # the next transaction starts afresh


def test_a_rolled_back_stock_change_is_never_published(shop):
    from inventory import record_movement

    subscription = live.subscribe(["store:S1"])
    before = db.session.query(LiveMessage).count()  # the shop's opening count was published
    db.session.rollback()
    with pytest.raises(RuntimeError):
        with unit_of_work():
            record_movement("S1", "RTJ-MOSS-M", "adjust", -1)
            raise RuntimeError("the sale failed")
    assert subscription.wait(0.6) == []
    assert db.session.query(LiveMessage).count() == before


def test_a_subscriber_resumes_after_its_last_seen_id_and_sees_nothing_from_before_it_started(shop):
    live.publish("store:S1", {"event": "stock.changed", "data": {"n": 1}})
    subscription = live.subscribe(["store:S1"])
    live.publish("store:S1", {"event": "stock.changed", "data": {"n": 2}})
    live.publish("store:S1", {"event": "stock.changed", "data": {"n": 3}})
    first = subscription.poll()
    assert [m["data"]["n"] for m in first] == [2, 3]
    resumed = live.subscribe(["store:S1"], after=first[0]["id"])  # a reconnect with Last-Event-ID
    assert [m["data"]["n"] for m in resumed.poll()] == [3]
    assert live.subscribe(["store:S1"], after=10**9).poll() == []  # an id from the future is clamped


def test_a_message_whose_id_commits_late_is_still_delivered_once(shop):
    """On PostgreSQL ids are handed out in order but can become visible out of order."""
    subscription = live.subscribe(["store:S1"])
    table = LiveMessage.__table__
    with db.engine.begin() as connection:
        connection.execute(table.insert().values(id=1000, channel="store:S1", message={"event": "e", "data": {"n": "late"}}, created_at=_now()))
        connection.execute(table.insert().values(id=1005, channel="store:S1", message={"event": "e", "data": {"n": "early"}}, created_at=_now()))
    with db.engine.begin() as connection:
        connection.execute(table.delete().where(table.c.id == 1000))
    assert [m["data"]["n"] for m in subscription.poll()] == ["early"]
    with db.engine.begin() as connection:  # id 1000 "commits" only now
        connection.execute(table.insert().values(id=1000, channel="store:S1", message={"event": "e", "data": {"n": "late"}}, created_at=_now()))
    assert [m["data"]["n"] for m in subscription.poll()] == ["late"]
    assert subscription.poll() == []


def _now():
    from core import clock

    return clock.now()


def test_old_messages_are_pruned(shop, monkeypatch):
    from datetime import timedelta

    from core import clock

    live.publish("store:S1", {"event": "e", "data": {}})
    old = clock.now() - timedelta(seconds=live.KEEP_SECONDS + 5)
    with db.engine.begin() as connection:
        connection.execute(LiveMessage.__table__.update().values(created_at=old))
    monkeypatch.setattr(live._backend, "_pruned_at", 0.0)
    live.publish("store:S1", {"event": "e", "data": {}})
    assert db.session.query(LiveMessage).count() == 1


def test_another_process_hears_a_message_published_here(app, shop, backend, tmp_path):
    """Several gunicorn workers share the database: a subscriber in another process gets the message."""
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["SHELFSIDE_INSTANCE_PATH"] = {str(tmp_path)!r}
        from core import live
        from web import create_app
        from web.config import TestConfig

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = {app.config["SQLALCHEMY_DATABASE_URI"]!r}

        with create_app(Config).app_context():
            subscription = live.subscribe(["store:S1"])
            open({str(ready)!r}, "w").close()
            messages = subscription.wait(10)
            print(messages[0]["data"]["text"] if messages else "nothing")
        """)
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2]
    )
    try:
        for _ in range(200):
            if ready.exists() or child.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"])
        from inventory import record_movement

        with unit_of_work():
            record_movement("S1", "RTJ-MOSS-M", "adjust", -4)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
    assert out.strip() == "RTJ-MOSS-M: 1 left here", err


def _redis_url() -> str | None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
    except OSError:
        return None
    return url


def test_the_redis_backend_delivers_to_current_subscribers():
    url = _redis_url()
    if url is None:
        pytest.skip("no Redis at TEST_REDIS_URL (default redis://127.0.0.1:6379/15)")
    backend = RedisBackend(url)
    channel = f"test:{os.getpid()}"
    subscription = backend.subscribe([channel])
    try:
        backend.publish(channel, {"event": "stock.changed", "data": {"sku": "A"}})
        backend.publish(channel + ":other", {"event": "stock.changed", "data": {"sku": "B"}})
        messages = subscription.wait(2)
        assert messages == [{"id": None, "channel": channel, "event": "stock.changed", "data": {"sku": "A"}}]
        assert subscription.wait(0.3) == []
    finally:
        subscription.close()


def test_configure_chooses_redis_when_a_url_is_given_and_the_database_otherwise():
    try:
        live.configure("redis://127.0.0.1:6379/15")
        assert live.backend_name() == "redis"
    finally:
        live.configure(None)
    assert live.backend_name() == "database"
