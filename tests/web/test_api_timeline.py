"""GET /api/v1/customers/{id}/timeline and /recommendations: staff only, paged, filtered, consent-aware."""

from datetime import UTC, datetime, timedelta

import pytest

import clienteling
from accounts import create_staff, register_kiosk
from clienteling import ingest_events
from core import db
from core.actor import Actor

PASSWORD = "correct-horse"
STAFF = Actor("staff", 1, "Ana")
PARTNER = Actor("api_key", 1, "shop")
T0 = datetime(2024, 11, 12, 14, 0, tzinfo=UTC)


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1")
    create_location("S2")
    create_product(skus=("JKT-S", "JKT-M", "JKT-L"), category="Jackets")
    set_stock("S1", "JKT-M", 3)
    set_stock("S2", "JKT-M", 1)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    create_staff("sofia@example.com", "Sofia", "admin", PASSWORD, [])
    db.session.commit()


def staff_client(app, email="ana@example.com", via="token"):
    client = app.test_client()
    headers = {}
    if via == "cookie":
        assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    else:
        headers["Authorization"] = "Bearer " + client.post("/api/v1/staff/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]

    def get(path):
        return client.get(path, headers=headers)

    return get


def make_customer(personalisation=True):
    customer = clienteling.create_customer(
        "Zoë Weber", STAFF, email="zoe@example.com", consents={"personalisation": personalisation}, sizes={"tops": "M"}
    )
    db.session.commit()
    return customer


def send(events):
    result = ingest_events(events, PARTNER)
    assert result["rejected"] == [], result
    db.session.commit()


def viewed(id, at, channel="web", sku="JKT-M"):
    return {
        "id": id,
        "type": "product_viewed",
        "occurred_at": at.isoformat(),
        "customer": {"email": "zoe@example.com"},
        "channel": channel,
        "sku": sku,
    }


def all_pages(get, path, limit):
    seen, cursor, pages = [], None, 0
    while True:
        response = get(f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("via", ["token", "cookie"])
def test_pages_are_newest_first_without_duplicates_or_gaps_even_with_equal_times(app, world, via):
    customer = make_customer()
    # 25 events, many sharing one instant: the id breaks the tie
    send([viewed(f"e{i:02d}", T0 + timedelta(minutes=i // 5)) for i in range(25)])
    seen, pages = all_pages(staff_client(app, via=via), f"/api/v1/customers/{customer.public_id}/timeline", 4)
    assert pages == 7
    assert sorted(item["id"] for item in seen) == sorted(f"e{i:02d}" for i in range(25))
    assert len({item["id"] for item in seen}) == 25
    times = [item["occurred_at"] for item in seen]
    assert times == sorted(times, reverse=True)
    first = seen[0]
    assert first == {
        "id": first["id"],
        "type": "product_viewed",
        "channel": "web",
        "occurred_at": "2024-11-12T14:04:00+00:00",
        "sku": "JKT-M",
        "data": {},
    }


def test_filters_by_channel_and_type(app, world):
    customer = make_customer()
    send(
        [
            viewed("v1", T0),
            viewed("v2", T0 + timedelta(minutes=1), channel="app"),
            {
                "id": "s1",
                "type": "product_searched",
                "occurred_at": T0.isoformat(),
                "customer": {"email": "zoe@example.com"},
                "data": {"query": "rain"},
            },
        ]
    )
    clienteling.record_activity(customer, "purchase_in_store", occurred_at=T0, data={"order_id": "S-1", "lines": [{"sku": "JKT-M", "quantity": 1}]})
    db.session.commit()
    get = staff_client(app)
    path = f"/api/v1/customers/{customer.public_id}/timeline"
    assert [i["id"] for i in get(path + "?channel=app").get_json()["items"]] == ["v2"]
    assert [i["id"] for i in get(path + "?type=product_searched").get_json()["items"]] == ["s1"]
    assert [i["type"] for i in get(path + "?channel=store").get_json()["items"]] == ["purchase_in_store"]
    assert [i["id"] for i in get(path + "?channel=web&type=product_viewed").get_json()["items"]] == ["v1"]


@pytest.mark.parametrize(
    "query, field", [("channel=fax", "channel"), ("type=anything", "type"), ("cursor=not-a-cursor", "cursor"), ("limit=0", "limit")]
)
def test_an_invalid_filter_or_cursor_is_400_naming_the_field(app, world, query, field):
    customer = make_customer()
    response = staff_client(app)(f"/api/v1/customers/{customer.public_id}/timeline?{query}")
    assert response.status_code == 400
    assert field in response.get_json()["error"]["details"], response.get_json()


def test_a_cursor_of_the_wrong_shape_is_400(app, world):
    from core.pagination import encode_cursor

    customer = make_customer()
    for value in (["2024-11-12", "x"], [1, 2], {"a": 1}, ["not a time", 3]):
        response = staff_client(app)(f"/api/v1/customers/{customer.public_id}/timeline?cursor={encode_cursor(value)}")
        assert response.status_code == 400 and "cursor" in response.get_json()["error"]["details"]


def test_online_activity_is_hidden_without_personalisation_consent(app, world):
    customer = make_customer(personalisation=False)
    send([viewed("v1", T0), viewed("v2", T0, channel="social"), viewed("k1", T0, channel="kiosk")])
    clienteling.record_activity(customer, "appointment_booked", occurred_at=T0, data={"appointment_id": "a1"})
    db.session.commit()
    get = staff_client(app)
    path = f"/api/v1/customers/{customer.public_id}/timeline"
    assert sorted(i["channel"] for i in get(path).get_json()["items"]) == ["kiosk", "store"]
    assert get(path + "?channel=web").get_json()["items"] == []
    clienteling.record_consent(customer, "personalisation", True, "store", STAFF)
    db.session.commit()
    assert len(get(path).get_json()["items"]) == 4


def test_partner_keys_kiosks_and_strangers_cannot_read_a_timeline(app, world, partner, client):
    customer = make_customer()
    path = f"/api/v1/customers/{customer.public_id}/timeline"
    assert partner.get(path).status_code == 403
    assert partner.get(f"/api/v1/customers/{customer.public_id}/recommendations?store=S1").status_code == 403
    assert client.get(path).status_code == 401
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    kiosk = app.test_client()
    assert kiosk.get(f"/kiosk/activate/{token}").status_code == 302
    refused = kiosk.get(path)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"


def test_an_unknown_or_erased_customer_is_404(app, world):
    customer = make_customer()
    customer.erased_at = datetime.now(UTC)
    db.session.commit()
    get = staff_client(app)
    assert get("/api/v1/customers/cus_nope/timeline").status_code == 404
    assert get(f"/api/v1/customers/{customer.public_id}/timeline").status_code == 404
    assert get("/api/v1/customers/cus_nope/recommendations").status_code == 404


def test_a_merged_profile_answers_the_survivors_timeline(app, world):
    survivor = make_customer()
    duplicate = clienteling.create_customer("Zoe W", STAFF, email="zw@example.com")
    duplicate.merged_into_id = survivor.id
    db.session.commit()
    send([viewed("v1", T0)])
    assert [i["id"] for i in staff_client(app)(f"/api/v1/customers/{duplicate.public_id}/timeline").get_json()["items"]] == ["v1"]


def test_recommendations_default_to_the_staff_members_store_and_say_why(app, world):
    customer = make_customer()
    send([viewed("v1", datetime.now(UTC) - timedelta(hours=1), sku="JKT-L")])
    body = staff_client(app)(f"/api/v1/customers/{customer.public_id}/recommendations").get_json()
    assert body["store"] == "S1" and body["next_cursor"] is None
    assert [(i["sku"], i["available_here"]) for i in body["items"]] == [("JKT-M", 3)]
    assert body["items"][0]["reason"] == "viewed online once this week; 3 in stock here in M"


def test_recommendations_at_another_store_are_403_for_its_non_staff_and_fine_for_an_admin(app, world):
    customer = make_customer()
    send([viewed("v1", datetime.now(UTC) - timedelta(hours=1))])
    path = f"/api/v1/customers/{customer.public_id}/recommendations?store=S2"
    refused = staff_client(app)(path)
    assert refused.status_code == 403 and refused.get_json()["error"]["details"] == {"store": "S2"}
    answer = staff_client(app, "sofia@example.com")(path)
    assert answer.status_code == 200 and [i["available_here"] for i in answer.get_json()["items"]] == [1]
    assert staff_client(app, "sofia@example.com")(f"/api/v1/customers/{customer.public_id}/recommendations").get_json()["store"] == "S1"


def test_an_unknown_store_is_400(app, world):
    customer = make_customer()
    response = staff_client(app, "sofia@example.com")(f"/api/v1/customers/{customer.public_id}/recommendations?store=NOPE")
    assert response.status_code == 400 and "store" in response.get_json()["error"]["details"]
