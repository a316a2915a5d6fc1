"""The outbox dispatcher: signed webhooks, delivered at least once, with retries and backoff.

Each round claims due deliveries (``core.outbox.claim_due_deliveries``: ``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the write lock on SQLite), copies what it needs, and commits the claim
before any HTTP request is made, so no database lock is held while a request is in flight.
The claim is a lease: the delivery's ``next_attempt_at`` moves past the time this process
needs for it, so no other dispatcher takes it meanwhile.  A request is only started while
enough of the lease is left for it to finish; the rest go back to the queue.  The outcome is
then recorded in its own short transaction, fenced by the lease.

Delivery is at least once: a process that dies after the receiver answered but before the
outcome was committed leaves the delivery to be sent again when its lease ends.  Receivers
deduplicate on the event id (``Shelfside-Event-Id``, also ``id`` in the body), which stays
the same across retries.

Signature: ``Shelfside-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
keyed with the endpoint's secret; the body is exactly the bytes that were signed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import Timeout

import inventory
import pos
from core import clock, db
from core.outbox import MAX_ATTEMPTS, claim_due_deliveries, record_delivery_result, release_claims

from .cli_clienteling import run_follow_ups_quietly

log = logging.getLogger("shelfside.webhooks")

USER_AGENT = "Shelfside-Webhooks/1"
SIGNATURE_HEADER = "Shelfside-Signature"
EXPIRE_RESERVATIONS_EVERY_SECONDS = 5.0
LEASE_MARGIN_SECONDS = 5.0
MIN_LEASE_SECONDS = 60
MAX_ERROR_SLEEP_SECONDS = 30.0


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Shelfside-Signature`` header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def verify(secret: str, body: bytes, header: str | None, tolerance: int = 300, now: float | None = None) -> bool:
    """True when ``header`` carries a ``v1`` signature of ``body`` with ``secret`` and its timestamp
    is within ``tolerance`` seconds of ``now`` (default: the current time).  Never raises; a
    missing or malformed header is False.  Compare in constant time, as here, when copying it."""
    if not header:
        return False
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value.isascii() and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def encode_payload(payload: dict) -> bytes:
    """The JSON body sent (and signed) for an event payload."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Claimed:
    """What one claimed delivery needs for its attempt, copied out before the claim commits."""

    delivery_id: int
    claimed_until: datetime
    attempt: int
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None
    seconds: float


def refusal(url: str) -> str | None:
    """Why ``url`` may not be registered where webhooks are restricted (https to public addresses
    only), or None.  Deliveries check again, on the address they actually connect to
    (``PublicAddressesOnly``), so a host that later resolves to a private address gets nothing."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "webhook URLs must use https"
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except ValueError:
        return "the port must be between 0 and 65535"
    except (OSError, UnicodeError):
        return f"cannot resolve {parts.hostname}"
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return f"{parts.hostname} resolves to a non-public address"
    return None


def send(claimed: Claimed, timeout: float, session: requests.Session, restricted: bool = False) -> Outcome:
    """POST one delivery, signed now.  2xx is success; any other status, a timeout or a connection
    error is a failure.  Never raises for network or receiver problems; the response body is not read.

    ``timeout`` bounds connecting and waiting for the answer's headers as a whole (a receiver
    trickling its headers byte by byte can stretch it).  ``restricted``: refuse (as a failed
    attempt) a URL that ``refusal`` rejects now."""
    if restricted and not claimed.url.startswith("https://"):
        return Outcome(False, None, "not sent: webhook URLs must use https", 0.0)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Shelfside-Event-Id": claimed.event_id,
        "Shelfside-Event-Type": claimed.event_type,
        SIGNATURE_HEADER: sign(claimed.secret, claimed.body, int(time.time())),
    }
    started = time.monotonic()
    try:
        response = session.post(
            claimed.url,
            data=claimed.body,
            headers=headers,
            stream=True,
            allow_redirects=False,
            timeout=Timeout(connect=timeout, read=timeout, total=timeout),
        )
    except requests.Timeout as exc:
        return Outcome(False, None, f"timeout after {timeout:g} s ({exc.__class__.__name__})", time.monotonic() - started)
    except requests.ConnectionError as exc:
        return Outcome(False, None, f"connection error: {_reason(exc)}", time.monotonic() - started)
    except Exception as exc:
        return Outcome(False, None, f"{exc.__class__.__name__}: {exc}", time.monotonic() - started)
    status = response.status_code
    response.close()
    seconds = time.monotonic() - started
    if 200 <= status < 300:
        return Outcome(True, status, None, seconds)
    return Outcome(False, status, f"HTTP {status} {response.reason or ''}".strip(), seconds)


class _PublicPeerOnly:
    """A urllib3 connection that refuses to go on once connected to a non-public address."""

    def _new_conn(self):
        sock = super()._new_conn()
        address = sock.getpeername()[0]
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            sock.close()
            raise NewConnectionError(self, f"not sent: {self.host} resolves to a non-public address ({address})")
        return sock


class _PublicHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = type("PublicHTTPConnection", (_PublicPeerOnly, HTTPConnection), {})


class _PublicHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = type("PublicHTTPSConnection", (_PublicPeerOnly, HTTPSConnection), {})


class PublicAddressesOnly(HTTPAdapter):
    """A requests transport for restricted webhooks: the address checked is the one connected to,
    after DNS, so no answer that changes between a check and the connection slips through."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPConnectionPool, "https": _PublicHTTPSConnectionPool}


def _reason(exc: Exception) -> str:
    inner = exc.args[0] if exc.args else exc
    reason = getattr(inner, "reason", None) or inner
    return str(reason)[:300]


def _safe_url(url: str) -> str:
    """The URL for logs: no user info, no query (either may carry a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


class Dispatcher:
    """Delivers due webhooks from the outbox; ``run_dispatcher`` is the CLI's way in.

    Runs inside a Flask app context (for ``db`` and the configuration).  Several dispatchers,
    in as many processes or machines, may run against one PostgreSQL database: each delivery is
    claimed by one of them at a time, and no row lock is held during an HTTP request.
    """

    def __init__(self, batch: int = 50, poll_seconds: float = 1.0):
        self.batch = max(1, int(batch))
        self.poll_seconds = max(0.0, float(poll_seconds))
        self.timeout = float(current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
        self.attempt_budget = timedelta(seconds=self.timeout + LEASE_MARGIN_SECONDS)
        self.lease_seconds = max(MIN_LEASE_SECONDS, int(4 * self.attempt_budget.total_seconds()))
        self.http = requests.Session()
        self.http.trust_env = False  # no environment proxies or .netrc credentials on partner URLs
        self.restricted = bool(current_app.config.get("WEBHOOK_REQUIRE_HTTPS"))
        if self.restricted:
            for prefix in ("https://", "http://"):
                self.http.mount(prefix, PublicAddressesOnly())
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Ask the dispatcher to finish the delivery in flight, hand back the rest, and return."""
        self.stopping.set()

    def run(self, once: bool = False) -> None:
        """Expire overdue reservations and deliver due webhooks.

        ``once``: one pass: expire, deliver everything due now (failures are rescheduled, not
        retried in this pass), return; errors propagate.  Otherwise loop until ``stop()``,
        expiring reservations every few seconds and sleeping ``poll_seconds`` when idle; an
        error (a database hiccup) is logged and retried after a growing pause.
        """
        if once:
            expire_due_reservations()
            while not self.stopping.is_set() and self.deliver_due():
                pass
            return

        next_expiry = 0.0
        next_follow_ups = 0.0
        follow_ups_every = float(current_app.config.get("FOLLOW_UPS_EVERY_MINUTES") or 0) * 60
        error_sleep = 0.0
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= next_expiry:
                    expire_due_reservations()
                    next_expiry = time.monotonic() + EXPIRE_RESERVATIONS_EVERY_SECONDS
                if follow_ups_every and time.monotonic() >= next_follow_ups:
                    next_follow_ups = time.monotonic() + follow_ups_every
                    run_follow_ups_quietly(log)  # clienteling's automatic tasks (web.cli_clienteling)
                claimed = self.deliver_due()
                error_sleep = 0.0
            except Exception:
                error_sleep = min(MAX_ERROR_SLEEP_SECONDS, max(error_sleep * 2, self.poll_seconds, 0.05))
                log.exception("outbox round failed; retrying in %.1f s", error_sleep)
                self._roll_back_quietly()
                self._sleep(error_sleep)
                continue
            if claimed < self.batch:
                self._sleep(self.poll_seconds)

    def deliver_due(self) -> int:
        """Claim up to ``batch`` due deliveries, commit the claim, send each, record each outcome.

        Returns how many were claimed.  A delivery is only sent while its lease leaves room for
        a whole attempt; those not sent (lease running short, ``stop()`` called) are made due
        again at once.  Raises what the database raises (the claim then simply ends with its lease).
        """
        try:
            claimed = [self._copy(delivery) for delivery in claim_due_deliveries(self.batch, self.lease_seconds)]
            db.session.commit()
        except Exception:
            self._roll_back_quietly()
            raise
        for index, item in enumerate(claimed):
            if self.stopping.is_set() or clock.now() + self.attempt_budget > item.claimed_until:
                self._hand_back(claimed[index:])
                break
            outcome = send(item, self.timeout, self.http, restricted=self.restricted)
            try:
                delivery = record_delivery_result(item.delivery_id, outcome.ok, outcome.error, claimed_until=item.claimed_until)
                # read before the commit expires them: a read after it would open a transaction
                # that stays open through the next request (on SQLite: the write lock)
                result = (delivery.status, delivery.next_attempt_at) if delivery is not None else None
                db.session.commit()
            except Exception:
                self._roll_back_quietly()
                log.error(
                    "webhook %s %s to %s: outcome not recorded (%s); it will be sent again",
                    item.event_id,
                    item.event_type,
                    _safe_url(item.url),
                    "ok" if outcome.ok else outcome.error,
                )
                raise
            self._log(item, outcome, result)
        return len(claimed)

    def _copy(self, delivery) -> Claimed:
        return Claimed(
            delivery_id=delivery.id,
            claimed_until=delivery.next_attempt_at,
            attempt=delivery.attempts + 1,
            url=delivery.endpoint.url,
            secret=delivery.endpoint.secret,
            event_id=delivery.event.public_id,
            event_type=delivery.event.type,
            body=encode_payload(delivery.event.payload),
        )

    def _hand_back(self, items: list[Claimed]) -> None:
        released = release_claims([(item.delivery_id, item.claimed_until) for item in items])
        db.session.commit()
        log.info("handed back %d claimed webhook delivery(ies) unsent", released)

    def _log(self, item: Claimed, outcome: Outcome, result: tuple[str, datetime] | None) -> None:
        """``result``: the delivery's (status, next attempt) as recorded, None if the claim had lapsed."""
        where = f"{item.event_id} {item.event_type} to {_safe_url(item.url)} (delivery {item.delivery_id}, attempt {item.attempt})"
        took = f"{outcome.seconds * 1000:.0f} ms"
        if result is None:
            log.warning(
                "webhook %s: %s in %s, but the claim had lapsed; outcome left to its new owner",
                where,
                "delivered" if outcome.ok else outcome.error,
                took,
            )
        elif outcome.ok:
            log.info("webhook %s: delivered, HTTP %s in %s", where, outcome.status, took)
        elif result[0] == "dead":
            log.error("webhook %s: %s in %s; dead after %d attempts", where, outcome.error, took, MAX_ATTEMPTS)
        else:
            log.warning("webhook %s: %s in %s; retry at %s", where, outcome.error, took, clock.isoformat(result[1]))

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.1))

    @staticmethod
    def _roll_back_quietly() -> None:
        try:
            db.session.rollback()
        except Exception:
            log.debug("rollback failed", exc_info=True)


def abandon_stale_carts() -> int:
    """Abandon open carts nobody touched for half a day (their holds released), one transaction per cart."""
    total = 0
    for public_id in pos.stale_carts():
        db.session.rollback()
        try:
            if pos.abandon_stale_cart(public_id):
                total += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("could not abandon cart %s", public_id)
    db.session.rollback()
    return total


def expire_due_reservations(batch: int = 200) -> int:
    """Expire overdue holds, one transaction per reservation so one failure stops nothing else; then abandon
    the carts left half-made (``abandon_stale_carts``)."""
    abandon_stale_carts()
    total = 0
    while True:
        due = inventory.due_reservations(limit=batch)
        db.session.rollback()
        if not due:
            return total
        progressed = 0
        for reservation in due:
            try:
                if inventory.expire_reservation(reservation):
                    total += 1
                    progressed += 1
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("could not expire reservation %s", reservation.public_id)
        if progressed == 0:
            return total


def run_dispatcher(once: bool, batch: int, poll_seconds: float) -> None:
    """Run the outbox dispatcher in the current app context (``flask --app web outbox run``).

    SIGTERM or SIGINT lets the delivery in flight finish and be recorded, hands the other claimed
    deliveries back, and returns; a second signal acts as if no handler were installed.  Handlers
    are installed only from the main thread and restored on return.  See ``Dispatcher.run`` for
    ``once``; delivery is at least once (receivers deduplicate on the event id).
    """
    dispatcher = Dispatcher(batch=batch, poll_seconds=poll_seconds)
    previous = {}

    def on_signal(signum, frame):
        log.info("%s: finishing the delivery in flight, then stopping (again to stop at once)", signal.Signals(signum).name)
        dispatcher.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)

    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            previous[number] = signal.signal(number, on_signal)
    log.info(
        "outbox dispatcher started (batch %d, timeout %g s, lease %d s%s)",
        dispatcher.batch,
        dispatcher.timeout,
        dispatcher.lease_seconds,
        ", once" if once else "",
    )
    try:
        dispatcher.run(once=once)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        dispatcher.http.close()
    log.info("outbox dispatcher stopped")
