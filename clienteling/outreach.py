"""Outreach: an email or SMS to a customer, only with their recorded consent.

``send_message`` checks consent (``email_marketing`` for email, ``sms_marketing`` for SMS) and the
address, renders a template, writes a ``Message`` (queued) and a ``message_sent`` entry on the
timeline in the caller's transaction, and hands the message to the provider only after that
transaction commits (``core.uow.after_commit``): a rolled-back request sends nothing.  The outcome
(sent, or failed with the provider's reason) is then written in a short transaction of its own.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.actor import Actor
from core.db import db
from core.errors import Conflict, NotFound, ValidationError
from core.outbox import new_id
from core.uow import after_commit
from inventory import Location

from . import messaging
from .customers import has_consent, optional_store
from .models import Customer
from .outreach_models import MESSAGE_CHANNELS, Message
from .timeline import record_activity

log = logging.getLogger("shelfside.messages")

CONSENT_FOR_CHANNEL = {"email": "email_marketing", "sms": "sms_marketing"}
PLACEHOLDERS = ("first_name", "store", "product", "associate", "link")
MAX_SUBJECT = 200
MAX_EMAIL_BODY = 5000
MAX_SMS_BODY = 480  # three SMS segments

# key -> what an associate picks; {placeholders} are filled from the customer, the store, the
# associate and the context ({product}, {link})
TEMPLATES = {
    "new_arrivals_in_size": {
        "name": "New arrivals in your size",
        "subject": "New arrivals in your size at {store}",
        "body": "Hi {first_name},\n\nnew pieces just arrived at {store}, and some are in your size. "
        "Drop by and I'll put a few aside for you to try.\n\n{associate}, {store}",
        "sms": "Hi {first_name}, new arrivals in your size at {store}. Want me to set some aside? {associate}",
        "needs": (),
    },
    "wishlist_back_in_stock": {
        "name": "Your wishlist item is back",
        "subject": "{product} is back at {store}",
        "body": "Hi {first_name},\n\ngood news: {product} from your wishlist is back in stock at {store}. "
        "Reply and I'll hold one for you.\n\n{associate}, {store}",
        "sms": "Hi {first_name}, {product} from your wishlist is back at {store}. Shall I hold one? {associate}",
        "needs": ("product",),
    },
    "thank_you_visit": {
        "name": "Thank you for your visit",
        "subject": "Thank you for visiting {store}",
        "body": "Hi {first_name},\n\nthank you for coming in to {store}. If anything doesn't fit just right, "
        "bring it back and we'll sort it out.\n\n{associate}, {store}",
        "sms": "Hi {first_name}, thank you for visiting {store}! {associate}",
        "needs": (),
    },
    "appointment_reminder": {
        "name": "Appointment reminder",
        "subject": "See you soon at {store}",
        "body": "Hi {first_name},\n\na reminder of your appointment at {store}. Let me know if you need another time.\n\n{associate}, {store}",
        "sms": "Hi {first_name}, a reminder of your appointment at {store}. {associate}",
        "needs": (),
    },
    "feedback_request": {
        "name": "How was your visit?",
        "subject": "How was your visit to {store}?",
        "body": "Hi {first_name},\n\nthank you for visiting {store}. Would you tell us how it went? It takes 20 seconds:\n\n{link}\n\n{associate}, {store}",
        "sms": "Hi {first_name}, how was your visit to {store}? Tell us in 20 seconds: {link}",
        "needs": ("link",),
    },
}


class NoConsent(Conflict):
    """The customer has not agreed to messages on this channel, or we have no address for it."""

    code = "no_consent"


def message_templates() -> list[dict]:
    """The templates an associate may pick, with their placeholders filled with ``{...}`` names."""
    return [
        {"key": key, "name": t["name"], "subject": t["subject"], "body": t["body"], "sms": t["sms"], "needs": list(t["needs"])}
        for key, t in TEMPLATES.items()
    ]


_FIELD = re.compile(r"\{(\w+)\}")


def fill(text: str, values: dict) -> str:
    """``text`` with each ``{name}`` of a known placeholder replaced; anything else is left as it is
    (no attribute lookups or format specs: a typed body is never a format string)."""
    return _FIELD.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def first_name(customer: Customer) -> str:
    name = (customer.name or "").strip()
    return name.split()[0] if name else "there"


def _store(code: str | None) -> Location | None:
    return optional_store(code, "store")


def _associate_name(actor: Actor) -> str:
    if actor.kind == "staff" and actor.name:
        return actor.name.split()[0]
    return "The team"


def render_message(
    customer: Customer, channel: str, template_key: str, store: Location | None, actor: Actor, context: dict | None = None
) -> tuple[str, str]:
    """(subject, body) of ``template_key`` for ``customer`` on ``channel``.  Raises ValidationError
    on ``template`` (unknown) or on ``context.<name>`` (a placeholder it needs is missing)."""
    template = TEMPLATES.get(template_key)
    if template is None:
        raise ValidationError(f"no message template {template_key!r}; see GET /message-templates", field="template")
    context = {str(k): str(v)[:300] for k, v in (context or {}).items() if k in PLACEHOLDERS and v not in (None, "")}
    for needed in template["needs"]:
        if needed not in context:
            raise ValidationError(f"the template {template_key} needs a {needed}", field=f"context.{needed}")
    values = {"first_name": first_name(customer), "store": store.name if store else "our store", "associate": _associate_name(actor), **context}
    if channel == "sms":
        return "", fill(template["sms"], values)
    return fill(template["subject"], values), fill(template["body"], values)


def check_consent(customer: Customer, channel: str) -> str:
    """The address to send to on ``channel``; raises NoConsent (409 ``no_consent``) without the
    matching consent or without an address."""
    if channel not in MESSAGE_CHANNELS:
        raise ValidationError("a message goes by email or sms", field="channel")
    purpose = CONSENT_FOR_CHANNEL[channel]
    if not has_consent(customer, purpose):
        raise NoConsent(
            f"{customer.name or 'this customer'} has not agreed to {'emails' if channel == 'email' else 'text messages'} ({purpose})",
            {"channel": channel, "purpose": purpose, "reason": "not_granted"},
        )
    address = customer.email if channel == "email" else customer.phone
    if not address:
        raise NoConsent(
            f"we have no {'email address' if channel == 'email' else 'phone number'} for {customer.name or 'this customer'}",
            {"channel": channel, "purpose": purpose, "reason": "no_address"},
        )
    return address


def send_message(
    customer: Customer,
    channel: str,
    template_key: str,
    actor: Actor,
    store_code: str | None,
    context: dict | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> Message:
    """Queue one message to ``customer`` and send it after the current transaction commits.

    ``subject`` / ``body`` replace the template's text (placeholders are filled the same way).
    Raises NoConsent (409) without consent or address, ValidationError naming the field for an
    unknown channel, template or store, a missing placeholder, or a text too long.  Writes the
    ``Message`` (``queued``) and a ``message_sent`` timeline entry; flushes.  Nothing is sent when
    the transaction rolls back."""
    if not customer.active:
        raise NotFound("no such customer", {"id": customer.public_id})
    address = check_consent(customer, channel)
    store = _store(store_code)
    subject_text, body_text = render_message(customer, channel, template_key, store, actor, context)
    values = {
        "first_name": first_name(customer),
        "store": store.name if store else "our store",
        "associate": _associate_name(actor),
        **(context or {}),
    }
    if subject is not None and channel == "email":
        subject_text = fill(subject.strip(), values)
    if body is not None:
        body_text = fill(body.strip(), values)
    if channel == "email" and not subject_text:
        raise ValidationError("an email needs a subject", field="subject")
    if len(subject_text) > MAX_SUBJECT or "\n" in subject_text or "\r" in subject_text:
        raise ValidationError(f"a subject is one line of at most {MAX_SUBJECT} characters", field="subject")
    if not body_text:
        raise ValidationError("a message needs some text", field="body")
    limit = MAX_SMS_BODY if channel == "sms" else MAX_EMAIL_BODY
    if len(body_text) > limit:
        raise ValidationError(f"an {'SMS' if channel == 'sms' else 'email'} has at most {limit} characters", field="body")
    message = Message(
        public_id=new_id("msg"),
        customer_id=customer.id,
        channel=channel,
        template=template_key,
        to_address=address,
        subject=subject_text,
        body=body_text,
        status="queued",
        store_id=store.id if store else None,
        **actor.columns(),
    )
    db.session.add(message)
    db.session.flush()
    record_activity(
        customer,
        "message_sent",
        channel=channel,
        actor=actor,
        store_id=store.id if store else None,
        staff_id=actor.id if actor.kind == "staff" else None,
        data={"message_id": message.public_id, "channel": channel, "template": template_key, "subject": subject_text},
    )
    after_commit(deliver, message.id, channel, address, subject_text, body_text)
    return message


def deliver(message_id: int, channel: str, to: str, subject: str, body: str) -> str:
    """Hand one committed message to the provider and record the outcome in a transaction of its
    own (the caller's has ended).  Answers the new status; never raises for a provider failure."""
    provider = messaging.provider()
    status, error, provider_id = "sent", None, None
    try:
        provider_id = provider.send_email(to, subject, body) if channel == "email" else provider.send_sms(to, body)
    except messaging.ProviderError as exc:
        status, error = "failed", str(exc)[:500]
        log.warning("message %s (%s) not sent: %s", message_id, channel, error)
    except Exception as exc:  # a bug in a provider must not leave the message queued for ever
        status, error = "failed", f"{exc.__class__.__name__}: {exc}"[:500]
        log.exception("message %s (%s): the provider failed", message_id, channel)
    with Session(db.engine) as session, session.begin():
        session.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "queued")
            .values(status=status, error=error, provider_id=provider_id, sent_at=clock.now() if status == "sent" else None)
        )
    return status


def messages_for(customer: Customer, limit: int = 50) -> list[Message]:
    """The customer's messages, newest first."""
    return list(db.session.scalars(select(Message).where(Message.customer_id == customer.id).order_by(Message.id.desc()).limit(limit)))


def find_message(public_id: str) -> Message:
    message = db.session.scalar(select(Message).where(Message.public_id == public_id))
    if message is None:
        raise NotFound(f"no message {public_id}", {"id": public_id})
    return message
