"""Feedback after a sale or an appointment: a single-use link, and the answer (CSAT, NPS, comment).

``request_feedback`` makes the link: an unguessable token (``secrets.token_urlsafe(24)``, 192
bits) of which only the SHA-256 is stored, so a copy of the database opens no link.  The customer
answers on a public page (``web.feedback``); ``give_feedback`` records the answer once: the
request is claimed with one conditional UPDATE (``answered_at IS NULL``), so of two submissions at
once, one wins and the other is told it was already answered.

Sending the link by email goes through ``send_message`` and so needs ``email_marketing``
consent: a feedback request is arguably a service message, but we treat it like any other email
we choose to send.  Showing the QR code in the store needs no consent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from accounts import Staff
from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.errors import Conflict, NotFound, ValidationError
from core.outbox import new_id
from inventory import Location

from .models import Customer
from .outreach import send_message
from .outreach_models import FEEDBACK_CHANNELS, Feedback, FeedbackRequest, Message
from .timeline import record_activity

LINK_DAYS = 30
MAX_COMMENT = 2000


class AlreadyAnswered(Conflict):
    """This feedback link was already used."""

    code = "already_answered"


class LinkExpired(Conflict):
    """This feedback link has expired."""

    code = "link_expired"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_feedback(
    customer: Customer,
    actor: Actor,
    store_code: str | None,
    associate_id: int | None = None,
    appointment_id: str | None = None,
    channel: str = "store",
) -> tuple[FeedbackRequest, str]:
    """A new feedback link for ``customer`` about a visit to ``store_code`` with ``associate_id``
    (default: the staff member asking).  Answers the request and its token (shown once: only its
    hash is kept).  Raises ValidationError naming the field for an unknown store or associate or
    channel.  Flushes."""
    if channel not in FEEDBACK_CHANNELS:
        raise ValidationError(f"a feedback channel is one of {', '.join(FEEDBACK_CHANNELS)}", field="channel")
    if not customer.active:
        raise NotFound("no such customer", {"id": customer.public_id})
    store = None
    if store_code:
        store = db.session.scalar(select(Location).where(Location.code == store_code, Location.kind == "store"))
        if store is None:
            raise ValidationError(f"no store {store_code}", field="store")
    if associate_id is None and actor.kind == "staff":
        associate_id = actor.id
    if associate_id is not None and db.session.get(Staff, associate_id) is None:
        raise ValidationError(f"no staff member {associate_id}", field="associate_id")
    if appointment_id is not None and (not isinstance(appointment_id, str) or not 0 < len(appointment_id) <= 40):
        raise ValidationError("an appointment id has 1 to 40 characters", field="appointment_id")
    token = secrets.token_urlsafe(24)
    now = clock.now()
    request = FeedbackRequest(
        public_id=new_id("fbr"),
        token_hash=hash_token(token),
        customer_id=customer.id,
        store_id=store.id if store else None,
        associate_id=associate_id,
        appointment_id=appointment_id,
        channel=channel,
        created_at=now,
        expires_at=now + timedelta(days=LINK_DAYS),
        **actor.columns(),
    )
    db.session.add(request)
    db.session.flush()
    return request, token


def find_feedback_request(token: str) -> FeedbackRequest:
    """The request behind a link's token; NotFound for a token that was never issued."""
    if not token or len(token) > 100:
        raise NotFound("no such feedback link")
    request = db.session.scalar(select(FeedbackRequest).where(FeedbackRequest.token_hash == hash_token(token)))
    if request is None or request.customer is None or request.customer.erased_at is not None:
        raise NotFound("no such feedback link")
    return request


def link_state(request: FeedbackRequest) -> str:
    """``open``, ``answered`` or ``expired``."""
    if request.answered_at is not None:
        return "answered"
    if request.expires_at <= clock.now():
        return "expired"
    return "open"


def _score(value, low: int, high: int, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"choose a number from {low} to {high}", field=field)
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 2 and low <= int(text) <= high):
        raise ValidationError(f"choose a number from {low} to {high}", field=field)
    return int(text)


def check_answers(csat=None, nps=None, comment=None) -> tuple[int | None, int | None, str]:
    """The answers, checked: CSAT 1–5, NPS 0–10 (at least one of them), a comment of at most 2,000
    characters (plain text).  Raises ValidationError with every bad field in ``details``."""
    errors: dict[str, list[str]] = {}
    values = {}
    for field, low, high, value in (("csat", 1, 5, csat), ("nps", 0, 10, nps)):
        try:
            values[field] = _score(value, low, high, field)
        except ValidationError as exc:
            errors[field] = [exc.message]
    text = (comment or "").strip() if isinstance(comment, str) or comment is None else None
    if text is None:
        errors["comment"] = ["a comment is text"]
    elif len(text) > MAX_COMMENT:
        errors["comment"] = [f"a comment has at most {MAX_COMMENT} characters"]
    if not errors and values["csat"] is None and values["nps"] is None:
        errors["csat"] = ["choose how satisfied you are (1 to 5), or how likely you are to recommend us (0 to 10)"]
    if errors:
        raise ValidationError("invalid input: " + ", ".join(errors), errors)
    return values["csat"], values["nps"], text


def give_feedback(token: str, csat=None, nps=None, comment=None) -> Feedback:
    """Record the answer to the link ``token``, once.  Raises NotFound (unknown link), LinkExpired,
    AlreadyAnswered (also when a concurrent submission won), ValidationError naming each bad field
    (nothing is recorded).  Writes the Feedback and a ``feedback_given`` timeline entry; flushes."""
    request = find_feedback_request(token)
    csat, nps, text = check_answers(csat, nps, comment)
    state = link_state(request)
    if state == "answered":
        raise AlreadyAnswered("this feedback was already given: thank you!")
    if state == "expired":
        raise LinkExpired("this feedback link has expired")
    now = clock.now()
    claimed = db.session.execute(
        update(FeedbackRequest).where(FeedbackRequest.id == request.id, FeedbackRequest.answered_at.is_(None)).values(answered_at=now)
    ).rowcount
    if claimed != 1:
        raise AlreadyAnswered("this feedback was already given: thank you!")
    feedback = Feedback(
        request_id=request.id,
        customer_id=request.customer_id,
        csat=csat,
        nps=nps,
        comment=text,
        associate_id=request.associate_id,
        store_id=request.store_id,
        channel=request.channel,
        appointment_id=request.appointment_id,
        created_at=now,
    )
    db.session.add(feedback)
    db.session.flush()
    data = {
        key: value
        for key, value in (("csat", csat), ("nps", nps), ("comment", text or None), ("appointment_id", request.appointment_id))
        if value is not None
    }
    record_activity(
        request.customer,
        "feedback_given",
        channel=request.channel,
        actor=Actor("customer", request.customer_id),
        occurred_at=now,
        store_id=request.store_id,
        staff_id=request.associate_id,
        data=data,
    )
    db.session.expire(request)
    return feedback


def send_feedback_link(request: FeedbackRequest, url: str, actor: Actor = SYSTEM, channel: str = "email") -> Message:
    """Send the feedback link ``url`` to the customer (template ``feedback_request``) by email or
    SMS: needs the matching marketing consent (raises NoConsent otherwise)."""
    store = request.store.code if request.store else None
    return send_message(request.customer, channel, "feedback_request", actor, store, context={"link": url})


def feedback_for(customer: Customer | None = None, store_id: int | None = None, associate_id: int | None = None, limit: int = 100) -> list[Feedback]:
    """Answers, newest first, of one customer, store or associate."""
    query = select(Feedback).order_by(Feedback.id.desc()).limit(limit)
    if customer is not None:
        query = query.where(Feedback.customer_id == customer.id)
    if store_id is not None:
        query = query.where(Feedback.store_id == store_id)
    if associate_id is not None:
        query = query.where(Feedback.associate_id == associate_id)
    return list(db.session.scalars(query))
