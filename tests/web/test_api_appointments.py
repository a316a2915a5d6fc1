"""Appointments over HTTP: the partner's slots and bookings (shapes of SPEC §3, idempotent, 409
slot_unavailable, 400 naming the field), staff lists and transitions with store access, kiosk check-in
of its own store only, webhooks in the outbox, the public booking page and the kiosk check-in page."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

import clienteling
import inventory
from accounts import create_staff, register_kiosk
from core import clock, db
from core.outbox import OutboxEvent, register_endpoint

PASSWORD = "correct-horse"
EVERY_DAY = {day: [("09:00", "21:00")] for day in range(7)}


# a Wednesday morning in Berlin (09:00 local): today's and tomorrow's slots are all ahead
NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte", timezone="Europe/Berlin")
    create_location("S2", "Hamburg Altona", timezone="Europe/Berlin")
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("JKT-M", "JKT-L"), category="Jackets")
    set_stock("S1", "JKT-M", 2)
    ana = create_staff("ana@example.com", "Ana Sousa", "associate", PASSWORD, ["S1"])
    hal = create_staff("hal@example.com", "Hal Meyer", "associate", PASSWORD, ["S2"])
    for code, person in (("S1", ana), ("S2", hal)):
        clienteling.set_store_hours(code, EVERY_DAY)
        clienteling.set_associate_availability(person, code, EVERY_DAY)
    db.session.commit()
    return {"ana": ana, "hal": hal, "day": date(2026, 3, 5)}


def first_slot(partner, day, store="S1", service="styling"):
    answer = partner.get(f"/api/v1/stores/{store}/slots?date={day.isoformat()}&service={service}")
    assert answer.status_code == 200, answer.json
    return answer.json["items"][0]


def booking(slot, email="lena@example.com", **extra):
    return {
        "store": "S1",
        "service": "styling",
        "starts_at": slot["starts_at"],
        "customer": {"email": email, "name": "Lena Vogel", "phone": "+49 30 1234567"},
        "questionnaire": {"occasion": "Wedding", "sizes": {"tops": "M"}, "budget": {"amount": 30000, "currency": "EUR"}, "skus": ["JKT-M"]},
        **extra,
    }


def staff_client(app, email="ana@example.com"):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def kiosk_client(app, store):
    _, token = register_kiosk(store, f"{store} entrance")
    db.session.commit()
    client = app.test_client()
    assert client.get(f"/kiosk/activate/{token}").status_code == 302
    return client


# --- partner --------------------------------------------------------------------------------------------


def test_partner_reads_slots_and_books_with_the_contract_shapes(world, partner):
    answer = partner.get(f"/api/v1/stores/S1/slots?date={world['day'].isoformat()}&service=styling")
    assert answer.status_code == 200 and answer.json["next_cursor"] is None
    items = answer.json["items"]
    assert len(items) == 23 and set(items[0]) == {"starts_at", "ends_at"}  # 09:00 … 20:00 local, every half hour
    assert datetime.fromisoformat(items[0]["ends_at"]) - datetime.fromisoformat(items[0]["starts_at"]) == timedelta(hours=1)
    created = partner.post("/api/v1/appointments", json=booking(items[0]), key="book-1")
    assert created.status_code == 201, created.json
    body = created.json
    assert set(body) == {"id", "code", "status", "store", "service", "starts_at", "ends_at", "customer_id"}
    assert body["status"] == "booked" and body["store"] == "S1" and body["service"] == "styling" and body["id"].startswith("apt_")
    assert body["starts_at"] == items[0]["starts_at"] and body["customer_id"].startswith("cus_")
    again = partner.get(f"/api/v1/stores/S1/slots?date={world['day'].isoformat()}&service=styling").json["items"]
    assert items[0] not in again and items[1] not in again  # the hour is taken: 09:00 and 09:30 starts both overlap it


def test_a_retry_with_the_same_key_answers_the_first_booking_and_books_once(world, partner):
    slot = first_slot(partner, world["day"])
    first = partner.post("/api/v1/appointments", json=booking(slot), key="same")
    retry = partner.post("/api/v1/appointments", json=booking(slot), key="same")
    assert first.status_code == retry.status_code == 201 and retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Appointment)) == 1
    other = partner.post("/api/v1/appointments", json=booking(slot, email="other@example.com"), key="same")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    assert partner.post("/api/v1/appointments", json=booking(slot)).json["error"]["details"] == {
        "Idempotency-Key": ["this request needs an Idempotency-Key header"]
    }


def test_a_taken_slot_is_409_slot_unavailable(world, partner):
    slot = first_slot(partner, world["day"])
    assert partner.post("/api/v1/appointments", json=booking(slot), key="a").status_code == 201
    taken = partner.post("/api/v1/appointments", json=booking(slot, email="late@example.com"), key="b")
    assert taken.status_code == 409 and taken.json["error"]["code"] == "slot_unavailable"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/stores/S1/slots?date=2026-02-30&service=styling", "date"),
        ("/api/v1/stores/S1/slots?service=styling", "date"),
        ("/api/v1/stores/S1/slots?date=2026-03-01&service=massage", "service"),
        ("/api/v1/stores/NOPE/slots?date=2026-03-01&service=styling", "store"),
    ],
)
def test_bad_slot_queries_are_400_naming_the_field(world, partner, path, field):
    answer = partner.get(path)
    assert answer.status_code == 400 and field in answer.json["error"]["details"], answer.json


def _shift(slot, minutes):
    return (datetime.fromisoformat(slot["starts_at"]) + timedelta(minutes=minutes)).isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b, s: {**b, "starts_at": _shift(s, 10)}, "starts_at"),
        (lambda b, s: {**b, "starts_at": "tomorrow at ten"}, "starts_at"),
        (lambda b, s: {**b, "service": "massage"}, "service"),
        (lambda b, s: {**b, "questionnaire": {"budget": {"amount": "lots", "currency": "EUR"}}}, "questionnaire.budget"),
        (lambda b, s: {**b, "questionnaire": {"budget": {"amount": -1, "currency": "EUR"}}}, "questionnaire.budget"),
        (lambda b, s: {**b, "questionnaire": {"skus": ["NOPE-1", "JKT-M"]}}, "questionnaire.skus.0"),
        (lambda b, s: {**b, "customer": {"email": "nope", "name": "Lena"}}, "customer.email"),
        (lambda b, s: {**b, "customer": {"email": "lena@example.com"}}, "customer.name"),
    ],
)
def test_bad_bookings_are_400_naming_the_field_and_change_nothing(world, partner, change, field):
    slot = first_slot(partner, world["day"])
    answer = partner.post("/api/v1/appointments", json=change(booking(slot), slot), key=f"bad-{field}")
    assert answer.status_code == 400, answer.json
    assert any(key == field or key.startswith(field + ".") for key in answer.json["error"]["details"]), answer.json
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Appointment)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Customer)) == 0


def test_partner_keys_need_the_appointments_scope_and_never_reach_staff_routes(world, partner, client, create_key):
    key = create_key("inventory:read")
    refused = client.get(f"/api/v1/stores/S1/slots?date={world['day'].isoformat()}&service=styling", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403 and refused.json["error"]["details"] == {"required_scope": "appointments:write"}
    assert client.get("/api/v1/stores/S1/slots?date=2026-03-01&service=styling").status_code == 401
    assert partner.get(f"/api/v1/appointments?store=S1&date={world['day'].isoformat()}").status_code == 403


def test_bookings_and_check_ins_are_written_to_the_outbox_for_webhooks(app, world, partner):
    register_endpoint("https://shop.example/hooks", ["appointment.booked", "appointment.checked_in"])
    db.session.commit()
    today_slot = clienteling.available_slots("S1", clienteling.local_today(inventory.get_location("S1")), "fitting")
    created = partner.post(
        "/api/v1/appointments", json={**booking({"starts_at": clock.isoformat(today_slot[0].starts_at)}), "service": "fitting"}, key="w1"
    )
    assert created.status_code == 201, created.json
    staff = staff_client(app)
    assert staff.post(f"/api/v1/appointments/{created.json['id']}/check-in").status_code == 200
    db.session.expire_all()
    events = db.session.scalars(db.select(OutboxEvent).order_by(OutboxEvent.id)).all()
    assert [e.type for e in events] == ["appointment.booked", "appointment.checked_in"]
    assert {e.payload["data"]["id"] for e in events} == {created.json["id"]}
    assert events[0].payload["id"].startswith("evt_") and events[0].payload["id"] != events[1].payload["id"]


def test_two_concurrent_bookings_over_http_of_the_last_slot_answer_201_and_409(world, live_server, create_key, row_locks):
    key = create_key("appointments:write")
    slot = clienteling.available_slots("S1", world["day"], "styling")[0]
    barrier, answers = threading.Barrier(2), []

    def post(n):
        barrier.wait()
        answer = requests.post(
            live_server + "/api/v1/appointments",
            json=booking({"starts_at": clock.isoformat(slot.starts_at)}, email=f"racer{n}@example.com"),
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"race-{n}"},
            timeout=60,
        )
        answers.append((answer.status_code, answer.json()))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [201, 409], answers
    assert next(body for status, body in answers if status == 409)["error"]["code"] == "slot_unavailable"


# --- staff ----------------------------------------------------------------------------------------------


def test_staff_list_the_day_with_customer_and_questionnaire_and_book_too(app, world):
    staff = staff_client(app)
    day = world["day"].isoformat()
    slot = staff.get(f"/api/v1/stores/S1/slots?date={day}&service=fitting").json["items"][2]
    created = staff.post("/api/v1/appointments", json=booking(slot) | {"service": "fitting"}, headers={"Idempotency-Key": "staff-1"})
    assert created.status_code == 201, created.json
    listed = staff.get(f"/api/v1/appointments?store=S1&date={day}")
    assert listed.status_code == 200
    [item] = listed.json["items"]
    assert item["customer"] == {"id": created.json["customer_id"], "name": "Lena Vogel", "email": "lena@example.com", "phone": "+49301234567"}
    assert item["questionnaire"]["budget"] == {"amount": 30000, "currency": "EUR"} and item["questionnaire"]["skus"] == ["JKT-M"]
    assert item["associate"] == {"id": world["ana"].id, "name": "Ana Sousa"} and item["channel"] == "store"
    assert staff.get(f"/api/v1/appointments?store=S1&date={day}&associate=me").json["items"] == [item]
    assert staff.get(f"/api/v1/appointments?store=S2&date={day}").status_code == 403


def test_staff_of_another_store_get_403_and_transitions_follow_the_rules(app, world, partner):
    slot = first_slot(partner, world["day"])
    apt = partner.post("/api/v1/appointments", json=booking(slot), key="t1").json["id"]
    outsider = staff_client(app, "hal@example.com")
    for action in ("check-in", "complete", "no-show", "cancel"):
        assert outsider.post(f"/api/v1/appointments/{apt}/{action}").status_code == 403
    staff = staff_client(app)
    early = staff.post(f"/api/v1/appointments/{apt}/check-in")
    assert early.status_code == 422 and early.json["error"]["code"] == "invalid_transition"  # tomorrow's
    hold = staff.post(f"/api/v1/appointments/{apt}/holds", json={"lines": [{"sku": "JKT-M", "quantity": 2}]})
    assert hold.status_code == 201 and hold.json["kind"] == "appointment_hold" and hold.json["reference"] == apt
    short = staff.post(f"/api/v1/appointments/{apt}/holds", json={"lines": [{"sku": "JKT-M", "quantity": 1}]})
    assert short.status_code == 409 and short.json["error"]["code"] == "insufficient_stock"
    cancelled = staff.post(f"/api/v1/appointments/{apt}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert staff.post(f"/api/v1/appointments/{apt}/complete").status_code == 422
    assert partner.get("/api/v1/availability?sku=JKT-M&store=S1").json["items"][0]["available"] == 2
    assert staff.post("/api/v1/appointments/apt_nope/check-in").status_code == 404


def _today_booking(partner, store="S1", email="lena@example.com"):
    location = inventory.get_location(store)
    slots = clienteling.available_slots(store, clienteling.local_today(location), "fitting")
    answer = partner.post(
        "/api/v1/appointments",
        json={**booking({"starts_at": clock.isoformat(slots[-1].starts_at)}, email=email), "store": store, "service": "fitting"},
        key=f"today-{store}-{email}",
    )
    assert answer.status_code == 201, answer.json
    return answer.json


def test_the_stores_kiosk_checks_in_by_api_and_a_kiosk_of_another_store_gets_403(app, world, partner):
    apt = _today_booking(partner)
    other = kiosk_client(app, "S2")
    refused = other.post(f"/api/v1/appointments/{apt['id']}/check-in")
    assert refused.status_code == 403 and "Lena" not in refused.get_data(as_text=True)
    own = kiosk_client(app, "S1")
    answer = own.post(f"/api/v1/appointments/{apt['id']}/check-in")
    assert answer.status_code == 200 and answer.json["status"] == "checked_in"
    assert "customer" not in answer.json and "questionnaire" not in answer.json  # a kiosk never sees customer data
    assert own.get(f"/api/v1/appointments?store=S1&date={world['day'].isoformat()}").status_code == 401
    assert own.post(f"/api/v1/appointments/{apt['id']}/complete").status_code == 401


# --- the kiosk page -------------------------------------------------------------------------------------


def test_the_kiosk_page_checks_in_by_code_and_welcomes_by_first_name_only(app, world, partner):
    apt = _today_booking(partner)
    kiosk = kiosk_client(app, "S1")
    assert "Check in" in kiosk.get("/kiosk/").get_data(as_text=True)
    page = kiosk.post("/kiosk/check-in", data={"code": " " + apt["code"].lower() + " "})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Welcome, Lena" in html and "Ana will be with you shortly" in html
    assert "Vogel" not in html and "lena@example.com" not in html and "Wedding" not in html
    assert clienteling.find_appointment(apt["id"]).status == "checked_in"
    again = kiosk.post("/kiosk/check-in", data={"code": apt["code"]})
    assert again.status_code == 200 and "Welcome, Lena" in again.get_data(as_text=True)


def test_the_kiosk_page_refuses_unknown_codes_and_other_stores_bookings_without_details(app, world, partner):
    apt = _today_booking(partner)
    other = kiosk_client(app, "S2")
    refused = other.post("/kiosk/check-in", data={"code": apt["code"]})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "another of our stores" in html and "Lena" not in html
    assert clienteling.find_appointment(apt["id"]).status == "booked"
    assert other.post("/kiosk/check-in", data={"code": "ZZZZZZ"}).status_code == 404
    assert other.post("/kiosk/check-in", data={"code": ""}).status_code == 400


def test_the_kiosk_check_in_form_is_csrf_protected(csrf_client, world, partner):
    apt = _today_booking(partner)
    _, token = register_kiosk("S1", "Door")
    db.session.commit()
    assert csrf_client.get(f"/kiosk/activate/{token}").status_code == 302
    assert csrf_client.post("/kiosk/check-in", data={"code": apt["code"]}).status_code == 400
    form = csrf_client.get("/kiosk/check-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert csrf_client.post("/kiosk/check-in", data={"code": apt["code"], "csrf_token": csrf}).status_code == 200


# --- the public booking page ----------------------------------------------------------------------------


def test_the_public_page_books_and_confirms_with_a_code_and_its_qr(client, world):
    day = world["day"].isoformat()
    page = client.get(f"/book/S1?service=fitting&date={day}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Book an appointment at Berlin Mitte" in html
    slot = re.search(r'name="slot" value="([^"]+)"', html).group(1)
    answer = client.post(
        "/book/S1",
        data={
            "action": "book",
            "service": "fitting",
            "date": day,
            "slot": slot,
            "name": "Nora Berg",
            "email": "nora@example.com",
            "occasion": "Job interview",
            "size_tops": "S",
            "budget": "250",
            "skus": ["JKT-M"],
            "consent_email": "1",
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    confirmation = client.get(answer.headers["Location"])
    html = confirmation.get_data(as_text=True)
    appointment = db.session.scalar(db.select(clienteling.Appointment))
    assert appointment.code in html and "nora@example.com" not in html
    assert appointment.channel == "web" and appointment.questionnaire["budget"] == {"amount": 25000, "currency": "EUR"}
    assert appointment.questionnaire["sizes"] == {"tops": "S"} and appointment.questionnaire["skus"] == ["JKT-M"]
    assert clienteling.has_consent(appointment.customer, "email_marketing") and not clienteling.has_consent(appointment.customer, "sms_marketing")
    qr = client.get(f"/book/confirmation/{appointment.public_id}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and qr.data.startswith(b"<svg")
    assert client.get("/book/confirmation/apt_nope").status_code == 404


def test_the_public_page_says_what_is_wrong_and_keeps_what_was_typed(client, world):
    day = world["day"].isoformat()
    answer = client.post("/book/S1", data={"action": "book", "service": "fitting", "date": day, "name": "Nora", "email": "nope", "budget": "lots"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "Choose a time" in html and "Enter a budget in euros" in html and 'value="Nora"' in html
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Appointment)) == 0
    searched = client.post("/book/S1", data={"action": "search", "q": "jacket", "name": "Nora"})
    assert searched.status_code == 200 and "Trail Jacket" in searched.get_data(as_text=True)
    partial = client.get("/book/S1/products?q=jacket&skus=JKT-M")
    assert partial.status_code == 200 and "checked" in partial.get_data(as_text=True)
    assert client.get(f"/book/S1/slots?service=styling&date={day}").status_code == 200
    assert client.get("/book/NOPE").status_code == 404


def test_the_public_booking_form_is_csrf_protected(csrf_client, world):
    assert csrf_client.post("/book/S1", data={"action": "book"}).status_code == 400


def test_a_taken_time_on_the_public_page_is_409_with_a_friendly_word(client, world, partner):
    slot = first_slot(partner, world["day"])
    assert partner.post("/api/v1/appointments", json=booking(slot), key="p1").status_code == 201
    answer = client.post(
        "/book/S1",
        data={
            "action": "book",
            "service": "styling",
            "date": world["day"].isoformat(),
            "slot": slot["starts_at"],
            "name": "Nora",
            "email": "nora@example.com",
        },
    )
    assert answer.status_code == 409 and "just taken" in answer.get_data(as_text=True)


def test_the_tablet_lists_the_day_and_prepares_an_appointment(app, world, partner):
    slot = first_slot(partner, world["day"])
    apt = partner.post("/api/v1/appointments", json=booking(slot), key="tab").json
    staff = staff_client(app)
    listing = staff.get(f"/tablet/appointments?date={world['day'].isoformat()}")
    assert listing.status_code == 200 and "Lena Vogel" in listing.get_data(as_text=True)
    prep = staff.get(f"/tablet/appointments/{apt['id']}")
    html = prep.get_data(as_text=True)
    assert prep.status_code == 200 and "Wedding" in html and "Trail Jacket" in html and "€300.00" in html
    held = staff.post(f"/tablet/appointments/{apt['id']}/hold", data={"sku": ["JKT-M"]})
    assert held.status_code == 302
    assert "Held 1 item" in staff.get(held.headers["Location"]).get_data(as_text=True)
    assert clienteling.appointment_holds(clienteling.find_appointment(apt["id"]))[0].reference == apt["id"]
    assert staff_client(app, "hal@example.com").get(f"/tablet/appointments/{apt['id']}").status_code == 403
