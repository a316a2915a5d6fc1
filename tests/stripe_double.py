"""A small HTTP double of the Stripe API parts localstripe lacks: Terminal (``terminal.reader``
``process_payment_intent``, ``cancel_action``) and Checkout Sessions (``create`` with its ``url``, ``expire``), plus
the PaymentIntents and Refunds those flows touch.  It follows Stripe's documented object shapes
(https://docs.stripe.com/api/terminal/readers/process_payment_intent, /api/checkout/sessions/object,
/api/payment_intents/object) as far as Shelfside reads them, and Stripe's idempotency rule: the same
``Idempotency-Key`` with the same parameters answers the first object; with other parameters, 400
``idempotency_error``.

Served by werkzeug on 127.0.0.1 (a free port) from a test fixture; the test plays the customer
(``present_card``, ``pay_session``) and gets the events Stripe would send, signed (``signed``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(8)}"


def _nested(form) -> dict:
    """Stripe's form encoding (``metadata[a]=1``, ``payment_method_types[0]=card_present``) as nested data."""
    data: dict = {}
    for key, value in form.items(multi=True):
        parts = re.findall(r"[^\[\]]+", key)
        target = data
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return data


def _listify(value):
    if isinstance(value, dict) and value and all(k.isdigit() for k in value):
        return [_listify(value[k]) for k in sorted(value, key=int)]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


class StripeDouble:
    def __init__(self, webhook_secret: str = "whsec_double"):
        self.webhook_secret = webhook_secret
        self.intents: dict[str, dict] = {}
        self.readers: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotency: dict[str, tuple[str, dict]] = {}  # key -> (request fingerprint, answer)
        self.requests: list[dict] = []  # every request: method, path, params, idempotency key
        self._server = None

    # --- serving ---

    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def _app(self, environ, start_response):
        request = Request(environ)
        params = _listify(_nested(request.form)) if request.method == "POST" else _listify(_nested(request.args))
        key = request.headers.get("Idempotency-Key")
        self.requests.append({"method": request.method, "path": request.path, "params": params, "idempotency_key": key})
        if request.headers.get("Authorization", "") != "Bearer sk_test_double":
            return self._error(401, "invalid_request_error", "Invalid API Key provided")(environ, start_response)
        fingerprint = json.dumps([request.method, request.path, params], sort_keys=True)
        if key and request.method == "POST" and key in self.idempotency:
            seen, answer = self.idempotency[key]
            if seen != fingerprint:
                return self._error(400, "idempotency_error", "Keys for idempotent requests can only be used with the same parameters")(
                    environ, start_response
                )
            return self._json(answer)(environ, start_response)
        try:
            status, answer = self._route(request.method, request.path, params)
        except LookupError as missing:
            return self._error(404, "invalid_request_error", f"No such object: {missing}")(environ, start_response)
        if key and request.method == "POST" and status == 200:
            self.idempotency[key] = (fingerprint, answer)
        return self._json(answer, status)(environ, start_response)

    @staticmethod
    def _json(data, status=200):
        return Response(json.dumps(data), status=status, mimetype="application/json")

    def _error(self, status, kind, message):
        return self._json({"error": {"type": kind, "message": message}}, status)

    def _route(self, method, path, params):
        if method == "POST" and path == "/v1/payment_intents":
            return 200, self._create_intent(params)
        match = re.fullmatch(r"/v1/payment_intents/([^/]+)(/capture|/cancel)?", path)
        if match:
            if match[1] not in self.intents:
                raise LookupError(match[1])
            intent = self.intents[match[1]]
            if match[2] == "/capture":
                if intent["status"] != "requires_capture":
                    return 400, {"error": {"type": "invalid_request_error", "code": "payment_intent_unexpected_state", "message": "not capturable"}}
                intent["status"] = "succeeded"
                intent["amount_received"] = intent["amount"]
            elif match[2] == "/cancel":
                intent["status"] = "canceled"
            return 200, intent
        match = re.fullmatch(r"/v1/terminal/readers/([^/]+)/(process_payment_intent|cancel_action)", path)
        if match:
            reader = self.readers.setdefault(
                match[1], {"id": match[1], "object": "terminal.reader", "device_type": "bbpos_wisepos_e", "action": None}
            )
            if match[2] == "process_payment_intent":
                if params["payment_intent"] not in self.intents:
                    raise LookupError(params["payment_intent"])
                reader["action"] = {
                    "type": "process_payment_intent",
                    "status": "in_progress",
                    "process_payment_intent": {"payment_intent": params["payment_intent"]},
                }
            else:
                reader["action"] = None
            return 200, reader
        if method == "POST" and path == "/v1/checkout/sessions":
            session_id = _id("cs")
            total = sum(int(item["price_data"]["unit_amount"]) * int(item["quantity"]) for item in params["line_items"])
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": params["mode"],
                "status": "open",
                "payment_status": "unpaid",
                "amount_total": total,
                "currency": params["line_items"][0]["price_data"]["currency"],
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                "payment_intent": None,  # Stripe makes it when the customer pays
                "metadata": params.get("metadata", {}),
                "payment_intent_data": params.get("payment_intent_data", {}),
                "success_url": params.get("success_url"),
            }
            self.sessions[session_id] = session
            return 200, session
        match = re.fullmatch(r"/v1/checkout/sessions/([^/]+)/expire", path)
        if match:
            session = self.sessions[match[1]]
            session["status"] = "expired"
            return 200, session
        if method == "POST" and path == "/v1/refunds":
            intent = self.intents[params["payment_intent"]]
            left = intent["amount_received"] - intent["amount_refunded"]
            amount = int(params.get("amount", left))
            if amount > left:
                return 400, {"error": {"type": "invalid_request_error", "code": "charge_already_refunded", "message": "too much"}}
            intent["amount_refunded"] += amount
            refund = {"id": _id("re"), "object": "refund", "amount": amount, "payment_intent": intent["id"], "status": "succeeded"}
            self.refunds[refund["id"]] = refund
            return 200, refund
        raise LookupError(path)

    def _create_intent(self, params) -> dict:
        intent = {
            "id": _id("pi"),
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "amount_refunded": 0,
            "currency": params["currency"],
            "capture_method": params.get("capture_method", "automatic"),
            "payment_method_types": params.get("payment_method_types", ["card"]),
            "status": "requires_payment_method",
            "metadata": params.get("metadata", {}),
            "description": params.get("description"),
            "latest_charge": None,
            "last_payment_error": None,
        }
        self.intents[intent["id"]] = intent
        return intent

    # --- the customer, and what Stripe would send ---

    def present_card(self, intent_id: str, brand: str = "mastercard", last4: str = "4444", decline: bool = False) -> dict:
        """The customer taps a card on the reader: the intent is authorised (``requires_capture``) or declined."""
        intent = self.intents[intent_id]
        if decline:
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
            return self.event("payment_intent.payment_failed", intent)
        intent["status"] = "requires_capture"
        intent["latest_charge"] = {
            "id": _id("ch"),
            "object": "charge",
            "payment_method_details": {"type": "card_present", "card_present": {"brand": brand, "last4": last4}},
        }
        return self.event("payment_intent.amount_capturable_updated", intent)

    def pay_session(self, session_id: str, brand: str = "visa", last4: str = "1881") -> dict:
        """The customer pays on the hosted page: a PaymentIntent is made and the session completes."""
        session = self.sessions[session_id]
        intent = self._create_intent({"amount": session["amount_total"], "currency": session["currency"], "metadata": session["metadata"]})
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent["latest_charge"] = {
            "id": _id("ch"),
            "object": "charge",
            "payment_method_details": {"type": "card", "card": {"brand": brand, "last4": last4}},
        }
        session.update(status="complete", payment_status="paid", payment_intent=intent["id"])
        return self.event("checkout.session.completed", session)

    def expire_session(self, session_id: str) -> dict:
        session = self.sessions[session_id]
        session["status"] = "expired"
        return self.event("checkout.session.expired", session)

    def event(self, kind: str, obj: dict, created: int | None = None) -> dict:
        return {
            "id": _id("evt"),
            "object": "event",
            "type": kind,
            "created": int(time.time()) if created is None else created,
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "api_version": "2024-06-20",
        }

    def signed(self, event: dict, secret: str | None = None) -> tuple[bytes, str]:
        """The body and the ``Stripe-Signature`` header Stripe sends (``t=<unix>,v1=<HMAC-SHA256 of "t.body">``)."""
        payload = json.dumps(event).encode()
        stamp = int(time.time())
        signature = hmac.new((secret or self.webhook_secret).encode(), b"%d.%s" % (stamp, payload), hashlib.sha256).hexdigest()
        return payload, f"t={stamp},v1={signature}"
