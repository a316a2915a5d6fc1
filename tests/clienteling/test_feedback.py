"""Feedback: a single-use unguessable link, answers checked field by field, the public page, its QR code."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import clienteling
from clienteling import AlreadyAnswered, Feedback, FeedbackRequest, LinkExpired
from clienteling.feedback import hash_token
from core import clock, db
from core.errors import NotFound, ValidationError
from tests.concurrency import race

from .outreach_world import log_provider, make_customer, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)


def feedback_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Feedback))


@pytest.fixture
def link(world, make_customer):
    """A committed feedback link of Zoë's visit to Berlin Mitte with Ana: (request, token)."""
    customer = make_customer()
    request, token = clienteling.request_feedback(customer, world["ana"].actor, "BER-MITTE", appointment_id="apt_7f3a")
    db.session.commit()
    return request, token


def test_the_link_token_is_unguessable_and_only_its_hash_is_stored(link, world):
    request, token = link
    assert len(token) >= 32 and token not in (request.token_hash, request.public_id)
    assert request.token_hash == hash_token(token)
    assert (request.associate_id, request.store.code, request.channel) == (world["ana"].id, "BER-MITTE", "store")
    stored = db.session.execute(select(FeedbackRequest.__table__)).mappings().one()
    assert token not in [str(value) for value in stored.values()]
    assert clienteling.find_feedback_request(token).id == request.id
    with pytest.raises(NotFound):
        clienteling.find_feedback_request(token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_an_answer_is_recorded_once_with_the_associate_store_channel_and_on_the_timeline(link, world):
    request, token = link
    feedback = clienteling.give_feedback(token, csat="5", nps="9", comment="  Ana found the right size <b>fast</b>  ")
    db.session.commit()
    assert (feedback.csat, feedback.nps, feedback.comment) == (5, 9, "Ana found the right size <b>fast</b>"), "plain text, kept as typed"
    assert (feedback.associate_id, feedback.store_id, feedback.channel, feedback.appointment_id) == (
        world["ana"].id,
        request.store_id,
        "store",
        "apt_7f3a",
    )
    [entry], _ = clienteling.timeline_page(request.customer, type="feedback_given")
    assert entry.channel == "store" and entry.staff_id == world["ana"].id and entry.actor_kind == "customer"
    assert entry.data == {"csat": 5, "nps": 9, "comment": "Ana found the right size <b>fast</b>", "appointment_id": "apt_7f3a"}
    with pytest.raises(AlreadyAnswered):
        clienteling.give_feedback(token, csat=1)
    db.session.rollback()
    assert feedback_count() == 1


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        ({"csat": "6"}, {"csat"}),
        ({"csat": "0"}, {"csat"}),
        ({"nps": "11"}, {"nps"}),
        ({"nps": "-1"}, {"nps"}),
        ({"csat": "4.5"}, {"csat"}),
        ({"csat": "five", "nps": "١"}, {"csat", "nps"}),  # an Arabic-Indic digit is not accepted as 1
        ({"csat": True}, {"csat"}),
        ({}, {"csat"}),  # no score at all
        ({"csat": "3", "comment": "x" * 2001}, {"comment"}),
    ],
)
def test_bad_answers_name_each_field_and_record_nothing(link, answers, fields):
    _, token = link
    with pytest.raises(ValidationError) as refused:
        clienteling.give_feedback(token, **answers)
    assert set(refused.value.details) == fields
    db.session.rollback()
    assert feedback_count() == 0
    assert clienteling.link_state(clienteling.find_feedback_request(token)) == "open", "the link still works"


def test_nps_alone_and_zero_are_answers(link):
    _, token = link
    feedback = clienteling.give_feedback(token, nps=0)
    assert (feedback.csat, feedback.nps) == (None, 0)


def test_an_expired_link_takes_no_answer(link, monkeypatch):
    _, token = link
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(LinkExpired):
        clienteling.give_feedback(token, csat=4)


def test_two_submissions_at_once_record_one_answer(app, row_locks, link):
    _, token = link
    db.session.remove()
    outcomes = race(app, [lambda: clienteling.give_feedback(token, csat=5).id, lambda: clienteling.give_feedback(token, csat=1).id])
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
    assert "already_answered" in next(o.value for o in outcomes if o.kind == "refused")
    assert feedback_count() == 1


def test_emailing_the_link_needs_email_marketing_consent(world, make_customer, log_provider):
    customer = make_customer("Ben Ortiz", email="ben@example.com", phone=None)
    request, token = clienteling.request_feedback(customer, world["ana"].actor, "BER-MITTE", channel="email")
    with pytest.raises(clienteling.NoConsent):
        clienteling.send_feedback_link(request, f"https://shop.example/feedback/{token}", world["ana"].actor)
    clienteling.record_consent(customer, "email_marketing", True, "store", world["ana"].actor)
    message = clienteling.send_feedback_link(request, f"https://shop.example/feedback/{token}", world["ana"].actor)
    db.session.commit()
    assert message.template == "feedback_request" and f"https://shop.example/feedback/{token}" in message.body
    assert log_provider.sent[0]["subject"] == "How was your visit to Berlin Mitte?"


# --- the public page --------------------------------------------------------------------------------


def test_the_page_shows_the_form_then_thanks_then_already_answered(client, link):
    _, token = link
    page = client.get(f"/feedback/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How was your visit to Berlin Mitte?" in html and 'name="csat"' in html and 'name="nps"' in html
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    answered = client.post(f"/feedback/{token}", data={"csat": "4", "nps": "8", "comment": "Lovely"})
    assert answered.status_code == 303 and answered.headers["Location"].endswith(f"/feedback/{token}?thanks=1")
    thanks = client.get(answered.headers["Location"])
    assert "Thank you!" in thanks.get_data(as_text=True)
    again = client.post(f"/feedback/{token}", data={"csat": "1"})
    assert again.status_code == 409 and "already answered" in again.get_data(as_text=True)
    assert "already answered" in client.get(f"/feedback/{token}").get_data(as_text=True)
    assert feedback_count() == 1 and db.session.scalar(select(Feedback.csat)) == 4


def test_bad_values_show_the_form_again_naming_the_field_and_escaping_the_comment(client, link):
    _, token = link
    page = client.post(f"/feedback/{token}", data={"csat": "9", "nps": "", "comment": "<script>alert(1)</script>"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "How happy you were</a>: choose a number from 1 to 5" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in html and "<script>alert" not in html
    assert feedback_count() == 0


def test_an_unknown_link_is_a_friendly_404_and_has_no_qr_code(client, link):
    assert client.get("/feedback/not-a-real-token").status_code == 404
    assert "couldn't find this feedback link" in client.get("/feedback/not-a-real-token").get_data(as_text=True)
    assert client.get("/feedback/not-a-real-token/qr.svg").status_code == 404


def test_the_qr_code_is_an_svg_of_the_link(client, link):
    _, token = link
    answer = client.get(f"/feedback/{token}/qr.svg")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert answer.get_data(as_text=True).lstrip().startswith("<?xml") and "<svg" in answer.get_data(as_text=True)


def test_the_form_needs_its_csrf_token(csrf_client, link):
    _, token = link
    db.session.commit()
    refused = csrf_client.post(f"/feedback/{token}", data={"csat": "5"})
    assert refused.status_code == 400
    page = csrf_client.get(f"/feedback/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert csrf_client.post(f"/feedback/{token}", data={"csat": "5", "csrf_token": csrf}).status_code == 303
    assert feedback_count() == 1


def test_a_feedback_token_never_reaches_the_request_log():
    from web.access_log import mask_secrets

    assert mask_secrets('"GET /feedback/Zq3x_secret-token HTTP/1.1" 200') == '"GET /feedback/… HTTP/1.1" 200'
    assert mask_secrets("/feedback/Zq3x_secret-token/qr.svg") == "/feedback/…/qr.svg"
