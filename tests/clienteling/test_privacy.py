"""Merging duplicates, exporting everything about a customer, erasing a customer."""

import json

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint, select

import clienteling
from clienteling import (
    ConsentRecord,
    Customer,
    CustomerEvent,
    CustomerIdentity,
    CustomerNote,
    ProfileView,
    erase_customer,
    export_customer,
    merge_customers,
)
from core import db
from core.audit import audit_entries
from core.errors import InvalidTransition, NotFound, ValidationError

from .conftest import money


def count(model, customer):
    return db.session.scalar(select(db.func.count()).select_from(model).where(model.customer_id == customer.id))


@pytest.fixture
def pair(make_customer, event, manager):
    """One person twice: a store profile and a lead the web shop made from an email."""
    survivor = make_customer("Zoë Müller", email="zoe@example.com", phone="+49 30 1234567", sizes={"tops": "M"}, tags=["vip"])
    lead, _ = clienteling.find_or_create_lead("email", "zoe.m@example.org")
    clienteling.update_profile(lead, sizes={"tops": "L", "shoes": "EU 39"}, preferences={"fit": "relaxed"}, tags=["runner"])
    clienteling.record_consent(lead, "personalisation", True, "web")
    event(lead, "product_viewed", sku="JKT-M")
    event(lead, "order_placed", data={"order_id": "o1", "total": money(12900)})
    clienteling.add_note(lead, manager.id, "Asked about trail shoes")
    clienteling.record_profile_view(lead, manager.id)
    db.session.commit()
    return survivor, lead


def test_merge_moves_identities_events_notes_consents_and_views_and_the_old_id_resolves_to_the_survivor(pair, actor):
    survivor, duplicate = pair
    loyalty = duplicate.loyalty_code
    merge_customers(survivor, duplicate, actor)
    db.session.commit()
    for model, expected in [(CustomerIdentity, 5), (CustomerEvent, 2), (CustomerNote, 1), (ConsentRecord, 1), (ProfileView, 1)]:
        assert count(model, survivor) == expected, model
        assert count(model, duplicate) == 0, model
    assert clienteling.find_customer(duplicate.public_id).id == survivor.id
    assert clienteling.find_customer_by_identity("email", "zoe.m@example.org").id == survivor.id
    assert clienteling.find_customer_by_loyalty_code(loyalty).id == survivor.id  # the old card still works
    assert survivor.sizes == {"tops": "M", "shoes": "EU 39"}  # the survivor's own size wins
    assert survivor.preferences == {"fit": "relaxed"} and survivor.tags == ["runner", "vip"]
    assert clienteling.has_consent(survivor, "personalisation")
    assert duplicate.merged_into_id == survivor.id
    [entry] = audit_entries("customer", survivor.public_id, "customer.merged")
    assert entry.details["duplicate"] == duplicate.public_id and entry.details["moved"]["customer_event.customer_id"] == 2
    assert [c.id for c in clienteling.search_page("zoe")[0]] == [survivor.id]


def test_merge_moves_rows_of_tables_added_later_through_their_foreign_key(pair, actor, app):
    """Appointments, orders and the like live in other modules' tables: found by their foreign key."""
    table = Table(
        "test_booking",
        db.metadata,
        Column("id", Integer, primary_key=True),
        Column("customer_id", ForeignKey("customer.id")),
        Column("code", String(20)),
        UniqueConstraint("customer_id", "code", name="uq_test_booking_once"),
    )
    survivor, duplicate = pair
    try:
        table.create(db.engine)
        db.session.execute(table.insert(), [{"customer_id": duplicate.id, "code": "A"}, {"customer_id": duplicate.id, "code": "B"}])
        db.session.execute(table.insert(), [{"customer_id": survivor.id, "code": "B"}])
        db.session.commit()
        merge_customers(survivor, duplicate, actor)
        db.session.commit()
        rows = sorted((row.customer_id, row.code) for row in db.session.execute(select(table)))
        # A moves; the duplicate's B would break the table's unique constraint: it stays, and the audit says so
        assert rows == sorted([(survivor.id, "A"), (survivor.id, "B"), (duplicate.id, "B")])
        [entry] = audit_entries("customer", survivor.public_id, "customer.merged")
        assert entry.details["moved"]["test_booking.customer_id"] == 1 and entry.details["kept_on_duplicate"] == {"test_booking.customer_id": 1}
        export = export_customer(survivor, actor)
        assert [row["code"] for row in export["other"]["test_booking"]] == ["A", "B"]
    finally:
        db.session.rollback()
        table.drop(db.engine)
        db.metadata.remove(table)


def test_a_profile_is_not_merged_into_itself_nor_into_or_from_an_erased_or_merged_one(pair, make_customer, actor):
    survivor, duplicate = pair
    with pytest.raises(ValidationError):
        merge_customers(survivor, survivor, actor)
    merge_customers(survivor, duplicate, actor)
    db.session.commit()
    third = make_customer("Zoe M")
    with pytest.raises(InvalidTransition):
        merge_customers(third, duplicate, actor)  # already merged
    erase_customer(third, actor)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        merge_customers(survivor, third, actor)
    db.session.rollback()
    assert count(CustomerEvent, survivor) == 2


def test_export_holds_the_profile_identities_consent_history_events_notes_views_and_audit(pair, actor):
    survivor, duplicate = pair
    clienteling.record_consent(survivor, "email_marketing", True, "store", actor)
    clienteling.record_consent(survivor, "email_marketing", False, "email", actor)
    merge_customers(survivor, duplicate, actor)
    document = export_customer(survivor, actor)
    db.session.commit()
    json.dumps(document)  # one JSON document
    assert document["profile"]["id"] == survivor.public_id and document["profile"]["name"] == "Zoë Müller"
    assert {(i["kind"], i["value"]) for i in document["identities"]} >= {
        ("email", "zoe@example.com"),
        ("email", "zoe.m@example.org"),
        ("phone", "+49301234567"),
    }
    assert [(c["purpose"], c["granted"], c["source"]) for c in document["consents"]] == [
        ("personalisation", True, "web"),  # the history of both profiles, oldest first
        ("email_marketing", True, "store"),
        ("email_marketing", False, "email"),
    ]
    assert [e["type"] for e in document["events"]] == ["product_viewed", "order_placed"]
    assert document["events"][1]["data"]["total"] == money(12900)
    assert [n["text"] for n in document["notes"]] == ["Asked about trail shoes"] and document["notes"][0]["author"] == "Max Manager"
    assert document["profile_views"][0]["staff"] == "Max Manager"
    assert [p["id"] for p in document["merged_profiles"]] == [duplicate.public_id]
    assert [a["action"] for a in document["audit"]] == ["customer.merged", "customer.exported"]
    assert audit_entries("customer", survivor.public_id, "customer.exported")


def test_erase_removes_personal_data_keeps_the_money_and_the_profile_is_found_no_more(pair, actor, event):
    survivor, duplicate = pair
    event(survivor, "product_searched", data={"query": "zoe's wedding outfit"})
    event(survivor, "feedback_given", channel="store", data={"csat": 5, "comment": "Ask for Zoë at the till"})
    event(
        survivor,
        "purchase_in_store",
        channel="store",
        data={"order_id": "s1", "lines": [{"sku": "JKT-M", "quantity": 1, "unit_price": money(12900), "name": "x"}], "total": money(12900)},
    )
    merge_customers(survivor, duplicate, actor)
    db.session.commit()
    public_id, loyalty = survivor.public_id, survivor.loyalty_code
    erase_customer(survivor, actor)
    db.session.commit()
    for q in ("zoe", "Müller", "zoe@example.com", "zoe.m@example.org", "+49 30 1234567", loyalty):
        assert clienteling.search_page(q)[0] == [], q
    assert clienteling.find_customer_by_identity("email", "zoe@example.com") is None
    assert clienteling.find_customer_by_loyalty_code(loyalty) is None
    with pytest.raises(NotFound):
        clienteling.find_customer(public_id)
    with pytest.raises(NotFound):
        clienteling.find_customer(duplicate.public_id)  # the merged profile's id leads to the erased one
    erased = clienteling.find_customer(public_id, include_inactive=True)
    assert erased.name == "Erased customer" and erased.sizes == {} and erased.tags == [] and erased.preferences == {} and erased.erased_at
    assert db.session.get(Customer, duplicate.id).name == "Erased customer"
    assert count(CustomerIdentity, erased) == count(CustomerNote, erased) == count(ConsentRecord, erased) == 0
    events = {e.type: e for e in db.session.scalars(select(CustomerEvent).where(CustomerEvent.customer_id == erased.id))}
    assert events["purchase_in_store"].data == {
        "order_id": "s1",
        "lines": [{"sku": "JKT-M", "quantity": 1, "unit_price": money(12900)}],
        "total": money(12900),
    }
    assert events["order_placed"].data["total"] == money(12900)
    assert events["product_searched"].data == {} and events["feedback_given"].data == {"csat": 5}
    assert clienteling.lifetime_value(erased)["store"].to_dict() == money(12900)
    [entry] = audit_entries("customer", public_id, "customer.erased")
    assert entry.details["profiles"] == 2


def test_erasing_twice_changes_nothing_the_second_time(make_customer, actor):
    customer = make_customer(email="once@example.com")
    erase_customer(customer, actor)
    db.session.commit()
    erased_at = customer.erased_at
    erase_customer(customer, actor)
    db.session.commit()
    assert customer.erased_at == erased_at and len(audit_entries("customer", customer.public_id, "customer.erased")) == 1


def test_modules_erasers_run_with_every_erased_profile_id(pair, actor):
    survivor, duplicate = pair
    seen = []
    eraser = clienteling.register_eraser(seen.append)
    try:
        merge_customers(survivor, duplicate, actor)
        erase_customer(survivor, actor)
    finally:
        clienteling.privacy._erasers.remove(eraser)
    assert sorted(seen[0]) == sorted([survivor.id, duplicate.id])


def test_concurrent_merges_of_one_duplicate_into_two_profiles_merge_it_once(app, pair, make_customer, actor, row_locks):
    from tests.concurrency import race

    survivor, duplicate = pair
    other = make_customer("Zoe Mueller", email="zoe.other@example.com")
    ids = (survivor.id, other.id, duplicate.id)

    def merge_into(target_id):
        def work():
            return merge_customers(db.session.get(Customer, target_id), db.session.get(Customer, ids[2]), actor).id

        return work

    outcomes = race(app, [merge_into(ids[0]), merge_into(ids[1])])
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
    winner = next(o.value for o in outcomes if o.kind == "ok")
    db.session.expire_all()
    assert db.session.get(Customer, ids[2]).merged_into_id == winner
    assert db.session.scalar(select(db.func.count()).select_from(CustomerEvent).where(CustomerEvent.customer_id == winner)) == 2


def test_erase_blanks_message_addresses_feedback_comments_and_questionnaire_text(make_customer, actor, store):
    from datetime import timedelta

    from clienteling import Appointment, Feedback, Message
    from core import clock

    customer = make_customer("Ida Berg", email="ida@example.com", consents={"email_marketing": True})
    message = Message(
        public_id="msg_1",
        customer_id=customer.id,
        channel="email",
        template="thank_you",
        to_address="ida@example.com",
        subject="Hi Ida",
        body="Dear Ida",
    )
    request = clienteling.request_feedback(customer, actor, "BER-MITTE")[0]
    feedback = Feedback(request_id=request.id, customer_id=customer.id, csat=5, nps=9, comment="Ida loved it", channel="store")
    starts = clock.now() + timedelta(days=1)
    appointment = Appointment(
        public_id="apt_1",
        code="ABC123",
        location_id=store.id,
        service="styling",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        customer_id=customer.id,
        questionnaire={"occasion": "Ida's wedding", "notes": "call Ida on 0171", "sizes": {"tops": "M"}},
    )
    db.session.add_all([message, feedback, appointment])
    db.session.commit()

    erase_customer(customer, actor)
    db.session.commit()

    assert (message.to_address, message.subject, message.body) == ("", "", "")
    assert feedback.comment == "" and (feedback.csat, feedback.nps) == (5, 9)
    assert appointment.questionnaire == {"sizes": {"tops": "M"}}
