"""The staff API of tasks, messages and feedback requests: staff only, their own stores only, 409 without consent."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

import clienteling
from core import db
from tests.clienteling.outreach_world import PASSWORD, log_provider, make_customer, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)
from tests.helpers import StaffCaller


@pytest.fixture
def as_staff(app):
    """as_staff("ana") -> a client speaking with Ana's staff token: .get(path), .post(path, json)."""

    def make(name):
        return StaffCaller(app, f"{name}@example.com", PASSWORD)

    return make


def test_an_associate_adds_lists_and_completes_their_tasks(as_staff, world, make_customer):
    zoe = make_customer()
    ana = as_staff("ana")
    made = ana.post("/api/v1/tasks", json={"customer_id": zoe.public_id, "reason": "Call about the hemming", "due_on": "2026-12-05"})
    assert made.status_code == 201, made.json
    task = made.json
    assert task["id"].startswith("tsk_") and task["status"] == "open" and task["store"] == "BER-MITTE" and task["due_on"] == "2026-12-05"
    assert task["customer"] == {"id": zoe.public_id, "name": "Zoë Müller"} and task["assignee_id"] == world["ana"].id
    assert task["created_at"].endswith("+00:00") and task["done_at"] is None and task["created_by"] == f"staff:{world['ana'].id}"
    assert [t["id"] for t in ana.get("/api/v1/tasks").json["items"]] == [task["id"]]
    assert as_staff("max").get("/api/v1/tasks").json["items"] == [], "default: mine"
    done = ana.post(f"/api/v1/tasks/{task['id']}/complete")
    assert done.status_code == 200 and done.json["status"] == "done" and done.json["done_at"]
    assert ana.post(f"/api/v1/tasks/{task['id']}/complete").status_code == 200, "a retry changes nothing"
    assert ana.post(f"/api/v1/tasks/{task['id']}/dismiss").json["error"]["code"] == "invalid_transition"
    assert ana.get("/api/v1/tasks").json["items"] == []
    assert [t["id"] for t in ana.get("/api/v1/tasks?status=done").json["items"]] == [task["id"]]


def test_tasks_page_with_a_cursor_due_first(as_staff, world, make_customer):
    zoe = make_customer()
    for day in (9, 4, 6):
        clienteling.create_task(zoe, f"Due on the {day}th", date(2026, 12, day), world["ana"].actor)
    db.session.commit()
    ana = as_staff("ana")
    first = ana.get("/api/v1/tasks?limit=2").json
    assert [t["due_on"] for t in first["items"]] == ["2026-12-04", "2026-12-06"] and first["next_cursor"]
    second = ana.get(f"/api/v1/tasks?limit=2&cursor={first['next_cursor']}").json
    assert [t["due_on"] for t in second["items"]] == ["2026-12-09"] and second["next_cursor"] is None
    assert ana.get("/api/v1/tasks?cursor=bm9wZQ").status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "x", "due_on": "next week"}, "due_on"),
        ({"reason": "", "due_on": "2026-12-05"}, "reason"),
        ({"due_on": "2026-12-05"}, "reason"),
        ({"reason": "x", "due_on": "2026-12-05", "assignee_id": "3"}, "assignee_id"),
    ],
)
def test_a_bad_task_is_a_400_naming_the_field(as_staff, world, make_customer, body, field):
    zoe = make_customer()
    answer = as_staff("ana").post("/api/v1/tasks", json={"customer_id": zoe.public_id, **body})
    assert answer.status_code == 400 and field in answer.json["error"]["details"], answer.json
    assert db.session.scalar(select(func.count()).select_from(clienteling.Task)) == 0


def test_staff_reach_only_their_own_stores_tasks_and_customers(as_staff, world, make_customer):
    zoe = make_customer(consents={"email_marketing": True})  # of Berlin Mitte
    task = clienteling.create_task(zoe, "Call back", date(2026, 12, 5), world["ana"].actor)
    db.session.commit()
    mia = as_staff("mia")  # Munich
    for path, body in [
        ("/api/v1/tasks", {"customer_id": zoe.public_id, "reason": "x", "due_on": "2026-12-05"}),
        (f"/api/v1/tasks/{task.public_id}/complete", None),
        (f"/api/v1/tasks/{task.public_id}/dismiss", None),
        (f"/api/v1/customers/{zoe.public_id}/messages", {"channel": "email", "template": "thank_you_visit"}),
        (f"/api/v1/customers/{zoe.public_id}/feedback-requests", {}),
    ]:
        refused = mia.post(path, json=body)
        assert refused.status_code == 403 and refused.json["error"]["details"] == {"store": "BER-MITTE"}, (path, refused.json)
    assert mia.get("/api/v1/tasks?store=BER-MITTE").status_code == 403
    db.session.expire_all()
    assert clienteling.find_task(task.public_id).status == "open"


def test_partner_keys_and_anonymous_callers_are_refused(client, partner, world, make_customer):
    zoe = make_customer()
    assert partner.get("/api/v1/tasks").status_code == 403
    assert (
        partner.post(f"/api/v1/customers/{zoe.public_id}/messages", json={"channel": "email", "template": "thank_you_visit"}).json["error"]["code"]
        == "forbidden"
    )
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/message-templates").status_code == 401


def test_a_message_with_consent_is_201_and_sent_after_the_request(as_staff, world, make_customer, log_provider):
    zoe = make_customer(consents={"email_marketing": True})
    answer = as_staff("ana").post(
        f"/api/v1/customers/{zoe.public_id}/messages",
        json={"channel": "email", "template": "wishlist_back_in_stock", "context": {"product": "Trail Jacket"}},
    )
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["id"].startswith("msg_") and body["status"] == "queued" and body["customer_id"] == zoe.public_id and body["store"] == "BER-MITTE"
    assert body["subject"] == "Trail Jacket is back at Berlin Mitte" and body["to"] == "zoe@example.com"
    assert [m["subject"] for m in log_provider.sent] == ["Trail Jacket is back at Berlin Mitte"]
    assert clienteling.find_message(body["id"]).status == "sent"
    [entry], _ = clienteling.timeline_page(zoe, type="message_sent")
    assert entry.data["message_id"] == body["id"]


def test_a_message_without_consent_is_409_no_consent_and_nothing_is_sent(as_staff, world, make_customer, log_provider):
    zoe = make_customer(consents={"email_marketing": True})
    answer = as_staff("ana").post(f"/api/v1/customers/{zoe.public_id}/messages", json={"channel": "sms", "template": "thank_you_visit"})
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "no_consent" and answer.json["error"]["details"]["purpose"] == "sms_marketing"
    assert list(log_provider.sent) == [] and db.session.scalar(select(func.count()).select_from(clienteling.Message)) == 0


def test_bad_message_input_is_a_400_naming_the_field(as_staff, world, make_customer, log_provider):
    zoe = make_customer(consents={"email_marketing": True})
    ana = as_staff("ana")
    for body, field in [
        ({"channel": "fax", "template": "thank_you_visit"}, "channel"),
        ({"channel": "email", "template": "nope"}, "template"),
        ({"channel": "email", "template": "wishlist_back_in_stock"}, "context.product"),
        ({"channel": "email", "template": "thank_you_visit", "context": {"price": "1"}}, "context"),
    ]:
        answer = ana.post(f"/api/v1/customers/{zoe.public_id}/messages", json=body)
        assert answer.status_code == 400 and any(key.startswith(field) for key in answer.json["error"]["details"]), (body, answer.json)
    assert ana.post("/api/v1/customers/cus_nobody/messages", json={"channel": "email", "template": "thank_you_visit"}).status_code == 404
    assert list(log_provider.sent) == []


def test_message_templates_list_their_placeholders(as_staff, world):
    items = as_staff("ana").get("/api/v1/message-templates").json["items"]
    keys = [t["key"] for t in items]
    assert {"new_arrivals_in_size", "wishlist_back_in_stock", "thank_you_visit", "appointment_reminder"} <= set(keys)
    wishlist = next(t for t in items if t["key"] == "wishlist_back_in_stock")
    assert wishlist["needs"] == ["product"] and "{first_name}" in wishlist["body"] and "{store}" in wishlist["subject"]


def test_a_feedback_request_answers_its_link_and_qr_code(as_staff, client, world, make_customer, log_provider):
    zoe = make_customer(consents={"email_marketing": True})
    answer = as_staff("ana").post(f"/api/v1/customers/{zoe.public_id}/feedback-requests", json={"appointment_id": "apt_1"})
    assert answer.status_code == 201, answer.json
    body = answer.json
    assert body["url"] == f"http://localhost/feedback/{body['token']}" and body["qr_url"] == f"{body['url']}/qr.svg"
    assert body["message"] is None and list(log_provider.sent) == []
    assert client.get(f"/feedback/{body['token']}").status_code == 200
    assert client.get(f"/feedback/{body['token']}/qr.svg").mimetype == "image/svg+xml"
    sent = as_staff("ana").post(f"/api/v1/customers/{zoe.public_id}/feedback-requests", json={"send": "email"})
    assert sent.status_code == 201 and sent.json["message"]["template"] == "feedback_request"
    assert sent.json["url"] in log_provider.sent[0]["body"]
    no_sms = as_staff("ana").post(f"/api/v1/customers/{zoe.public_id}/feedback-requests", json={"send": "sms"})
    assert no_sms.status_code == 409 and no_sms.json["error"]["code"] == "no_consent"
    assert db.session.scalar(select(func.count()).select_from(clienteling.FeedbackRequest)) == 2, "the refused one made no link"
