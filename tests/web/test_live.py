"""The tablet's live stream (GET /tablet/live): Server-Sent Events of the associate's store."""

import json

import pytest

from accounts import create_staff
from core import db
from tests.browser.shop import build_shop

PASSWORD = "correct-horse"


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def associate(client, shop):
    create_staff("ana@example.com", "Ana Ruiz", "associate", PASSWORD, ["S1"])
    db.session.commit()
    assert client.post("/login", data={"email": "ana@example.com", "password": PASSWORD}).status_code == 302
    return client


def events(chunk: bytes) -> list[dict]:
    found = []
    for block in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            found.append({"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])})
    return found


def test_the_stream_needs_a_signed_in_staff_member(client, shop):
    response = client.get("/tablet/live")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_stream_sends_this_stores_stock_changes_as_they_commit_uncompressed_and_unbuffered(app, associate, partner, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_STREAM_SECONDS", 3)
    response = associate.get("/tablet/live", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert "Content-Encoding" not in response.headers  # never compressed: that would hold events back
    assert response.headers["Cache-Control"] == "no-cache, no-transform" and response.headers["X-Accel-Buffering"] == "no"
    chunks = iter(response.response)
    assert next(chunks).startswith(b"retry: ")  # the first bytes leave at once, before any event
    moved = partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "TR-42-MOSS", "kind": "receive", "quantity": 1}, key="live-1")
    assert moved.status_code == 201
    partner.post("/api/v1/stock/movements", json={"store": "S2", "sku": "TR-42-MOSS", "kind": "receive", "quantity": 1}, key="live-2")
    received = []
    for chunk in chunks:
        received += events(chunk)
        if received:
            break
    assert [(e["event"], e["data"]["sku"], e["data"]["available"], e["data"]["text"]) for e in received] == [
        ("stock.changed", "TR-42-MOSS", 2, "TR-42-MOSS: 2 left here")
    ]  # Hamburg's receipt is not Berlin's business
    assert received[0]["id"].isdigit()  # the browser resumes from it after a reconnect
    rest = b"".join(chunks)  # the stream ends by itself (LIVE_STREAM_SECONDS)
    response.close()  # what the WSGI server does at the end; it gives the stream's place back
    assert events(rest) == []


def test_a_reconnecting_browser_resumes_after_its_last_event_id(app, associate, partner, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_STREAM_SECONDS", 1)
    first = associate.get("/tablet/live")
    chunks = iter(first.response)
    next(chunks)
    partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "RS-M", "kind": "receive", "quantity": 2}, key="r-1")
    partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "RS-M", "kind": "receive", "quantity": 3}, key="r-2")
    seen = events(b"".join(chunks))
    first.close()
    assert [e["data"]["available"] for e in seen] == [3, 6]
    again = associate.get("/tablet/live", headers={"Last-Event-ID": seen[0]["id"]})
    assert [e["data"]["available"] for e in events(b"".join(again.response))] == [6]
    again.close()


def test_each_process_serves_only_its_share_of_streams(app, associate, monkeypatch):
    monkeypatch.setitem(app.config, "LIVE_MAX_STREAMS", 1)
    monkeypatch.setitem(app.config, "LIVE_STREAM_SECONDS", 1)
    open_stream = associate.get("/tablet/live")
    chunks = iter(open_stream.response)
    next(chunks)
    refused = associate.get("/tablet/live")
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    b"".join(chunks)  # the first stream ends and frees its place
    open_stream.close()
    again = associate.get("/tablet/live")
    assert again.status_code == 200
    again.close()  # never read: closing it still gives its place back
    third = associate.get("/tablet/live")
    assert third.status_code == 200
    third.close()


def test_the_tablet_layout_subscribes_to_the_stream(associate):
    page = associate.get("/tablet/").get_data(as_text=True)
    assert 'hx-ext="sse" sse-connect="/tablet/live"' in page
    assert 'hx-trigger="sse:stock.changed"' in page
