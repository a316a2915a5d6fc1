"""POST /api/v1/events over HTTP: the partner's batch, its envelope errors, scopes and counts."""

import pytest
from sqlalchemy import func, select

import clienteling
from accounts import create_staff
from clienteling import CustomerEvent
from core import db

PASSWORD = "correct-horse"


def event(id, **extra):
    return {
        "id": id,
        "type": "product_viewed",
        "occurred_at": "2024-11-12T14:03:00+01:00",
        "customer": {"email": "zoe@example.com"},
        "sku": "JKT-M",
        **extra,
    }


def stored():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(CustomerEvent))


def test_a_batch_answers_202_with_the_counts_and_rejections(partner):
    response = partner.post("/api/v1/events", json={"events": [event("e1"), event("e2", occurred_at="2024-11-12 14:03"), event("e1")]})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["accepted"] == 1 and body["duplicates"] == 1
    assert body["rejected"] == [{"index": 1, "error": body["rejected"][0]["error"]}]
    assert body["rejected"][0]["error"].startswith("events.1.occurred_at: ")
    assert stored() == 1
    assert clienteling.find_customer_by_identity("email", "zoe@example.com").kind == "lead"


def test_retrying_a_batch_over_http_is_all_duplicates(partner):
    batch = {"events": [event(f"e{i}") for i in range(10)]}
    assert partner.post("/api/v1/events", json=batch).get_json() == {"accepted": 10, "duplicates": 0, "rejected": []}
    assert partner.post("/api/v1/events", json=batch).get_json() == {"accepted": 0, "duplicates": 10, "rejected": []}
    assert stored() == 10


@pytest.mark.parametrize("body", [{"events": {"id": "e1"}}, {"events": "e1"}, {}, {"events": [event(f"e{i}") for i in range(1001)]}, [event("e1")]])
def test_a_malformed_envelope_is_400_naming_events_and_stores_nothing(partner, body):
    response = partner.post("/api/v1/events", json=body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request"
    assert "events" in str(error["details"]), error
    assert stored() == 0


def test_events_need_the_events_write_scope(client, create_key):
    key = create_key("inventory:read")
    response = client.post("/api/v1/events", json={"events": [event("e1")]}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403 and response.get_json()["error"]["details"] == {"required_scope": "events:write"}
    assert client.post("/api/v1/events", json={"events": [event("e1")]}).status_code == 401
    assert stored() == 0


def test_staff_with_the_scope_may_send_events_too(app, create_location):
    create_location("S1")
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()
    client = app.test_client()
    token = client.post("/api/v1/staff/tokens", json={"email": "ana@example.com", "password": PASSWORD}).get_json()["token"]
    response = client.post("/api/v1/events", json={"events": [event("e1")]}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202 and response.get_json()["accepted"] == 1
    row = db.session.scalar(select(CustomerEvent))
    assert row.actor_kind == "staff"


def test_the_openapi_document_describes_one_event(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/events"]["post"]
    assert {"202", "400", "401", "403"} <= set(operation["responses"])
    batch = spec["components"]["schemas"]["EventBatchIn"]["properties"]["events"]
    assert batch["maxItems"] == 1000
    assert set(batch["items"]["required"]) == {"id", "type", "occurred_at", "customer"}
    assert "order_placed" in batch["items"]["properties"]["type"]["enum"]
