"""Appointments in the domain: slots from opening hours and associates' availability in the store's
time zone (across DST changes), booking and its questionnaire, the claims that stop double booking,
check-in and the other transitions, holds, and the prep view."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

import clienteling
import inventory
from accounts import create_staff
from core import db
from core.actor import Actor
from core.errors import InsufficientStock, InvalidTransition, ValidationError
from core.outbox import OutboxEvent, register_endpoint
from tests.concurrency import race

PASSWORD = "correct-horse"
MON_TO_SAT = {day: [("10:00", "20:00")] for day in range(6)}
EVERY_DAY = {day: [("10:00", "20:00")] for day in range(7)}
# Saturday 28 March 2026: the day before Europe's clocks go forward (29 March, 02:00 → 03:00)
SPRING_EVE, SPRING_DAY = date(2026, 3, 28), date(2026, 3, 29)
AUTUMN_DAY = date(2026, 10, 25)  # clocks go back, 03:00 → 02:00
EARLY = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # "now" for tests about later days


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def store(create_location, create_product, set_stock):
    """Berlin Mitte (Europe/Berlin) open every day 10–20, two associates working all day, a small range in stock."""
    create_location("BER", "Berlin Mitte", timezone="Europe/Berlin")
    create_location("LIS", "Lisbon Chiado", timezone="Europe/Lisbon")
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("JKT-S", "JKT-M", "JKT-L"), category="Jackets")
    create_product(handle="trail-runner", title="Trail Runner", skus=("TR-41", "TR-42", "TR-43"), category="Running shoes")
    create_product(handle="hiking-shorts", title="Hiking Shorts", skus=("SH-M", "SH-L"), category="Shorts")
    for sku, units in [("JKT-M", 3), ("JKT-L", 1), ("TR-42", 2), ("SH-M", 0)]:
        set_stock("BER", sku, units)
    ana = create_staff("ana@example.com", "Ana Sousa", "associate", PASSWORD, ["BER"])
    ben = create_staff("ben@example.com", "Ben Okafor", "associate", PASSWORD, ["BER"])
    clienteling.set_store_hours("BER", EVERY_DAY)
    for person in (ana, ben):
        clienteling.set_associate_availability(person, "BER", EVERY_DAY)
    db.session.commit()
    return {"ana": ana, "ben": ben}


def book(starts_at, email="lena@example.com", name="Lena Vogel", service="styling", now=EARLY, **kw):
    return clienteling.book_appointment("BER", service, starts_at, {"email": email, "name": name}, kw.pop("questionnaire", {}), now=now, **kw)


def starts(slots):
    return [slot.starts_at.isoformat() for slot in slots]


# --- slots and time zones ----------------------------------------------------------------------------


def test_slots_follow_the_stores_wall_clock_on_both_sides_of_the_spring_dst_change(store):
    eve = clienteling.available_slots("BER", SPRING_EVE, "styling", now=EARLY)
    day = clienteling.available_slots("BER", SPRING_DAY, "styling", now=EARLY)
    # 10:00 local is 09:00 UTC in winter time and 08:00 UTC in summer time; the last styling starts 19:00 local
    assert starts(eve)[0] == "2026-03-28T09:00:00+00:00" and starts(eve)[-1] == "2026-03-28T18:00:00+00:00"
    assert starts(day)[0] == "2026-03-29T08:00:00+00:00" and starts(day)[-1] == "2026-03-29T17:00:00+00:00"
    assert len(eve) == len(day) == 19  # 10:00 … 19:00 every half hour
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=60) for slot in day)


def test_a_night_opening_across_the_missing_hour_has_only_the_hours_that_exist(store):
    clienteling.set_store_hours("BER", {6: [("01:00", "04:00")]})  # Sunday 01:00–04:00: 02:00–03:00 does not exist on 29 March
    for person in (store["ana"], store["ben"]):
        clienteling.set_associate_availability(person, "BER", {6: [("00:00", "24:00")]})
    slots = clienteling.available_slots("BER", SPRING_DAY, "fitting", now=EARLY)
    # 01:00 CET = 00:00 UTC; 04:00 CEST = 02:00 UTC: two real hours, four half-hour fittings
    assert starts(slots) == ["2026-03-29T00:00:00+00:00", "2026-03-29T00:30:00+00:00", "2026-03-29T01:00:00+00:00", "2026-03-29T01:30:00+00:00"]


def test_a_night_opening_across_the_repeated_hour_offers_it_twice(store):
    clienteling.set_store_hours("BER", {6: [("01:00", "04:00")]})
    for person in (store["ana"], store["ben"]):
        clienteling.set_associate_availability(person, "BER", {6: [("00:00", "24:00")]})
    slots = clienteling.available_slots("BER", AUTUMN_DAY, "fitting", now=EARLY)
    # 01:00 CEST = 23:00 UTC the day before; 04:00 CET = 03:00 UTC: four real hours
    assert len(slots) == 8 and starts(slots)[0] == "2026-10-24T23:00:00+00:00" and starts(slots)[-1] == "2026-10-25T02:30:00+00:00"


def test_the_same_opening_hours_in_another_time_zone_are_other_instants(store, create_location):
    lisbon = create_staff("rui@example.com", "Rui Costa", "associate", PASSWORD, ["LIS"])
    clienteling.set_store_hours("LIS", {5: [("10:00", "12:00")]})
    clienteling.set_associate_availability(lisbon, "LIS", {5: [("10:00", "12:00")]})
    slots = clienteling.available_slots("LIS", SPRING_EVE, "fitting", now=EARLY)
    assert starts(slots) == ["2026-03-28T10:00:00+00:00", "2026-03-28T10:30:00+00:00", "2026-03-28T11:00:00+00:00", "2026-03-28T11:30:00+00:00"]


def test_slots_need_an_associate_for_the_whole_service_and_leave_out_the_past(store):
    clienteling.set_store_hours("BER", {5: [("10:00", "13:00"), ("14:00", "18:00")]})  # closed over lunch
    clienteling.set_associate_availability(store["ana"], "BER", {5: [("10:00", "12:00")]})
    clienteling.set_associate_availability(store["ben"], "BER", {})
    slots = clienteling.available_slots("BER", SPRING_EVE, "personal_shopping", now=EARLY)  # 90 minutes
    assert [s.starts_at.astimezone(clienteling.store_zone(inventory.get_location("BER"))).strftime("%H:%M") for s in slots] == ["10:00", "10:30"]
    later = clienteling.available_slots("BER", SPRING_EVE, "personal_shopping", now=at("2026-03-28T09:10:00+00:00"))  # 10:10 local
    assert [s.starts_at.isoformat() for s in later] == ["2026-03-28T09:30:00+00:00"]


def test_a_closed_day_and_an_unknown_service_or_store(store):
    clienteling.set_store_hours("BER", MON_TO_SAT)
    assert clienteling.available_slots("BER", SPRING_DAY, "styling", now=EARLY) == []  # a Sunday
    with pytest.raises(ValidationError) as error:
        clienteling.available_slots("BER", SPRING_EVE, "massage", now=EARLY)
    assert "service" in error.value.details
    with pytest.raises(ValidationError) as error:
        clienteling.available_slots("NOPE", SPRING_EVE, "styling", now=EARLY)
    assert "store" in error.value.details


def test_an_inactive_or_departed_associate_is_not_offered(store):
    store["ben"].active = False
    slot = at("2026-03-28T09:00:00+00:00")
    book(slot, email="a@example.com")
    assert slot not in [s.starts_at for s in clienteling.available_slots("BER", SPRING_EVE, "styling", now=EARLY)]


# --- booking -------------------------------------------------------------------------------------------


def test_booking_takes_the_slot_for_its_whole_duration_and_the_next_associate_remains(store):
    slot = at("2026-03-28T10:00:00+01:00")
    first = book(slot, service="personal_shopping")
    assert first.status == "booked" and first.ends_at - first.starts_at == timedelta(minutes=90)
    assert len(first.code) == 6 and set(first.code) <= set(clienteling.appointments.CODE_ALPHABET)
    assert first.public_id.startswith("apt_")
    claims = db.session.scalars(db.select(clienteling.AppointmentSlotClaim).where(clienteling.AppointmentSlotClaim.appointment_id == first.id)).all()
    assert sorted(c.starts_at.isoformat() for c in claims) == ["2026-03-28T09:00:00+00:00", "2026-03-28T09:30:00+00:00", "2026-03-28T10:00:00+00:00"]
    second = book(slot, email="max@example.com", name="Max Weber", service="fitting")
    assert {first.associate_id, second.associate_id} == {store["ana"].id, store["ben"].id}
    with pytest.raises(clienteling.SlotUnavailable) as error:
        book(slot, email="zoe@example.com", name="Zoë", service="fitting")
    assert error.value.code == "slot_unavailable"
    # 10:30 is free for the fitting associate (their fitting ended), never for the personal shopper
    third = book(at("2026-03-28T10:30:00+01:00"), email="zoe@example.com", name="Zoë", service="fitting")
    assert third.associate_id == second.associate_id
    with pytest.raises(clienteling.SlotUnavailable):
        book(at("2026-03-28T10:30:00+01:00"), email="ida@example.com", name="Ida", service="styling")  # both busy at 10:30


def test_the_customers_preferred_associate_is_chosen_when_free_else_the_least_booked(store):
    book(at("2026-03-28T12:00:00+01:00"), email="x@example.com", name="X")  # one of them now has a booking
    busy = db.session.scalar(db.select(clienteling.Appointment.associate_id))
    idle = store["ben"].id if busy == store["ana"].id else store["ana"].id
    assert book(at("2026-03-28T15:00:00+01:00"), email="y@example.com", name="Y").associate_id == idle
    loyal = clienteling.create_customer("Lena Vogel", Actor.system(), email="lena@example.com")
    clienteling.update_profile(loyal, preferred_associate_id=busy)
    assert book(at("2026-03-28T16:00:00+01:00")).associate_id == busy


def test_booking_finds_the_customer_by_email_and_names_a_lead(store):
    lead, _ = clienteling.find_or_create_lead("email", "lena@example.com")
    appointment = book(at("2026-03-28T10:00:00+01:00"), email="  Lena@Example.com ")
    assert appointment.customer_id == lead.id and lead.kind == "customer" and lead.name == "Lena Vogel"
    new = book(at("2026-03-28T11:00:00+01:00"), email="new@example.com", name="Nora New", consents={"email_marketing": True, "sms_marketing": False})
    assert new.customer.email == "new@example.com" and clienteling.has_consent(new.customer, "email_marketing")
    assert not clienteling.has_consent(new.customer, "sms_marketing")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": at("2026-03-28T10:15:00+01:00")}, "starts_at"),  # not on the grid
        ({"starts_at": at("2026-03-28T19:30:00+01:00")}, "starts_at"),  # a 60-minute service would run past closing
        ({"starts_at": at("2026-03-28T08:00:00+01:00")}, "starts_at"),  # before opening
        ({"starts_at": datetime(2026, 3, 28, 10, 0)}, "starts_at"),  # no offset
        ({"now": at("2026-03-28T12:00:00+01:00")}, "starts_at"),  # passed
        ({"service": "massage"}, "service"),
        ({"email": "not-an-email"}, "customer.email"),
        ({"name": "  "}, "customer.name"),
        ({"questionnaire": {"budget": {"amount": -5, "currency": "EUR"}}}, "questionnaire.budget"),
        ({"questionnaire": {"budget": {"amount": "300", "currency": "EUR"}}}, "questionnaire.budget"),
        ({"questionnaire": {"skus": ["NOPE-1"]}}, "questionnaire.skus.0"),
        ({"questionnaire": {"skus": ["JKT-M", "NOPE-2"]}}, "questionnaire.skus.1"),
        ({"questionnaire": {"sizes": "M"}}, "questionnaire.sizes"),
        ({"questionnaire": {"colour": "red"}}, "questionnaire.colour"),
    ],
)
def test_bad_input_names_the_field_and_books_nothing(store, change, field):
    kwargs = {"starts_at": at("2026-03-28T10:00:00+01:00"), **change}
    with pytest.raises(ValidationError) as error:
        book(**kwargs)
    assert field in error.value.details, error.value.details
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Appointment)) == 0


def test_the_questionnaire_is_kept_as_answered(store):
    answers = {
        "occasion": "Wedding in June",
        "sizes": {"Tops": "M", "shoes": 42},
        "budget": {"amount": 30000, "currency": "eur"},
        "skus": ["JKT-M", "JKT-M", "TR-42"],
        "notes": " Prefers earth tones ",
    }
    appointment = book(at("2026-03-28T10:00:00+01:00"), questionnaire=answers)
    assert appointment.questionnaire == {
        "occasion": "Wedding in June",
        "notes": "Prefers earth tones",
        "sizes": {"tops": "M", "shoes": "42"},
        "budget": {"amount": 30000, "currency": "EUR"},
        "skus": ["JKT-M", "TR-42"],
    }


def test_booking_writes_the_timeline_and_the_outbox(store):
    register_endpoint("https://shop.example/hooks", ["appointment.booked", "appointment.checked_in"])
    appointment = book(at("2026-03-28T10:00:00+01:00"))
    events = db.session.scalars(db.select(OutboxEvent).order_by(OutboxEvent.id)).all()
    assert [e.type for e in events] == ["appointment.booked"]
    assert events[0].payload["data"] == clienteling.appointment_payload(appointment)
    assert events[0].payload["data"]["customer_id"] == appointment.customer.public_id
    entries, _ = clienteling.timeline_page(appointment.customer)
    assert [(e.type, e.channel, e.data) for e in entries] == [
        (
            "appointment_booked",
            "web",
            {"appointment_id": appointment.public_id, "code": appointment.code, "service": "styling", "starts_at": "2026-03-28T09:00:00+00:00"},
        )
    ]


def test_two_concurrent_bookings_of_the_last_slot_one_wins_one_is_told_slot_unavailable(app, store, row_locks):
    clienteling.set_associate_availability(store["ben"], "BER", {})  # Ana is the only one working
    db.session.commit()
    slot = at("2026-03-28T10:00:00+01:00")
    outcomes = race(app, [lambda: book(slot, email="one@example.com", name="One").id, lambda: book(slot, email="two@example.com", name="Two").id])
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
    assert "slot_unavailable" in next(o.value for o in outcomes if o.kind == "refused")
    assert db.session.scalar(db.select(db.func.count()).select_from(clienteling.Appointment)) == 1


def test_of_two_concurrent_bookings_of_one_slot_with_two_associates_both_win(app, store, row_locks):
    slot = at("2026-03-28T10:00:00+01:00")
    outcomes = race(
        app,
        [lambda: book(slot, email="one@example.com", name="One").associate_id, lambda: book(slot, email="two@example.com", name="Two").associate_id],
    )
    assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes
    assert {o.value for o in outcomes} == {store["ana"].id, store["ben"].id}


# --- after booking ----------------------------------------------------------------------------------


def test_check_in_on_the_day_notifies_through_the_outbox_and_is_idempotent(store):
    register_endpoint("https://shop.example/hooks", ["appointment.checked_in"])
    appointment = book(at("2026-03-28T10:00:00+01:00"))
    kiosk = Actor("kiosk", 7, "Entrance")
    with pytest.raises(InvalidTransition):
        clienteling.check_in(appointment, kiosk, now=at("2026-03-27T10:00:00+01:00"))  # the day before
    clienteling.check_in(appointment, kiosk, now=at("2026-03-28T09:50:00+01:00"))
    assert appointment.status == "checked_in" and appointment.checked_in_at == at("2026-03-28T09:50:00+01:00")
    clienteling.check_in(appointment, kiosk, now=at("2026-03-28T09:52:00+01:00"))  # scanned twice
    events = db.session.scalars(db.select(OutboxEvent)).all()
    assert [e.type for e in events] == ["appointment.checked_in"]
    data = events[0].payload["data"]
    assert data["status"] == "checked_in" and data["associate_id"] == appointment.associate_id and data["customer_name"] == "Lena Vogel"
    entries, _ = clienteling.timeline_page(appointment.customer, type="appointment_checked_in")
    assert [e.channel for e in entries] == ["kiosk"]


def test_transitions_and_what_they_refuse(store):
    done = book(at("2026-03-28T10:00:00+01:00"))
    clienteling.complete(done)
    assert done.status == "completed"
    for change in (clienteling.check_in, clienteling.mark_no_show, clienteling.cancel):
        with pytest.raises(InvalidTransition):
            change(done)
    missed = book(at("2026-03-28T12:00:00+01:00"), email="m@example.com", name="M")
    clienteling.mark_no_show(missed)
    assert missed.status == "no_show"
    with pytest.raises(InvalidTransition):
        clienteling.complete(missed)


def test_cancelling_frees_the_slot_and_releases_the_held_items(store):
    clienteling.set_associate_availability(store["ben"], "BER", {})
    slot = at("2026-03-28T10:00:00+01:00")
    appointment = book(slot, questionnaire={"skus": ["JKT-M"]})
    hold = clienteling.hold_items_for_appointment(appointment, [{"sku": "JKT-M", "quantity": 2}])
    db.session.commit()  # one unit of work each, as in the app (a live stock message goes out after each commit)
    assert hold.kind == "appointment_hold" and hold.reference == appointment.public_id
    assert hold.expires_at - appointment.ends_at >= timedelta(hours=2) - timedelta(minutes=1)
    assert inventory.availability(["JKT-M"], "BER")[0][0]["available"] == 1
    assert slot not in [s.starts_at for s in clienteling.available_slots("BER", SPRING_EVE, "styling", now=EARLY)]
    clienteling.cancel(appointment)
    db.session.commit()
    assert appointment.status == "cancelled"
    assert inventory.availability(["JKT-M"], "BER")[0][0]["available"] == 3
    assert slot in [s.starts_at for s in clienteling.available_slots("BER", SPRING_EVE, "styling", now=EARLY)]
    assert book(slot, email="next@example.com", name="Next").associate_id == store["ana"].id


def test_a_hold_is_all_or_nothing_and_names_the_bad_line(store):
    appointment = book(at("2026-03-28T10:00:00+01:00"))
    with pytest.raises(InsufficientStock):
        clienteling.hold_items_for_appointment(appointment, [{"sku": "JKT-M", "quantity": 1}, {"sku": "JKT-L", "quantity": 2}])
    with pytest.raises(ValidationError) as error:
        clienteling.hold_items_for_appointment(appointment, [{"sku": "NOPE", "quantity": 1}])
    assert "lines.0.sku" in error.value.details
    assert clienteling.appointment_holds(appointment) == []


def test_rescheduling_moves_the_claims(store):
    clienteling.set_associate_availability(store["ben"], "BER", {})
    appointment = book(at("2026-03-28T10:00:00+01:00"))
    clienteling.reschedule(appointment, at("2026-03-28T14:00:00+01:00"), now=EARLY)
    free = [s.starts_at for s in clienteling.available_slots("BER", SPRING_EVE, "styling", now=EARLY)]
    assert at("2026-03-28T10:00:00+01:00") in free and at("2026-03-28T14:00:00+01:00") not in free


def test_the_days_appointments_and_finding_one_by_code(store):
    a = book(at("2026-03-28T15:00:00+01:00"))
    b = book(at("2026-03-28T10:00:00+01:00"), email="b@example.com", name="B")
    book(at("2026-03-29T10:00:00+02:00"), email="c@example.com", name="C")
    assert [x.id for x in clienteling.appointments_for_day("BER", SPRING_EVE)] == [b.id, a.id]
    assert [x.id for x in clienteling.appointments_for_day("BER", SPRING_EVE, associate_id=a.associate_id)] == [
        x.id for x in (b, a) if x.associate_id == a.associate_id
    ]
    typed = " " + a.code.lower()[:3] + "-" + a.code.lower()[3:] + " "
    assert clienteling.find_appointment_by_code(typed).id == a.id
    assert clienteling.find_appointment_by_code("ZZZZZZ") is None and clienteling.find_appointment_by_code("") is None


# --- the prep view --------------------------------------------------------------------------------


def test_the_prep_view_shows_products_in_their_size_with_stock_here_and_online_activity_only_with_consent(store):
    appointment = book(
        at("2026-03-28T10:00:00+01:00"),
        questionnaire={"occasion": "Hiking trip", "sizes": {"tops": "M", "shoes": "42"}, "skus": ["JKT-S", "TR-41"]},
    )
    customer = appointment.customer
    clienteling.record_activity(customer, "product_viewed", channel="web", sku="SH-L")
    clienteling.record_activity(customer, "product_viewed", channel="web", sku="SH-L")
    db.session.flush()

    without = clienteling.prepare(appointment)
    assert not without["personalised"]
    # the e-commerce site's events are gone; the product's own entries (the booking made on the web) stay
    assert all(event.channel not in clienteling.ONLINE_CHANNELS or event.type.startswith("appointment_") for event in without["activity"])
    assert not any(event.type == "product_viewed" for event in without["activity"])
    assert [(p["sku"], p["available_here"], p["reason"]) for p in without["products"]] == [
        ("JKT-M", 3, "asked for in the questionnaire"),  # asked for S, sized M: the M, 3 here
        ("TR-42", 2, "asked for in the questionnaire"),
    ]

    clienteling.record_consent(customer, "personalisation", True, "web")
    clienteling.update_profile(customer, sizes={"bottoms": "L"})
    withconsent = clienteling.prepare(appointment)
    assert withconsent["personalised"] and any(e.type == "product_viewed" for e in withconsent["activity"])
    assert ("SH-L", 0, "viewed online 2 times") in [(p["sku"], p["available_here"], p["reason"]) for p in withconsent["products"]]
    assert withconsent["sizes"] == {"bottoms": "L", "tops": "M", "shoes": "42"}


def test_two_concurrent_bookings_by_one_new_customer_make_one_profile(app, store, row_locks):
    outcomes = race(
        app,
        [
            lambda: book(at("2026-03-28T10:00:00+01:00"), email="twice@example.com", name="Tw Ice").customer_id,
            lambda: book(at("2026-03-28T14:00:00+01:00"), email="twice@example.com", name="Tw Ice").customer_id,
        ],
    )
    assert [o.kind for o in outcomes] == ["ok", "ok"], outcomes
    assert outcomes[0].value == outcomes[1].value
