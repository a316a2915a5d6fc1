"""The tablet's "My tasks", the message form (preview, send, no consent) and the feedback QR code."""

# ruff: noqa: F811

from __future__ import annotations

import re
from datetime import date

import pytest

import clienteling
from core import db
from tests.clienteling.outreach_world import PASSWORD, log_provider, make_customer, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def ana(client, world):
    assert client.post("/login", data={"email": "ana@example.com", "password": PASSWORD}).status_code == 302
    return client


def test_my_tasks_lists_mine_due_first_with_links_to_the_customer(ana, world, make_customer):
    zoe = make_customer()
    clienteling.create_task(zoe, "Later one", date(2026, 12, 20), world["ana"].actor)
    clienteling.create_task(zoe, "Sooner <b>one</b>", date(2026, 12, 2), world["ana"].actor)
    clienteling.create_task(zoe, "Not mine", date(2026, 12, 1), world["max"].actor)
    db.session.commit()
    page = text(ana.get("/tablet/tasks"))
    assert page.index("Sooner &lt;b&gt;one&lt;/b&gt;") < page.index("Later one") and "Not mine" not in page
    assert f'href="/tablet/customers/{zoe.public_id}"' in page
    assert 'href="/tablet/tasks" aria-current="page">My tasks</a>' in page


def test_done_and_dismiss_buttons_close_the_task(ana, world, make_customer):
    zoe = make_customer()
    task = clienteling.create_task(zoe, "Call back", date(2026, 12, 2), world["ana"].actor)
    other = clienteling.create_task(zoe, "Other", date(2026, 12, 2), world["ana"].actor)
    db.session.commit()
    done = ana.post(f"/tablet/tasks/{task.public_id}/complete")
    assert done.status_code == 302 and done.headers["Location"].endswith("/tablet/tasks")
    assert ana.post(f"/tablet/tasks/{other.public_id}/dismiss").status_code == 302
    db.session.expire_all()
    assert (clienteling.find_task(task.public_id).status, clienteling.find_task(other.public_id).status) == ("done", "dismissed")
    assert "Call back" in text(ana.get("/tablet/tasks?status=done"))


def test_the_task_forms_need_their_csrf_token(csrf_client, world, make_customer):
    task_id = clienteling.create_task(make_customer(), "Call back", date(2026, 12, 2), world["ana"].actor).public_id
    db.session.commit()  # and nothing more read here: the other app's requests need SQLite's write lock
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(csrf_client.get("/login"))).group(1)
    assert csrf_client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}).status_code == 302
    assert csrf_client.post(f"/tablet/tasks/{task_id}/complete").status_code == 400
    page = text(csrf_client.get("/tablet/tasks"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert csrf_client.post(f"/tablet/tasks/{task_id}/complete", data={"csrf_token": token}).status_code == 302
    assert clienteling.find_task(task_id).status == "done"


def test_another_stores_task_cannot_be_closed(client, world, make_customer):
    task = clienteling.create_task(make_customer(), "Call back", date(2026, 12, 2), world["ana"].actor)
    db.session.commit()
    assert client.post("/login", data={"email": "mia@example.com", "password": PASSWORD}).status_code == 302
    assert client.post(f"/tablet/tasks/{task.public_id}/complete").status_code == 403
    db.session.expire_all()
    assert clienteling.find_task(task.public_id).status == "open"


def test_the_message_form_previews_sends_and_says_there_is_no_sms_consent(ana, world, make_customer, log_provider):
    zoe = make_customer(consents={"email_marketing": True})
    form = text(ana.get(f"/tablet/customers/{zoe.public_id}/message?template=wishlist_back_in_stock&product=Trail+Jacket+(JKT-M)"))
    assert "No consent for SMS" in form and 'value="sms" disabled' in form
    assert "Trail Jacket (JKT-M) is back at Berlin Mitte" in form, "the preview"
    refused = ana.post(f"/tablet/customers/{zoe.public_id}/message", data={"channel": "sms", "template": "thank_you_visit", "action": "send"})
    assert refused.status_code == 409 and "No consent for SMS" in text(refused) and list(log_provider.sent) == []
    preview = ana.post(f"/tablet/customers/{zoe.public_id}/message", data={"channel": "email", "template": "thank_you_visit", "action": "preview"})
    assert preview.status_code == 200 and "Thank you for visiting Berlin Mitte" in text(preview) and list(log_provider.sent) == []
    sent = ana.post(f"/tablet/customers/{zoe.public_id}/message", data={"channel": "email", "template": "thank_you_visit", "action": "send"})
    assert sent.status_code == 302 and [m["subject"] for m in log_provider.sent] == ["Thank you for visiting Berlin Mitte"]
    missing = ana.post(
        f"/tablet/customers/{zoe.public_id}/message", data={"channel": "email", "template": "wishlist_back_in_stock", "action": "send"}
    )
    assert missing.status_code == 400 and "needs a product" in text(missing)


def test_the_feedback_qr_code_page_shows_a_working_link(ana, world, make_customer):
    zoe = make_customer()
    page = text(ana.post(f"/tablet/customers/{zoe.public_id}/feedback"))
    url = re.search(r'<p class="small muted feedback-url">(http://localhost/feedback/[^<]+)</p>', page).group(1)
    qr = re.search(r'<img src="(/feedback/[^"]+/qr.svg)"', page).group(1)
    assert ana.get(url.removeprefix("http://localhost")).status_code == 200
    assert ana.get(qr).mimetype == "image/svg+xml"
