"""Partner events in batches: validation per event, leads for unknown identities, duplicates never
written twice (also when the same batch is retried concurrently on PostgreSQL)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import clienteling
from clienteling import Customer, CustomerEvent, CustomerIdentity, PurchasedItem, ingest_events
from core import db
from core.actor import Actor
from tests.concurrency import race

PARTNER = Actor("api_key", 1, "shop")
WHEN = "2024-11-12T14:03:00+01:00"


def event(id="e1", type="product_viewed", customer=None, **extra):
    body = {"id": id, "type": type, "occurred_at": WHEN, "customer": customer or {"email": "zoe@example.com"}}
    if type in ("product_viewed", "wishlist_added", "wishlist_removed") and "sku" not in extra:
        body["sku"] = "JKT-M"
    body.update(extra)
    return body


def order(id="o1", email="zoe@example.com", lines=(("JKT-M", 1),), total=12900):
    return event(
        id,
        "order_placed",
        {"email": email},
        data={
            "order_id": f"#{id}",
            "lines": [{"sku": sku, "quantity": qty, "unit_price": {"amount": 12900, "currency": "EUR"}} for sku, qty in lines],
            "total": {"amount": total, "currency": "EUR"},
        },
    )


def events_in_db():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(CustomerEvent))


def test_valid_events_are_accepted_and_land_on_the_customer_timeline(create_product):
    create_product(skus=("JKT-M",))
    customer = clienteling.create_customer("Zoë Weber", PARTNER, email="zoe@example.com")
    db.session.commit()
    result = ingest_events([event("e1"), event("e2", "product_searched", data={"query": "rain jacket"})], PARTNER)
    db.session.commit()
    assert result == {"accepted": 2, "duplicates": 0, "rejected": []}
    rows, _ = clienteling.timeline_page(customer)
    assert [(row.event_id, row.type, row.channel) for row in sorted(rows, key=lambda r: r.event_id)] == [
        ("e1", "product_viewed", "web"),
        ("e2", "product_searched", "web"),
    ]
    viewed = next(row for row in rows if row.event_id == "e1")
    assert viewed.sku == "JKT-M" and viewed.variant_id is not None, "a known SKU is resolved to its variant"
    assert viewed.occurred_at == datetime(2024, 11, 12, 13, 3, tzinfo=UTC)
    assert viewed.actor_kind == "api_key" and viewed.actor_id == 1


def test_an_unknown_sku_is_kept_without_a_variant():
    result = ingest_events([event(sku="ONLINE-ONLY-1")], PARTNER)
    assert result["accepted"] == 1
    row = db.session.scalar(select(CustomerEvent))
    assert row.sku == "ONLINE-ONLY-1" and row.variant_id is None


def test_the_channel_defaults_to_web_and_may_be_any_known_channel():
    ingest_events([event("a"), event("b", channel="app"), event("c", channel="social")], PARTNER)
    channels = dict(db.session.execute(select(CustomerEvent.event_id, CustomerEvent.channel)).all())
    assert channels == {"a": "web", "b": "app", "c": "social"}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id": None}, "events.1.id"),
        ({"id": ""}, "events.1.id"),
        ({"id": "x" * 101}, "events.1.id"),
        ({"type": "product_liked"}, "events.1.type"),
        ({"occurred_at": "yesterday"}, "events.1.occurred_at"),
        ({"occurred_at": "2024-11-12T14:03:00"}, "events.1.occurred_at"),
        ({"occurred_at": "2999-01-01T00:00:00+00:00"}, "events.1.occurred_at"),
        ({"occurred_at": 1731416580}, "events.1.occurred_at"),
        ({"customer": {}}, "events.1.customer"),
        ({"customer": "zoe@example.com"}, "events.1.customer"),
        ({"customer": {"email": "not-an-address"}}, "events.1.customer.email"),
        ({"customer": {"phone": "12"}}, "events.1.customer.phone"),
        ({"customer": {"email": "zoe@example.com", "loyalty": "SH1"}}, "events.1.customer.loyalty"),
        ({"channel": "fax"}, "events.1.channel"),
        ({"sku": None}, "events.1.sku"),
        ({"sku": 12.5}, "events.1.sku"),
        ({"data": []}, "events.1.data"),
        ({"data": {"url": 5}}, "events.1.data.url"),
        ({"ocurred_at": WHEN}, "events.1.ocurred_at"),
        ({"type": "product_searched", "data": {}}, "events.1.data.query"),
        ({"type": "cart_updated", "data": {"cart_id": "c1"}}, "events.1.data.lines"),
        ({"type": "cart_updated", "data": {"cart_id": "c1", "lines": [{"sku": "A", "quantity": -1}]}}, "events.1.data.lines.0.quantity"),
        ({"type": "cart_updated", "data": {"cart_id": "c1", "lines": [], "total": {"amount": 1.5, "currency": "EUR"}}}, "events.1.data.total.amount"),
        ({"type": "cart_abandoned", "data": {}}, "events.1.data.cart_id"),
        (
            {"type": "order_placed", "data": {"order_id": "1", "lines": [{"sku": "A", "quantity": 1}], "total": {"amount": 1, "currency": "EUR"}}},
            "events.1.data.lines.0.unit_price",
        ),
        ({"type": "order_placed", "data": {"order_id": "1", "lines": [], "total": {"amount": 1, "currency": "EUR"}}}, "events.1.data.lines"),
        (
            {
                "type": "order_placed",
                "data": {"order_id": "1", "lines": [{"sku": "A", "quantity": 1, "unit_price": {"amount": 1, "currency": "EUR"}}]},
            },
            "events.1.data.total",
        ),
        (
            {"type": "order_returned", "data": {"order_id": "1", "lines": [{"sku": "A", "quantity": 1}], "total": {"amount": 1, "currency": "eur"}}},
            "events.1.data.total.currency",
        ),
        ({"type": "message_received", "data": {}}, "events.1.data.text"),
        ({"type": "feedback_given", "data": {"csat": 6}}, "events.1.data.csat"),
        ({"type": "feedback_given", "data": {"nps": True}}, "events.1.data.nps"),
        ({"type": "feedback_given", "data": {}}, "events.1.data.csat"),
        ({"data": {"blob": "x" * 20_000}}, "events.1.data"),
    ],
)
def test_an_invalid_event_is_rejected_alone_naming_its_index_and_field(change, field):
    bad = {**event("bad"), **change}
    bad = {key: value for key, value in bad.items() if value is not None or key not in ("id", "sku")}
    if change.get("id") is None and "id" in change:
        bad.pop("id", None)
    if "sku" in change and change["sku"] is None:
        bad.pop("sku", None)
    if "ocurred_at" in change:
        bad.pop("occurred_at")
        field = "events.1.ocurred_at"
    result = ingest_events([event("good-0"), bad, event("good-2")], PARTNER)
    assert result["accepted"] == 2 and result["duplicates"] == 0
    assert len(result["rejected"]) == 1
    rejection = result["rejected"][0]
    assert rejection["index"] == 1
    assert rejection["error"].startswith(field + ": "), rejection["error"]
    assert events_in_db() == 2


def test_an_event_that_is_not_an_object_is_rejected_with_its_index():
    result = ingest_events([event("a"), "nope", 7], PARTNER)
    assert [r["index"] for r in result["rejected"]] == [1, 2]
    assert result["rejected"][0]["error"].startswith("events.1: an event is an object")


def test_the_batch_must_be_a_list_of_at_most_1000():
    from core.errors import ValidationError

    with pytest.raises(ValidationError) as not_a_list:
        ingest_events({"id": "e1"}, PARTNER)
    assert "events" in not_a_list.value.details
    with pytest.raises(ValidationError) as too_many:
        ingest_events([event(f"e{i}") for i in range(1001)], PARTNER)
    assert "events" in too_many.value.details
    assert events_in_db() == 0


def test_an_event_id_twice_in_one_batch_is_one_entry_and_one_duplicate():
    result = ingest_events([event("same"), event("same", "product_searched", data={"query": "x"}), event("other")], PARTNER)
    assert result == {"accepted": 2, "duplicates": 1, "rejected": []}
    assert db.session.scalar(select(CustomerEvent.type).where(CustomerEvent.event_id == "same")) == "product_viewed", "the first one wins"


def test_an_event_id_seen_in_an_earlier_batch_is_a_duplicate():
    assert ingest_events([event("e1"), event("e2")], PARTNER)["accepted"] == 2
    db.session.commit()
    result = ingest_events([event("e2"), event("e3")], PARTNER)
    db.session.commit()
    assert result == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert events_in_db() == 3


def test_an_event_the_product_wrote_itself_is_a_duplicate_too():
    customer = clienteling.create_customer("Zoë", PARTNER, email="zoe@example.com")
    clienteling.record_activity(customer, "product_viewed", channel="web", sku="JKT-M", event_id="shop-1")
    db.session.commit()
    assert ingest_events([event("shop-1")], PARTNER) == {"accepted": 0, "duplicates": 1, "rejected": []}


def test_an_unknown_email_creates_one_lead_for_all_its_events():
    result = ingest_events([event("a", customer={"email": "New@Example.com "}), event("b", customer={"email": "new@example.com"})], PARTNER)
    db.session.commit()
    assert result["accepted"] == 2
    lead = clienteling.find_customer_by_identity("email", "new@example.com")
    assert lead is not None and lead.kind == "lead" and lead.loyalty_code
    assert clienteling.find_customer_by_loyalty_code(lead.loyalty_code).id == lead.id
    assert set(db.session.scalars(select(CustomerEvent.customer_id))) == {lead.id}


def test_an_unknown_phone_creates_a_lead_with_the_phone_in_e164():
    ingest_events([event("a", customer={"phone": "030 1234567"})], PARTNER)
    lead = clienteling.find_customer_by_identity("phone", "+49301234567")
    assert lead is not None and lead.kind == "lead"


def test_external_id_and_email_in_one_event_are_both_attached_to_the_new_lead():
    ingest_events([event("a", customer={"external_id": "shop-42", "email": "ext@example.com"})], PARTNER)
    lead = clienteling.find_customer_by_identity("external", "shop-42")
    assert lead is not None
    assert clienteling.find_customer_by_identity("email", "ext@example.com").id == lead.id
    # a later event by the email alone lands on the same profile
    ingest_events([event("b", customer={"email": "ext@example.com"})], PARTNER)
    assert set(db.session.scalars(select(CustomerEvent.customer_id))) == {lead.id}


def test_a_known_customer_gets_the_new_identities_an_event_brings():
    customer = clienteling.create_customer("Zoë", PARTNER, email="zoe@example.com")
    db.session.commit()
    ingest_events([event("a", customer={"email": "zoe@example.com", "external_id": "shop-7", "phone": "+49 30 1234567"})], PARTNER)
    db.session.commit()
    assert clienteling.find_customer_by_identity("external", "shop-7").id == customer.id
    assert clienteling.find_customer_by_identity("phone", "+49301234567").id == customer.id
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1


def test_an_identity_of_another_customer_is_never_moved_by_an_event():
    zoe = clienteling.create_customer("Zoë", PARTNER, email="zoe@example.com")
    max_ = clienteling.create_customer("Max", PARTNER, phone="+49 30 1234567")
    db.session.commit()
    ingest_events([event("a", customer={"email": "zoe@example.com", "phone": "+49 30 1234567"})], PARTNER)
    assert db.session.scalar(select(CustomerEvent.customer_id)) == zoe.id, "the email decides before the phone"
    assert clienteling.find_customer_by_identity("phone", "+49301234567").id == max_.id


def test_events_for_a_merged_customer_land_on_the_survivor():
    survivor = clienteling.create_customer("Zoë", PARTNER, email="zoe@example.com")
    duplicate = clienteling.create_customer("Zoe W", PARTNER, email="zoe.w@example.com")
    duplicate.merged_into_id = survivor.id
    db.session.commit()
    ingest_events([event("a", customer={"email": "zoe.w@example.com"})], PARTNER)
    assert db.session.scalar(select(CustomerEvent.customer_id)) == survivor.id


def test_events_for_an_erased_customer_are_rejected_and_stored_nowhere():
    erased = clienteling.create_customer("Gone", PARTNER, email="gone@example.com")
    erased.erased_at = datetime.now(UTC)
    db.session.commit()
    result = ingest_events([event("a", customer={"email": "gone@example.com"}), event("b")], PARTNER)
    assert result["accepted"] == 1 and result["rejected"][0]["index"] == 0
    assert "erased" in result["rejected"][0]["error"]


def test_order_lines_are_indexed_for_bought_together(create_product):
    create_product(skus=("JKT-M",))
    create_product(handle="trail-socks", title="Trail Socks", skus=("SOCK-M",))
    ingest_events([order("o1", lines=(("JKT-M", 1), ("SOCK-M", 2), ("UNKNOWN", 1)))], PARTNER)
    items = db.session.execute(select(PurchasedItem.sku, PurchasedItem.quantity, PurchasedItem.product_id).order_by(PurchasedItem.sku)).all()
    assert [(sku, qty) for sku, qty, _ in items] == [("JKT-M", 1), ("SOCK-M", 2), ("UNKNOWN", 1)]
    assert items[0][2] is not None and items[2][2] is None
    # a duplicate order indexes nothing twice
    ingest_events([order("o1", lines=(("JKT-M", 1),))], PARTNER)
    assert db.session.scalar(select(func.count()).select_from(PurchasedItem)) == 3


def test_a_sale_in_store_recorded_by_the_product_is_indexed_too(create_product):
    create_product(skus=("JKT-M",))
    customer = clienteling.create_customer("Zoë", PARTNER, email="zoe@example.com")
    clienteling.record_activity(customer, "purchase_in_store", data={"order_id": "S-1", "lines": [{"sku": "JKT-M", "quantity": 1}]})
    assert db.session.scalar(select(PurchasedItem.sku)) == "JKT-M"


def test_a_thousand_events_with_new_and_known_customers_in_one_batch():
    known = [clienteling.create_customer(f"Known {i}", PARTNER, email=f"known{i}@example.com") for i in range(20)]
    db.session.commit()
    batch = [event(f"e{i}", customer={"email": f"known{(i // 2) % 20}@example.com" if i % 2 else f"new{i % 50}@example.com"}) for i in range(1000)]
    result = ingest_events(batch, PARTNER)
    db.session.commit()
    assert result == {"accepted": 1000, "duplicates": 0, "rejected": []}
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.kind == "lead")) == 25
    per_customer = dict(db.session.execute(select(CustomerEvent.customer_id, func.count()).group_by(CustomerEvent.customer_id)).all())
    assert all(per_customer[c.id] == 25 for c in known)


def test_the_same_batch_retried_concurrently_is_stored_exactly_once(app, row_locks):
    """Eight requests with one batch (new leads and a known customer) at once: each event once,
    one lead per new email, and the counts add up."""
    clienteling.create_customer("Known", PARTNER, email="known@example.com")
    db.session.commit()
    batch = [event(f"r{i}", customer={"email": "known@example.com" if i % 3 == 0 else f"racer{i % 7}@example.com"}) for i in range(300)]

    outcomes = race(app, [lambda: ingest_events(batch, PARTNER) for _ in range(8)])
    assert all(outcome.kind == "ok" for outcome in outcomes), outcomes
    assert sum(outcome.value["accepted"] for outcome in outcomes) == 300
    assert all(outcome.value["accepted"] + outcome.value["duplicates"] == 300 for outcome in outcomes)
    db.session.expire_all()
    assert events_in_db() == 300
    assert db.session.scalar(select(func.count(func.distinct(CustomerEvent.event_id)))) == 300
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.kind == "lead")) == 7, "one lead per new email"
    assert db.session.scalar(select(func.count()).select_from(CustomerIdentity).where(CustomerIdentity.kind == "email")) == 8
    orphans = db.session.scalar(
        select(func.count()).select_from(Customer).where(~Customer.id.in_(select(CustomerEvent.customer_id)), Customer.kind == "lead")
    )
    assert orphans == 0, "a lead that lost the race is not left behind"


def test_overlapping_batches_in_opposite_orders_do_not_deadlock(app, row_locks):
    forward = [event(f"x{i}", customer={"email": f"p{i}@example.com"}) for i in range(200)]
    backward = list(reversed(forward))
    outcomes = race(app, [lambda: ingest_events(forward, PARTNER), lambda: ingest_events(backward, PARTNER)] * 2)
    assert all(outcome.kind == "ok" for outcome in outcomes), outcomes
    assert events_in_db() == 200
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 200


def test_an_event_more_than_a_day_ahead_is_refused_but_clock_skew_is_not():
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    result = ingest_events([event("a", occurred_at=soon)], PARTNER)
    assert result["accepted"] == 1
