#!/usr/bin/env python3
"""A tiny Shelfside webhook receiver: verifies ``Shelfside-Signature`` and prints each event.

Standard library only, so it runs anywhere Python 3.10+ does:

    python examples/webhook_receiver.py --port 9000 --secret whsec_...

Register it first (the answer's ``secret`` is shown once)::

    curl -X POST http://localhost:8000/api/v1/webhook-endpoints \\
      -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
      -d '{"url": "http://localhost:9000/", "events": ["*"]}'

It answers 200 to a correctly signed, fresh request and 400 otherwise (bad or old signature,
body not JSON), so Shelfside retries only what it should.  Delivery is at least once: the same
event can arrive twice, so this receiver skips event ids it has already seen (in memory; a real
one would keep them in its database, in the transaction that acts on the event).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock


def verify(secret: str, body: bytes, header: str | None, tolerance: int = 300, now: float | None = None) -> bool:
    """True when ``header`` (``t=<unix>,v1=<hex>``) signs ``body`` with ``secret`` and is at most
    ``tolerance`` seconds old (or early).  The same check as ``web.webhooks.verify``."""
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
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def make_handler(secret: str, tolerance: int):
    seen: set[str] = set()
    seen_lock = Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "ShelfsideReceiver/1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not verify(secret, body, self.headers.get("Shelfside-Signature"), tolerance):
                print(f"rejected: bad or stale signature from {self.client_address[0]}", file=sys.stderr, flush=True)
                return self._answer(400, {"error": "invalid signature"})
            try:
                event = json.loads(body)
            except ValueError:
                return self._answer(400, {"error": "body is not JSON"})
            with seen_lock:
                duplicate = event.get("id") in seen
                seen.add(event.get("id"))
            if duplicate:
                print(f"{event.get('id')} {event.get('type')} (duplicate, ignored)", flush=True)
            else:
                print(f"{event.get('id')} {event.get('type')} {json.dumps(event.get('data'), ensure_ascii=False)}", flush=True)
            self._answer(200, {"received": event.get("id")})

        def _answer(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print verified Shelfside webhooks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument(
        "--secret", default=os.environ.get("SHELFSIDE_WEBHOOK_SECRET"), help="the endpoint's whsec_... secret (or SHELFSIDE_WEBHOOK_SECRET)"
    )
    parser.add_argument("--tolerance", type=int, default=300, help="seconds a signature stays valid")
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret is required (the secret shown when the endpoint was registered)")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.secret, args.tolerance))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
