"""The staff customers API: search, create, the profile, changes, notes, merge, export, erase, the logs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import clienteling
from accounts import create_staff, register_kiosk
from clienteling import Customer, CustomerEvent, ProfileView
from core import clock, db
from core.audit import AuditEntry
from tests.helpers import StaffCaller

PASSWORD = "correct-horse"
EMAILS = {"associate": "ana@example.com", "manager": "max@example.com", "admin": "sofia@example.com", "other": "olaf@example.com"}


@pytest.fixture
def world(create_location, create_product):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München Maxvorstadt")
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("JKT-M",))
    for role, email, stores in [
        ("associate", EMAILS["associate"], ["S1"]),
        ("manager", EMAILS["manager"], ["S1"]),
        ("admin", EMAILS["admin"], []),
        ("associate", EMAILS["other"], ["S2"]),
    ]:
        create_staff(email, email.split("@")[0].title(), role, PASSWORD, stores)
    db.session.commit()


def Caller(app, who) -> StaffCaller:
    """A test client speaking as one staff member with a staff token."""
    return StaffCaller(app, EMAILS[who], PASSWORD)


@pytest.fixture
def ana(app, world):
    return Caller(app, "associate")


@pytest.fixture
def max_(app, world):
    return Caller(app, "manager")


@pytest.fixture
def sofia(app, world):
    return Caller(app, "admin")


@pytest.fixture
def zoe(ana):
    answer = ana.post(
        "/api/v1/customers",
        json={"name": "Zoë Müller", "email": "Zoe@Example.com", "phone": "+49 30 1234567", "home_store": "S1", "consents": {"personalisation": True}},
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def customers() -> int:
    """How many profiles exist (the test's transaction ended after reading: on SQLite it holds the write lock)."""
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(Customer))
    db.session.rollback()
    return count


def add_event(public_id, type, days=1, channel="web", sku=None, data=None):
    customer = clienteling.find_customer(public_id)
    clienteling.record_activity(customer, type, channel=channel, sku=sku, data=data or {}, occurred_at=clock.now() - timedelta(days=days))
    db.session.commit()


def money(amount):
    return {"amount": amount, "currency": "EUR"}


# --- who may ---------------------------------------------------------------------------------


def test_without_credentials_customer_data_is_401(client, zoe):
    for path in ["/api/v1/customers", f"/api/v1/customers/{zoe['id']}", f"/api/v1/customers/{zoe['id']}/notes"]:
        answer = client.get(path)
        assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized", path
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_partner_key_with_every_scope_cannot_read_or_write_customers(partner, zoe):
    assert partner.get("/api/v1/customers?q=zoe").status_code == 403
    assert partner.get(f"/api/v1/customers/{zoe['id']}").status_code == 403
    answer = partner.post("/api/v1/customers", json={"name": "Partner Made"})
    assert answer.status_code == 403 and "staff only" in answer.json["error"]["message"]
    assert customers() == 1


def test_a_kiosk_cannot_read_customers(app, zoe):
    device, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    kiosk = app.test_client()
    assert kiosk.get(f"/kiosk/activate/{token}").status_code == 302
    for path in ["/api/v1/customers?q=zoe", f"/api/v1/customers/{zoe['id']}", f"/api/v1/customers/{zoe['id']}/export"]:
        answer = kiosk.get(path)
        assert answer.status_code == 403 and answer.json["error"]["message"] == "a kiosk cannot reach customer data", path
    assert db.session.scalar(select(func.count()).select_from(ProfileView)) == 0


def test_merge_export_and_erase_are_for_managers_and_the_logs_for_admins(app, ana, max_, sofia, zoe):
    other = ana.post("/api/v1/customers", json={"name": "Zoe Mueller"}).json
    for path, body in [(f"/api/v1/customers/{zoe['id']}/merge", {"duplicate_id": other["id"]}), (f"/api/v1/customers/{zoe['id']}/erase", None)]:
        answer = ana.post(path, json=body)
        assert answer.status_code == 403 and answer.json["error"]["details"] == {"required_role": ["manager", "admin"]}, path
    assert ana.get(f"/api/v1/customers/{zoe['id']}/export").status_code == 403
    for path in ["/api/v1/profile-views", "/api/v1/audit"]:
        assert ana.get(path).status_code == 403 and max_.get(path).status_code == 403, path
        assert sofia.get(path).status_code == 200, path
    assert ana.get(f"/api/v1/customers/{zoe['id']}").json["name"] == "Zoë Müller"  # nothing was merged or erased
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_session_cookie_works_like_a_token(app, world, zoe):
    browser = app.test_client()
    assert browser.post("/login", data={"email": EMAILS["associate"], "password": PASSWORD}).status_code == 302
    assert browser.get("/api/v1/customers?q=zoe").json["items"][0]["id"] == zoe["id"]


# --- search ----------------------------------------------------------------------------------


def test_search_by_name_prefix_email_phone_and_loyalty_code(ana, zoe):
    ana.post("/api/v1/customers", json={"name": "Zoltan Kiss", "email": "zk@example.com"})
    ana.post("/api/v1/customers", json={"name": "Anna Zoellner"})

    def found(q):
        answer = ana.get("/api/v1/customers", query_string={"q": q})
        assert answer.status_code == 200, answer.json
        return [item["name"] for item in answer.json["items"]]

    assert found("zo") == ["Anna Zoellner", "Zoë Müller", "Zoltan Kiss"]  # every word of the name
    assert found("zoe mul") == ["Zoë Müller"]  # accents and case ignored, every query word a prefix
    assert found("ZOE@example.com") == ["Zoë Müller"]
    assert found("030 1234567") == ["Zoë Müller"]  # a national number, read in the default region
    assert found("+49301234567") == ["Zoë Müller"]
    assert found(zoe["loyalty_code"].lower()) == ["Zoë Müller"]
    assert found("oe") == []  # a prefix, not a substring
    assert found("Müller-Lang") == [] and found("mül") == ["Zoë Müller"]
    item = ana.get("/api/v1/customers?q=müller").json["items"][0]
    assert item == {
        "id": zoe["id"],
        "name": "Zoë Müller",
        "email": "zoe@example.com",
        "phone": "+49301234567",
        "loyalty_code": zoe["loyalty_code"],
        "home_store": "S1",
    }


def test_search_pages_with_a_cursor_and_refuses_a_bad_one(ana, world):
    for n in range(5):
        assert ana.post("/api/v1/customers", json={"name": f"Kim Lee {n}"}).status_code == 201
    first = ana.get("/api/v1/customers?q=kim&limit=2").json
    second = ana.get("/api/v1/customers", query_string={"q": "kim", "limit": 2, "cursor": first["next_cursor"]}).json
    third = ana.get("/api/v1/customers", query_string={"q": "kim", "limit": 2, "cursor": second["next_cursor"]}).json
    assert [i["name"] for i in first["items"] + second["items"] + third["items"]] == [f"Kim Lee {n}" for n in range(5)]
    assert third["next_cursor"] is None
    for bad in ["not-a-cursor", "WzFd"]:
        answer = ana.get("/api/v1/customers", query_string={"q": "kim", "cursor": bad})
        assert answer.status_code == 400 and "cursor" in answer.json["error"]["details"], bad
    answer = ana.get("/api/v1/customers?limit=1000")
    assert answer.status_code == 400 and "limit" in answer.json["error"]["details"]


# --- create ----------------------------------------------------------------------------------


def test_create_answers_201_with_the_whole_profile_and_records_consent_from_the_store(ana, zoe):
    assert zoe["name"] == "Zoë Müller" and zoe["emails"] == ["zoe@example.com"] and zoe["phones"] == ["+49301234567"]
    assert zoe["id"].startswith("cus_") and zoe["loyalty_code"].startswith("SH") and zoe["home_store"] == "S1"
    assert zoe["consents"]["personalisation"]["granted"] is True and zoe["consents"]["personalisation"]["source"] == "store"
    assert zoe["consents"]["email_marketing"] == {"granted": False, "source": None, "recorded_at": None}
    assert zoe["summary"] == {
        "viewed_recently": [],
        "wishlist": [],
        "open_carts": [],
        "abandoned_carts": [],
        "lifetime_value": {"online": money(0), "store": money(0)},
    }


def test_create_with_an_email_or_phone_of_another_profile_is_409(ana, zoe):
    for body, field in [({"email": "ZOE@example.com"}, "email"), ({"phone": "030 1234567"}, "phone")]:
        answer = ana.post("/api/v1/customers", json={"name": "Zoe Again", **body})
        assert answer.status_code == 409, body
        assert answer.json["error"]["details"] == {"field": field, "customer_id": zoe["id"]}
    assert customers() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "email": "not-an-email"}, "email"),
        ({"name": "Ok", "phone": "12"}, "phone"),
        ({"name": "Ok", "home_store": "NOPE"}, "home_store"),
        ({"name": "Ok", "consents": {"telepathy": True}}, "consents"),
        ({"name": "Ok", "consents": {"personalisation": "yes"}}, "consents"),
        ({"name": "Ok", "tags": "vip"}, "tags"),
    ],
)
def test_create_with_bad_input_is_400_naming_the_field_and_creates_nothing(sofia, body, field):
    answer = sofia.post("/api/v1/customers", json=body)
    assert answer.status_code == 400, answer.json
    assert any(key == field or key.startswith(field + ".") for key in answer.json["error"]["details"]), answer.json
    assert customers() == 0


def test_a_home_store_must_be_one_the_associate_works_at(ana):
    answer = ana.post("/api/v1/customers", json={"name": "Far Away", "home_store": "S2"})
    assert answer.status_code == 403 and answer.json["error"]["details"] == {"store": "S2"}
    assert customers() == 0


def test_two_concurrent_creates_of_one_email_give_one_201_and_one_409(app, world, row_locks):
    callers = [Caller(app, "associate"), Caller(app, "manager")]
    barrier = threading.Barrier(2)
    statuses = []

    def create(caller):
        barrier.wait()
        statuses.append(caller.post("/api/v1/customers", json={"name": "Race", "email": "race@example.com"}).status_code)

    threads = [threading.Thread(target=create, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [201, 409]
    assert customers() == 1


# --- the profile -----------------------------------------------------------------------------


def test_the_profile_has_sizes_tags_consents_and_the_summary(ana, zoe):
    ana.patch(f"/api/v1/customers/{zoe['id']}", json={"sizes": {"Tops": "M"}, "tags": ["VIP"]})
    for days in (1, 2):
        add_event(zoe["id"], "product_viewed", days=days, sku="JKT-M")
    add_event(zoe["id"], "wishlist_added", sku="JKT-M")
    add_event(zoe["id"], "cart_updated", data={"cart_id": "c1", "lines": [{"sku": "JKT-M", "quantity": 1}], "total": money(12900)})
    add_event(zoe["id"], "order_placed", data={"order_id": "o1", "total": money(5000)})
    add_event(zoe["id"], "purchase_in_store", channel="store", data={"order_id": "s1", "total": money(2500)})
    profile = ana.get(f"/api/v1/customers/{zoe['id']}").json
    assert profile["sizes"] == {"tops": "M"} and profile["tags"] == ["vip"]
    summary = profile["summary"]
    assert summary["viewed_recently"] == [{"sku": "JKT-M", "title": "Trail Jacket — M", "count": 2}]
    assert summary["wishlist"] == [{"sku": "JKT-M", "title": "Trail Jacket — M"}]
    assert [cart["cart_id"] for cart in summary["open_carts"]] == ["c1"] and summary["open_carts"][0]["total"] == money(12900)
    assert summary["lifetime_value"] == {"online": money(5000), "store": money(2500)}


def test_without_personalisation_consent_the_profile_shows_no_online_activity(ana, zoe):
    add_event(zoe["id"], "product_viewed", sku="JKT-M")
    ana.patch(f"/api/v1/customers/{zoe['id']}", json={"consents": {"personalisation": False}})
    summary = ana.get(f"/api/v1/customers/{zoe['id']}").json["summary"]
    assert summary["viewed_recently"] == []


def test_every_opening_of_a_profile_is_written_to_the_profile_view_log(ana, sofia, zoe):
    for _ in range(2):
        assert ana.get(f"/api/v1/customers/{zoe['id']}").status_code == 200
    sofia.get(f"/api/v1/customers/{zoe['id']}")
    ana.get("/api/v1/customers?q=zoe")  # a search opens no profile
    log = sofia.get("/api/v1/profile-views", query_string={"customer": zoe["id"]}).json["items"]
    assert [(view["staff"]["name"], view["customer_id"], view["via"]) for view in log] == [
        ("Sofia", zoe["id"], "api"),
        ("Ana", zoe["id"], "api"),
        ("Ana", zoe["id"], "api"),
    ]
    page = sofia.get("/api/v1/profile-views?limit=2").json
    assert (
        len(page["items"]) == 2
        and sofia.get("/api/v1/profile-views", query_string={"cursor": page["next_cursor"]}).json["items"][0]["id"] == log[2]["id"]
    )
    assert sofia.get("/api/v1/profile-views?customer=cus_nobody").status_code == 400


def test_an_unknown_customer_is_404(ana, world):
    for path in ["/api/v1/customers/cus_nobody", "/api/v1/customers/cus_nobody/notes"]:
        assert ana.get(path).status_code == 404, path
    assert ana.patch("/api/v1/customers/cus_nobody", json={"name": "X"}).status_code == 404


def test_patch_changes_only_the_given_fields_and_records_consents_from_the_store(ana, zoe):
    answer = ana.patch(
        f"/api/v1/customers/{zoe['id']}",
        json={
            "name": "Zoë Müller-Lang",
            "preferences": {"fit": "relaxed"},
            "preferred_associate": ana.staff_id,
            "consents": {"email_marketing": True, "personalisation": True},
        },
    )
    assert answer.status_code == 200, answer.json
    profile = answer.json
    assert profile["name"] == "Zoë Müller-Lang" and profile["preferences"] == {"fit": "relaxed"} and profile["home_store"] == "S1"
    assert profile["preferred_associate"] == {"id": ana.staff_id, "name": "Ana"}
    assert profile["consents"]["email_marketing"]["granted"] is True and profile["consents"]["email_marketing"]["source"] == "store"
    customer = clienteling.find_customer(zoe["id"])
    assert (
        db.session.scalar(select(func.count()).select_from(clienteling.ConsentRecord).where(clienteling.ConsentRecord.customer_id == customer.id))
        == 2
    )
    cleared = ana.patch(f"/api/v1/customers/{zoe['id']}", json={"home_store": None, "preferred_associate": None}).json
    assert cleared["home_store"] is None and cleared["preferred_associate"] is None
    assert [c["id"] for c in ana.get("/api/v1/customers?q=lang").json["items"]] == [zoe["id"]]  # hyphens part words
    assert [c["id"] for c in ana.get("/api/v1/customers?q=muller-lang").json["items"]] == [zoe["id"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Renamed", "tags": [""]}, "tags"),
        ({"name": "Renamed", "sizes": {"tops": 42}}, "sizes"),
        ({"name": "Renamed", "preferred_associate": 999999}, "preferred_associate"),
        ({"name": "Renamed", "preferred_associate": "1"}, "preferred_associate"),
        ({"name": "Renamed", "consents": {"sms": True}}, "consents"),
        ({"name": ""}, "name"),
    ],
)
def test_patch_with_bad_input_is_400_naming_the_field_and_changes_nothing(ana, zoe, body, field):
    answer = ana.patch(f"/api/v1/customers/{zoe['id']}", json=body)
    assert answer.status_code == 400, answer.json
    assert any(key == field or key.startswith(field + ".") for key in answer.json["error"]["details"]), answer.json
    assert ana.get(f"/api/v1/customers/{zoe['id']}").json["name"] == "Zoë Müller"


def test_patch_to_a_home_store_elsewhere_is_403(ana, zoe):
    answer = ana.patch(f"/api/v1/customers/{zoe['id']}", json={"name": "Renamed", "home_store": "S2"})
    assert answer.status_code == 403
    assert ana.get(f"/api/v1/customers/{zoe['id']}").json["name"] == "Zoë Müller"


# --- notes -----------------------------------------------------------------------------------


def test_notes_are_added_and_listed_pinned_first(ana, zoe):
    first = ana.post(f"/api/v1/customers/{zoe['id']}/notes", json={"text": "Prefers earth tones"})
    assert first.status_code == 201 and first.json["author"] == {"id": ana.staff_id, "name": "Ana"} and first.json["pinned"] is False
    ana.post(f"/api/v1/customers/{zoe['id']}/notes", json={"text": "Allergic to wool", "pinned": True})
    ana.post(f"/api/v1/customers/{zoe['id']}/notes", json={"text": "Birthday in May"})
    notes = ana.get(f"/api/v1/customers/{zoe['id']}/notes").json
    assert [n["text"] for n in notes["items"]] == ["Allergic to wool", "Birthday in May", "Prefers earth tones"] and notes["next_cursor"] is None
    for body in [{"text": ""}, {"text": "   "}, {"text": "x" * 5001}, {}, {"text": "ok", "pinned": "yes"}]:
        answer = ana.post(f"/api/v1/customers/{zoe['id']}/notes", json=body)
        assert answer.status_code == 400 and set(answer.json["error"]["details"]) & {"text", "pinned"}, body
    assert len(ana.get(f"/api/v1/customers/{zoe['id']}/notes").json["items"]) == 3


# --- merge, export, erase --------------------------------------------------------------------


@pytest.fixture
def duplicate(ana, zoe):
    """The web shop's lead for Zoë's other email, with activity, a note and consent."""
    lead, _ = clienteling.find_or_create_lead("email", "zoe.m@example.org")
    clienteling.record_consent(lead, "email_marketing", True, "web")
    db.session.commit()
    add_event(lead.public_id, "order_placed", data={"order_id": "o9", "total": money(7000)})
    assert ana.post(f"/api/v1/customers/{lead.public_id}/notes", json={"text": "Same person as Zoë?"}).status_code == 201
    return lead.public_id


def test_a_manager_merges_a_duplicate_with_everything_and_its_id_answers_the_survivor(ana, max_, sofia, zoe, duplicate):
    add_event(zoe["id"], "purchase_in_store", channel="store", data={"order_id": "s1", "total": money(2500)})
    answer = max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={"duplicate_id": duplicate})
    assert answer.status_code == 200, answer.json
    merged = answer.json
    assert merged["id"] == zoe["id"] and merged["emails"] == ["zoe@example.com", "zoe.m@example.org"]
    assert merged["consents"]["email_marketing"]["granted"] is True
    assert merged["summary"]["lifetime_value"] == {"online": money(7000), "store": money(2500)}
    assert ana.get(f"/api/v1/customers/{duplicate}").json["id"] == zoe["id"]
    assert [n["text"] for n in ana.get(f"/api/v1/customers/{zoe['id']}/notes").json["items"]] == ["Same person as Zoë?"]
    assert [c["id"] for c in ana.get("/api/v1/customers?q=zoe.m@example.org").json["items"]] == [zoe["id"]]
    audit = sofia.get("/api/v1/audit", query_string={"action": "customer.merged"}).json["items"]
    assert audit[0]["subject_id"] == zoe["id"] and audit[0]["details"]["duplicate"] == duplicate and audit[0]["actor"]["name"] == "Max"


def test_merge_refuses_itself_an_unknown_and_an_erased_profile(max_, zoe, duplicate):
    same = max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={"duplicate_id": zoe["id"]})
    assert same.status_code == 400 and "duplicate_id" in same.json["error"]["details"]
    unknown = max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={"duplicate_id": "cus_nobody"})
    assert unknown.status_code == 400 and "duplicate_id" in unknown.json["error"]["details"]
    assert max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={}).status_code == 400
    assert max_.post(f"/api/v1/customers/{duplicate}/erase").status_code == 200
    erased = max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={"duplicate_id": duplicate})
    assert erased.status_code == 422 and erased.json["error"]["code"] == "invalid_transition"
    assert max_.get(f"/api/v1/customers/{zoe['id']}").json["emails"] == ["zoe@example.com"]


def test_a_manager_downloads_everything_about_a_customer_as_one_json_file(max_, sofia, zoe, duplicate):
    max_.post(f"/api/v1/customers/{zoe['id']}/merge", json={"duplicate_id": duplicate})
    max_.get(f"/api/v1/customers/{zoe['id']}")
    answer = max_.get(f"/api/v1/customers/{zoe['id']}/export")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{zoe["id"]}.json"'
    document = answer.json
    assert document["profile"]["name"] == "Zoë Müller"
    assert {i["value"] for i in document["identities"]} >= {"zoe@example.com", "zoe.m@example.org", "+49301234567", zoe["loyalty_code"]}
    assert [(c["purpose"], c["source"]) for c in document["consents"]] == [("personalisation", "store"), ("email_marketing", "web")]
    assert [e["type"] for e in document["events"]] == ["order_placed"] and document["notes"][0]["text"] == "Same person as Zoë?"
    assert document["profile_views"][0]["staff"] == "Max" and document["merged_profiles"][0]["id"] == duplicate
    assert [a["action"] for a in sofia.get("/api/v1/audit", query_string={"subject_id": zoe["id"]}).json["items"]] == [
        "customer.exported",
        "customer.merged",
    ]


def test_after_erasure_the_profile_is_found_by_nothing_and_its_order_totals_remain(ana, max_, sofia, zoe):
    add_event(zoe["id"], "order_placed", data={"order_id": "o1", "lines": [{"sku": "JKT-M", "quantity": 1}], "total": money(12900)})
    add_event(zoe["id"], "product_searched", data={"query": "gift for zoe"})
    ana.post(f"/api/v1/customers/{zoe['id']}/notes", json={"text": "Lives next door"})
    customer_id = clienteling.find_customer(zoe["id"]).id
    answer = max_.post(f"/api/v1/customers/{zoe['id']}/erase")
    assert answer.status_code == 200, answer.json
    assert answer.json["id"] == zoe["id"] and answer.json["name"] == "Erased customer" and answer.json["erased_at"]
    assert ana.get(f"/api/v1/customers/{zoe['id']}").status_code == 404
    for q in ["zoe", "Müller", "zoe@example.com", "+49 30 1234567", zoe["loyalty_code"]]:
        assert ana.get("/api/v1/customers", query_string={"q": q}).json["items"] == [], q
    events = {e.type: e.data for e in db.session.scalars(select(CustomerEvent).where(CustomerEvent.customer_id == customer_id))}
    assert events["order_placed"]["total"] == money(12900) and events["product_searched"] == {}
    again = max_.post(f"/api/v1/customers/{zoe['id']}/erase")
    assert again.status_code == 200 and again.json == answer.json  # a retry answers the same
    assert [a["action"] for a in sofia.get("/api/v1/audit", query_string={"subject_id": zoe["id"]}).json["items"]] == ["customer.erased"]
    # the email is free again: a new profile for it is a new person's
    assert ana.post("/api/v1/customers", json={"name": "Someone New", "email": "zoe@example.com"}).status_code == 201


def test_the_audit_log_pages_newest_first(max_, sofia, zoe):
    for _ in range(3):
        max_.get(f"/api/v1/customers/{zoe['id']}/export")
    first = sofia.get("/api/v1/audit?limit=2").json
    rest = sofia.get("/api/v1/audit", query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    ids = [entry["id"] for entry in first["items"] + rest["items"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and rest["next_cursor"] is None
    assert sofia.get("/api/v1/audit?cursor=bad").status_code == 400


def test_the_openapi_document_describes_the_customer_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    profile = spec["paths"]["/api/v1/customers/{customer_id}"]["get"]
    assert {"200", "400", "401", "403", "404"} <= set(profile["responses"])
    schema = spec["components"]["schemas"]["CustomerOut"]["properties"]
    assert {"id", "name", "emails", "phones", "loyalty_code", "home_store", "sizes", "tags", "consents", "summary"} <= set(schema)
    assert "409" in spec["paths"]["/api/v1/customers"]["post"]["responses"]
    assert "422" in spec["paths"]["/api/v1/customers/{customer_id}/merge"]["post"]["responses"]


def test_a_browser_session_writes_customers_only_with_its_csrf_token(csrf_client, world):
    from tests.web.test_auth import _form_token, _session_token

    credentials = {"email": EMAILS["associate"], "password": PASSWORD}
    assert csrf_client.post("/login", data={**credentials, "csrf_token": _form_token(csrf_client)}).status_code == 302
    csrf_client.get("/tablet/")
    refused = csrf_client.post("/api/v1/customers", json={"name": "Forged"})
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]["message"]
    assert customers() == 0
    accepted = csrf_client.post("/api/v1/customers", json={"name": "Real"}, headers={"X-CSRFToken": _session_token(csrf_client)})
    assert accepted.status_code == 201, accepted.json
