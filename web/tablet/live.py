"""Live updates for the tablet: a Server-Sent Events stream per store that the layout subscribes
to with htmx's sse extension (``templates/tablet/layout.html``, ``static/tablet/live.js``).

Today it carries ``stock.changed`` for the associate's current store: the product page shows a
toast ("RTJ-MOSS-M: 2 left here") and refreshes its stock numbers.  Customers checked in, QR
payments completed and assistance requests will travel the same channel.
"""

from __future__ import annotations

import json
import threading
import time

from flask import Response, current_app, g, request
from flask_login import current_user

from accounts import ROLES
from core import live
from inventory import events

from ..auth import require_role
from ..viewmodels.stock import live_stock_words
from . import bp

# A stream holds one gunicorn thread for as long as it is open (scripts/serve runs gthread
# workers: 4 processes × 4 threads).  So that streams never starve the pages:
# * each process serves at most LIVE_MAX_STREAMS of them at once (default 2, half its threads);
#   the next tablet gets 503 and its browser tries again later (htmx backs off up to a minute);
# * a stream ends after STREAM_SECONDS.  The browser reconnects by itself (after ``retry``) and
#   resumes from its Last-Event-ID, so nothing is missed; meanwhile the thread is freed, a
#   restarting or reloading gunicorn is not held up by streams for longer than that, streams
#   spread again over the workers, and one whose tablet went to sleep without closing the
#   connection does not hold its thread for good.
STREAM_SECONDS = 300
HEARTBEAT_SECONDS = 1  # a comment line this often: proxies keep the connection, and a tablet that left (a new page opens a new stream) frees its thread within a couple of seconds
RETRY_MILLISECONDS = 1000

_open_streams = 0
_open_lock = threading.Lock()


def store_channel(code: str) -> str:
    return f"store:{code}"


def staff_channel(staff_id: int) -> str:
    """What concerns one staff member wherever they work (their customer checked in)."""
    return f"staff:{staff_id}"


def stock_changed_to_store(data: dict):
    """``stock.changed`` goes to the store it happened at, with the words for the toast."""
    yield (
        store_channel(data["store"]),
        {
            "event": events.STOCK_CHANGED,
            "data": {
                "sku": data["sku"],
                "available": data["available"],
                "on_hand": data["on_hand"],
                "reserved": data["reserved"],
                "text": live_stock_words(data["sku"], data["available"]),
            },
        },
    )


live.route(events.STOCK_CHANGED, stock_changed_to_store)


@bp.record_once
def _configure(state):
    live.configure(state.app.config.get("REDIS_URL"))


def _claim_stream() -> bool:
    global _open_streams
    with _open_lock:
        if _open_streams >= int(current_app.config["LIVE_MAX_STREAMS"]):
            return False
        _open_streams += 1
        return True


def _release_stream() -> None:
    global _open_streams
    with _open_lock:
        _open_streams -= 1


def _last_event_id() -> int | None:
    value = request.headers.get("Last-Event-ID", "")
    return int(value) if value.isdigit() else None


def _event(message: dict) -> str:
    lines = []
    if message.get("id") is not None:
        lines.append(f"id: {message['id']}")
    lines.append(f"event: {message['event']}")
    lines.append("data: " + json.dumps(message.get("data", {}), separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


@bp.get("/live", endpoint="live")
@require_role(*ROLES)
def live_stream():
    """``text/event-stream`` of the current store's channel and the staff member's own, for signed-in staff.  204 without a
    store (the browser stops asking); 503 when this process already serves its share of streams."""
    if g.store is None:
        return Response(status=204)
    if not _claim_stream():
        return Response("too many live connections here; try again shortly\n", status=503, mimetype="text/plain", headers={"Retry-After": "30"})
    try:
        subscription = live.subscribe([store_channel(g.store.code), staff_channel(current_user.id)], after=_last_event_id())
    except Exception:
        _release_stream()
        raise
    stream_seconds = float(current_app.config.get("LIVE_STREAM_SECONDS", STREAM_SECONDS))
    closed = []

    def close():  # once, whether the stream ran to its end, the client went away or it never started
        if not closed:
            closed.append(True)
            subscription.close()
            _release_stream()

    def stream():
        ends = time.monotonic() + stream_seconds
        yield f"retry: {RETRY_MILLISECONDS}\n: connected\n\n"
        while time.monotonic() < ends:
            messages = subscription.wait(min(HEARTBEAT_SECONDS, max(0.0, ends - time.monotonic())))
            yield "".join(_event(message) for message in messages) if messages else ": still here\n\n"

    response = Response(
        stream(),
        mimetype="text/event-stream",
        headers={
            "Cache-Control": "no-cache, no-transform",
            "X-Accel-Buffering": "no",  # nginx and friends: pass each event on at once
        },
    )
    response.call_on_close(close)
    return response
