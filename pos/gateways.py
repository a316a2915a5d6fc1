"""Payment gateways behind one interface: a card-present payment on a reader, a pay-by-QR payment on a hosted
page, capture, cancel, refund, and reading a gateway's signed webhook.

Two implementations, chosen by configuration (``configure_gateway``, from ``PAYMENT_GATEWAY``):

* ``DevelopmentGateway`` — the embedded default, no account anywhere: a simulated reader per register and a
  simulated hosted page (``/pay/<token>``, served by the web layer).  Tests and the demo choose the outcome:
  ``simulate(payment, "approve" | "decline")`` answers the ``GatewayEvent`` a real gateway would send.
* ``StripeGateway`` — the official ``stripe`` SDK: a ``card_present`` PaymentIntent with manual capture, handed to
  the reader with ``terminal.Reader.process_payment_intent`` (the server-driven Terminal flow); a Checkout Session
  whose ``url`` the QR code encodes; webhooks verified with ``stripe.Webhook.construct_event``.

Every call that changes something at the gateway takes an ``idempotency_key`` that the caller derives from our
own ids (``pos.payments`` does), so a retried checkout, capture or refund is one at the gateway.  Nothing a gateway
answers is stored but its ids and the card's brand and last 4 digits.

(The shape follows pypi/warehouse ``warehouse/subscriptions/interfaces.py`` and ``services.py``: an interface,
a production service and a development one, picked at start-up.)
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from core.errors import DomainError, ValidationError

GATEWAY_NAMES = ("development", "stripe")

# what a gateway event means for our payment (``GatewayEvent.outcome``)
OUTCOMES = ("authorized", "succeeded", "failed", "cancelled", "refunded", "ignored")


class GatewayError(DomainError):
    """The payment gateway refused the request or could not be reached."""

    code = "gateway_error"


class InvalidSignature(DomainError):
    """The webhook's signature does not verify."""

    code = "invalid_signature"


@dataclass(frozen=True)
class StartedPayment:
    """What the gateway answered when a payment was started: its payment id (a PaymentIntent ``pi_…``), its
    reference (the reader ``tmr_…`` or the Checkout Session ``cs_…``) and, for pay by QR, the page's URL."""

    payment_id: str
    reference: str
    payment_url: str = ""


@dataclass(frozen=True)
class CardDetails:
    brand: str = ""
    last4: str = ""


@dataclass(frozen=True)
class GatewayEvent:
    """A verified gateway event, reduced to what our payments need.  ``payment_id`` (PaymentIntent) or
    ``reference`` (Checkout Session) finds the payment; ``our_payment`` is the ``pay_…`` id we put in the
    metadata; ``created`` is the gateway's unix time; ``refunded_amount`` is the charge's refunded total."""

    id: str
    type: str
    outcome: str
    payment_id: str | None = None
    reference: str | None = None
    our_payment: str | None = None
    card: CardDetails = field(default_factory=CardDetails)
    failure_reason: str = ""
    refunded_amount: int | None = None
    created: int = 0


class PaymentGateway:
    """The interface.  Each method raises ``GatewayError`` when the gateway refuses or is unreachable."""

    name = ""

    def reader_for(self, store: str, register: str) -> str:
        """The reader registered for this store's register; ValidationError (field ``reader``) without one."""
        raise NotImplementedError

    def start_card_payment(
        self, *, amount: int, currency: str, reader: str, description: str, metadata: dict, idempotency_key: str
    ) -> StartedPayment:
        """A card-present payment of ``amount`` on ``reader``, to be captured once authorised."""
        raise NotImplementedError

    def start_qr_payment(
        self, *, amount: int, currency: str, description: str, lines: list[dict], metadata: dict, idempotency_key: str
    ) -> StartedPayment:
        """A hosted payment page for ``amount``; its ``payment_url`` is what the QR code encodes."""
        raise NotImplementedError

    def capture(self, payment_id: str, *, idempotency_key: str) -> CardDetails:
        """Capture an authorised payment; answers the card's brand and last 4."""
        raise NotImplementedError

    def cancel(self, payment_id: str, reference: str, *, idempotency_key: str) -> None:
        """Cancel a payment not yet captured (and release the reader, or expire the page)."""
        raise NotImplementedError

    def refund(self, payment_id: str, amount: int, *, reason: str, idempotency_key: str) -> str:
        """Refund ``amount`` (None: all of it) of a captured payment; answers the refund's id."""
        raise NotImplementedError

    def parse_webhook(self, payload: bytes, signature: str) -> GatewayEvent:
        """Verify and read a webhook; InvalidSignature when it does not verify."""
        raise NotImplementedError


# --- the development gateway ---------------------------------------------------------------------


class DevelopmentGateway(PaymentGateway):
    """No account, no network: ids are made up here, the reader and the hosted page are simulated.  The outcome
    comes from ``simulate`` (the simulate endpoint, the simulated page's Pay / Decline buttons, a test).  The
    page's URL is ``<pay_base_url>/<token>``, the token unguessable (``payment_url`` is then the only key to it)."""

    name = "development"

    def __init__(self, pay_base_url: str = "/pay"):
        self.pay_base_url = pay_base_url.rstrip("/")
        self.refunds: list[dict] = []  # what this process refunded (tests read it)

    def reader_for(self, store: str, register: str) -> str:
        return f"tmr_sim_{store}_{register}"

    def start_card_payment(self, *, amount, currency, reader, description, metadata, idempotency_key) -> StartedPayment:
        return StartedPayment(payment_id="pi_dev_" + secrets.token_hex(12), reference=reader)

    def start_qr_payment(self, *, amount, currency, description, lines, metadata, idempotency_key) -> StartedPayment:
        token = secrets.token_urlsafe(24)
        return StartedPayment(payment_id="pi_dev_" + secrets.token_hex(12), reference="cs_dev_" + token, payment_url=f"{self.pay_base_url}/{token}")

    def capture(self, payment_id, *, idempotency_key) -> CardDetails:
        return CardDetails("visa", "4242")

    def cancel(self, payment_id, reference, *, idempotency_key) -> None:
        return None

    def refund(self, payment_id, amount, *, reason, idempotency_key) -> str:
        for done in self.refunds:
            if done["idempotency_key"] == idempotency_key:
                return done["id"]
        refund = {"id": "re_dev_" + secrets.token_hex(12), "payment_id": payment_id, "amount": amount, "idempotency_key": idempotency_key}
        self.refunds.append(refund)
        return refund["id"]

    def parse_webhook(self, payload, signature) -> GatewayEvent:
        raise InvalidSignature("the development gateway sends no webhooks")

    @staticmethod
    def token_of(reference: str) -> str | None:
        """The page token inside a simulated Checkout Session id."""
        return reference[len("cs_dev_") :] if reference.startswith("cs_dev_") else None

    def simulate(self, payment, outcome: str) -> GatewayEvent:
        """What the reader or the page would report: ``approve`` (a card reader authorises, a QR page is paid)
        or ``decline``.  The event id is fresh: each simulation is one event."""
        if outcome not in ("approve", "decline"):
            raise ValidationError("the outcome is approve or decline", field="outcome")
        if outcome == "decline":
            return GatewayEvent(
                id="evt_dev_" + secrets.token_hex(12),
                type="simulated.declined",
                outcome="failed",
                payment_id=payment.gateway_payment_id,
                failure_reason="the card was declined",
                created=int(time.time()),
            )
        return GatewayEvent(
            id="evt_dev_" + secrets.token_hex(12),
            type="simulated.approved",
            outcome="authorized" if payment.kind == "card" else "succeeded",
            payment_id=payment.gateway_payment_id,
            card=CardDetails("visa", "4242"),
            created=int(time.time()),
        )


# --- Stripe --------------------------------------------------------------------------------------


def _get(obj, name, default=None):
    if obj is None:
        return default
    try:
        value = obj[name]
    except (KeyError, TypeError, IndexError):
        value = getattr(obj, name, default)
    return default if value is None else value


def card_of(payment_intent) -> CardDetails:
    """Brand and last 4 of the card that paid a PaymentIntent (from its expanded ``latest_charge``, or the older
    ``charges`` list), for card-present and online cards alike; empty when not known."""
    charge = _get(payment_intent, "latest_charge")
    if not charge or isinstance(charge, str):
        charges = _get(_get(payment_intent, "charges"), "data") or []
        charge = charges[0] if charges else None
    details = _get(charge, "payment_method_details")
    card = _get(details, "card_present") or _get(details, "card") or _get(details, "interac_present")
    return CardDetails(str(_get(card, "brand", "")), str(_get(card, "last4", "")))


class StripeGateway(PaymentGateway):
    """Stripe through the official SDK (``stripe.StripeClient``).  ``api_base`` points it at localstripe or a
    double in tests.  ``readers`` maps ``"STORE/REGISTER"`` to a Terminal reader id (``STRIPE_READERS``)."""

    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str, api_base: str | None = None, readers: dict | None = None, success_url: str = ""):
        import stripe

        if not secret_key:
            raise ValueError("STRIPE_SECRET_KEY is needed for PAYMENT_GATEWAY=stripe")
        self._stripe = stripe
        options = {"base_addresses": {"api": api_base.rstrip("/")}} if api_base else {}
        self.client = stripe.StripeClient(secret_key, max_network_retries=2, **options)
        self.webhook_secret = webhook_secret
        self.readers = dict(readers or {})
        self.success_url = success_url or "https://shelfside.invalid/paid"

    def _call(self, operation, *args, **kwargs):
        try:
            return operation(*args, **kwargs)
        except self._stripe.StripeError as exc:
            message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
            raise GatewayError(f"Stripe: {message}", {"gateway": "stripe", "type": exc.__class__.__name__}) from exc

    def reader_for(self, store: str, register: str) -> str:
        reader = self.readers.get(f"{store}/{register}")
        if not reader:
            raise ValidationError(f"no card reader is registered for {store} {register} (STRIPE_READERS)", field="reader")
        return reader

    def start_card_payment(self, *, amount, currency, reader, description, metadata, idempotency_key) -> StartedPayment:
        intent = self._call(
            self.client.v1.payment_intents.create,
            params={
                "amount": amount,
                "currency": currency.lower(),
                "payment_method_types": ["card_present"],
                "capture_method": "manual",
                "description": description,
                "metadata": metadata,
            },
            options={"idempotency_key": f"{idempotency_key}:intent"},
        )
        self._call(
            self.client.v1.terminal.readers.process_payment_intent,
            reader,
            params={"payment_intent": intent.id},
            options={"idempotency_key": f"{idempotency_key}:reader"},
        )
        return StartedPayment(payment_id=intent.id, reference=reader)

    def start_qr_payment(self, *, amount, currency, description, lines, metadata, idempotency_key) -> StartedPayment:
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params={
                "mode": "payment",
                "line_items": [
                    {"quantity": 1, "price_data": {"currency": currency.lower(), "unit_amount": amount, "product_data": {"name": description}}}
                ],
                "payment_intent_data": {"metadata": metadata, "description": description},
                "metadata": metadata,
                "success_url": self.success_url,
            },
            options={"idempotency_key": f"{idempotency_key}:session"},
        )
        return StartedPayment(payment_id=_get(session, "payment_intent") or "", reference=session.id, payment_url=session.url)

    def capture(self, payment_id, *, idempotency_key) -> CardDetails:
        intent = self._call(self.client.v1.payment_intents.capture, payment_id, options={"idempotency_key": idempotency_key})
        card = card_of(intent)
        if not card.last4:  # the capture answer does not carry the charge's details everywhere
            card = self.card_details(payment_id)
        return card

    def card_details(self, payment_id: str) -> CardDetails:
        """Brand and last 4 of the card that paid: from the charge's ``payment_method_details``, else from the
        PaymentMethod itself."""
        intent = self._call(self.client.v1.payment_intents.retrieve, payment_id, params={"expand": ["latest_charge"]})
        card = card_of(intent)
        method = _get(intent, "payment_method") or _get(_get(intent, "latest_charge"), "payment_method")
        if card.last4 or not method:
            return card
        if isinstance(method, str):
            method = self._call(self.client.v1.payment_methods.retrieve, method)
        found = _get(method, "card_present") or _get(method, "card")
        return CardDetails(str(_get(found, "brand", "")), str(_get(found, "last4", "")))

    def cancel(self, payment_id, reference, *, idempotency_key) -> None:
        if reference.startswith("cs_"):
            self._call(self.client.v1.checkout.sessions.expire, reference, options={"idempotency_key": f"{idempotency_key}:session"})
            return
        if reference.startswith("tmr_"):
            try:
                self.client.v1.terminal.readers.cancel_action(reference, options={"idempotency_key": f"{idempotency_key}:reader"})
            except self._stripe.StripeError:
                pass  # the reader has moved on already: cancelling the intent is what counts
        if payment_id:
            self._call(self.client.v1.payment_intents.cancel, payment_id, options={"idempotency_key": f"{idempotency_key}:intent"})

    def refund(self, payment_id, amount, *, reason, idempotency_key) -> str:
        refund = self._call(
            self.client.v1.refunds.create,
            params={"payment_intent": payment_id, "metadata": {"reason": reason[:400]}, **({} if amount is None else {"amount": amount})},
            options={"idempotency_key": idempotency_key},
        )
        return refund.id

    def parse_webhook(self, payload: bytes, signature: str) -> GatewayEvent:
        if not self.webhook_secret:
            raise InvalidSignature("STRIPE_WEBHOOK_SECRET is not set: no webhook can be verified")
        try:
            event = self._stripe.Webhook.construct_event(payload, signature or "", self.webhook_secret)
        except (ValueError, self._stripe.SignatureVerificationError) as exc:
            raise InvalidSignature(f"the Stripe signature does not verify: {exc}") from exc
        return self.read_event(event)

    def read_event(self, event) -> GatewayEvent:
        """A Stripe event as a ``GatewayEvent`` (types we do not act on are ``ignored``)."""
        kind = event["type"]
        obj = event["data"]["object"]
        metadata = _get(obj, "metadata") or {}
        common = {"id": event["id"], "type": kind, "created": int(_get(event, "created", 0)), "our_payment": _get(metadata, "shelfside_payment")}
        if kind.startswith("payment_intent."):
            outcome = {
                "payment_intent.amount_capturable_updated": "authorized",
                "payment_intent.succeeded": "succeeded",
                "payment_intent.payment_failed": "failed",
                "payment_intent.canceled": "cancelled",
            }.get(kind, "ignored")
            error = _get(obj, "last_payment_error")
            return GatewayEvent(
                **common, outcome=outcome, payment_id=obj["id"], card=card_of(obj), failure_reason=str(_get(error, "message", "") or "")
            )
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            paid = _get(obj, "payment_status") == "paid"
            return GatewayEvent(**common, outcome="succeeded" if paid else "ignored", payment_id=_get(obj, "payment_intent"), reference=obj["id"])
        if kind in ("checkout.session.expired", "checkout.session.async_payment_failed"):
            reason = "the QR payment page expired" if kind.endswith("expired") else "the payment failed"
            return GatewayEvent(**common, outcome="failed", payment_id=_get(obj, "payment_intent"), reference=obj["id"], failure_reason=reason)
        if kind == "charge.refunded":
            return GatewayEvent(
                **common, outcome="refunded", payment_id=_get(obj, "payment_intent"), refunded_amount=int(_get(obj, "amount_refunded", 0))
            )
        if kind in ("terminal.reader.action_failed",):
            action = _get(obj, "action") or {}
            intent = _get(_get(action, "process_payment_intent"), "payment_intent")
            return GatewayEvent(
                **common, outcome="failed", payment_id=intent, failure_reason=str(_get(action, "failure_message", "the reader failed"))
            )
        return GatewayEvent(**common, outcome="ignored")


def build_gateway(config) -> PaymentGateway:
    """The gateway ``config`` asks for (``PAYMENT_GATEWAY``: development | stripe, with its ``STRIPE_*`` keys)."""
    name = config.get("PAYMENT_GATEWAY") or "development"
    if name == "development":
        return DevelopmentGateway(config.get("PAY_PAGE_BASE_URL") or "/pay")
    if name == "stripe":
        return StripeGateway(
            config.get("STRIPE_SECRET_KEY") or "",
            config.get("STRIPE_WEBHOOK_SECRET") or "",
            api_base=config.get("STRIPE_API_BASE"),
            readers=parse_readers(config.get("STRIPE_READERS") or ""),
            success_url=config.get("STRIPE_SUCCESS_URL") or "",
        )
    raise ValueError(f"PAYMENT_GATEWAY is one of {', '.join(GATEWAY_NAMES)}, not {name!r}")


def parse_readers(text: str) -> dict:
    """``"BER-MITTE/T1=tmr_abc,BER-MITTE/T2=tmr_def"`` as a mapping."""
    readers = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        where, _, reader = item.partition("=")
        if where.strip() and reader.strip():
            readers[where.strip()] = reader.strip()
    return readers
