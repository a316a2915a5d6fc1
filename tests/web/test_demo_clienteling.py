"""The demo client book that ``seed-demo`` loads with the catalogue: a few hundred customers with
months of history in the shapes real data has, consent of every kind, and one showcase customer."""

from __future__ import annotations

import unicodedata
from collections import Counter
from datetime import timedelta

import phonenumbers
import pytest
from sqlalchemy import func, select

import clienteling
import inventory
from clienteling import ConsentRecord, Customer, CustomerEvent, CustomerIdentity, CustomerNote
from core import clock, db
from web import demo, demo_clienteling

SMALL = 12


@pytest.fixture
def seeded():
    summary = demo.seed(products=SMALL)
    db.session.commit()
    return summary


def counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Customer, CustomerIdentity, ConsentRecord, CustomerEvent, CustomerNote)
    )


def test_the_demo_holds_a_few_hundred_customers_and_leads_with_history(seeded):
    customers, identities, consents, events, notes = counts()
    # the client book, and the appointment demo's own few customers (found by email, so never doubled)
    from web import demo_appointments

    assert customers == demo_clienteling.CUSTOMERS + sum(spec[0] != demo_clienteling.SHOWCASE_EMAIL for spec in demo_appointments.CUSTOMERS)
    assert f"{demo_clienteling.CUSTOMERS} customers" in seeded
    kinds = Counter(db.session.scalars(select(Customer.kind)))
    assert 15 <= kinds["lead"] <= 80 and kinds["customer"] >= 240
    assert events >= 2_000 and notes >= 50
    homes = Counter(c.home_store.code for c in db.session.scalars(select(Customer)) if c.home_store)
    assert set(homes) == {"BER-MITTE", "MUC-MAX", "AMS-CENTRUM"}
    leads = list(db.session.scalars(select(Customer).where(Customer.kind == "lead")))
    assert all(lead.name == "" and lead.email and lead.identity_values("phone") == [] for lead in leads)
    associates = Counter(c.preferred_associate.email for c in db.session.scalars(select(Customer)) if c.preferred_associate)
    assert len(associates) >= 3


def test_demo_names_have_accents_and_emails_and_phones_are_real_shapes(seeded):
    names = [name for name in db.session.scalars(select(Customer.name)) if name]
    accented = [name for name in names if unicodedata.normalize("NFKD", name) != name]
    assert len(accented) > 50
    assert any("ø" in name or "å" in name.lower() for name in names) and any("ł" in name.lower() for name in names)
    emails = list(db.session.scalars(select(CustomerIdentity.value).where(CustomerIdentity.kind == "email")))
    assert all(email.rsplit("@", 1)[1] in demo_clienteling.EMAIL_DOMAINS for email in emails) and len(emails) == len(set(emails))
    phones = list(db.session.scalars(select(CustomerIdentity.value).where(CustomerIdentity.kind == "phone")))
    regions = Counter(phonenumbers.region_code_for_number(phonenumbers.parse(p)) for p in phones)
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) and clienteling.normalise_phone(p) == p for p in phones)
    assert set(regions) == {"DE", "NL"} and regions["DE"] > 50 and regions["NL"] > 20
    codes = list(db.session.scalars(select(Customer.loyalty_code)))
    assert len(codes) == len(set(codes)) and all(clienteling.find_customer_by_loyalty_code(c) is not None for c in codes[:5])


def test_demo_sizes_tags_and_preferences_are_filled_in(seeded):
    customers = [c for c in db.session.scalars(select(Customer)) if c.kind == "customer"]
    categories = Counter(category for c in customers for category in c.sizes)
    assert {"tops", "bottoms", "shoes", "dresses"} <= set(categories)
    tags = Counter(tag for c in customers for tag in c.tags)
    assert tags["vip"] > 5 and tags["newsletter"] > 20 and tags["sustainability"] > 10
    assert sum(1 for c in customers if c.preferences) > 50


def test_every_consent_purpose_is_granted_for_some_and_withdrawn_with_history_for_others(seeded):
    records = list(db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)))
    by_customer_purpose: dict = {}
    for record in records:
        by_customer_purpose.setdefault((record.customer_id, record.purpose), []).append(record)
    for purpose in clienteling.CONSENT_PURPOSES:
        histories = [h for (_, p), h in by_customer_purpose.items() if p == purpose]
        assert sum(1 for h in histories if h[-1].granted) > 10, purpose
        withdrawn = [h for h in histories if len(h) > 1 and h[0].granted and not h[-1].granted]
        assert withdrawn, f"{purpose}: a grant later withdrawn"
        assert all(h[-1].recorded_at > h[0].recorded_at for h in withdrawn)
    assert {"web", "store", "app", "email"} <= {r.source for r in records}
    assert any(r.actor_kind == "staff" and r.source == "store" for r in records)


def test_demo_history_uses_catalogue_skus_and_the_shapes_of_partner_events(seeded):
    events = list(db.session.scalars(select(CustomerEvent)))
    types = Counter(e.type for e in events)
    for kind in ("product_viewed", "wishlist_added", "cart_updated", "cart_abandoned", "order_placed", "order_returned", "message_received"):
        assert types[kind] > 0, kind
    assert {"web", "app", "email", "sms"} <= {e.channel for e in events}  # and the store: appointments
    skus = {e.sku for e in events if e.sku}
    assert all(inventory.find_variant_by_sku(sku) is not None for sku in skus)
    assert all(e.variant_id is not None for e in events if e.sku)
    now = clock.now()
    assert all(e.occurred_at <= now for e in events)
    assert min(e.occurred_at for e in events) < now - timedelta(days=90), "months of history"
    for event in events:
        if event.type in ("order_placed", "order_returned"):
            assert set(event.data) == {"order_id", "lines", "total"}
            assert all(
                set(line) == {"sku", "quantity", "unit_price"} and set(line["unit_price"]) == {"amount", "currency"} for line in event.data["lines"]
            )
            assert event.data["total"]["amount"] == sum(line["quantity"] * line["unit_price"]["amount"] for line in event.data["lines"])
        elif event.type == "cart_updated":
            assert {"cart_id", "lines", "total"} == set(event.data) and all(set(line) == {"sku", "quantity"} for line in event.data["lines"])
        elif event.type == "cart_abandoned":
            assert set(event.data) == {"cart_id"}
        elif event.type in ("product_viewed", "wishlist_added"):
            assert event.sku and event.data == {}
    author_ids = {n.author_id for n in db.session.scalars(select(CustomerNote))}
    assert author_ids and None not in author_ids


def test_the_showcase_customer_has_recent_interest_in_things_in_stock_at_berlin_mitte_in_her_sizes(seeded):
    lea = clienteling.find_customer_by_loyalty_code(demo_clienteling.SHOWCASE_CODE)
    assert lea.name == "Lea Schäfer" and lea.home_store.code == "BER-MITTE" and lea.preferred_associate.email == "ana@northwind.example"
    assert clienteling.has_consent(lea, "personalisation") and not clienteling.has_consent(lea, "sms_marketing")
    recent, _ = clienteling.timeline_page(lea, limit=200)
    fortnight = [e for e in recent if e.occurred_at > clock.now() - timedelta(days=14)]
    viewed = Counter(e.sku for e in fortnight if e.type == "product_viewed")
    assert viewed["RTJ-MOSS-M"] == 3 and viewed["T3RS-GLACIER-42"] == 2
    items, _ = inventory.availability(list(viewed), "BER-MITTE")
    assert all(item["available"] > 0 for item in items)
    assert {"wishlist_added", "cart_updated", "cart_abandoned"} <= {e.type for e in fortnight}
    assert any(e.type == "order_placed" for e in recent)
    notes = clienteling.list_notes(lea)
    assert notes[0].pinned and {n.author.email for n in notes} == {"ana@northwind.example"}


def test_re_seeding_the_client_book_adds_nothing(seeded):
    before = counts()
    catalogue = demo.plan_catalogue(SMALL)
    assert demo_clienteling.seed_customers(catalogue, demo.plan_stock(catalogue)) == "demo customers already loaded"
    db.session.commit()
    assert counts() == before


def test_the_client_book_is_the_same_on_every_run():
    import random

    staff = {"BER-MITTE": ["ana@northwind.example"], "MUC-MAX": ["lukas@northwind.example"], "AMS-CENTRUM": ["sanne@northwind.example"]}
    first = demo_clienteling.plan_people(random.Random(demo_clienteling.RANDOM_SEED), staff)
    second = demo_clienteling.plan_people(random.Random(demo_clienteling.RANDOM_SEED), staff)
    assert [(p.name, p.email, p.phone, p.code, p.sizes) for p in first] == [(p.name, p.email, p.phone, p.code, p.sizes) for p in second]


def test_the_banner_names_the_demo_customer_to_try(seeded):
    banner = demo.describe(8000)
    assert (
        f"Try Lea Schäfer, loyalty code {demo_clienteling.SHOWCASE_CODE}: http://localhost:8000/tablet/c/{demo_clienteling.SHOWCASE_CODE}" in banner
    )
    from web import demo_appointments

    assert (
        f"Demo customers: {demo_clienteling.CUSTOMERS + sum(spec[0] != demo_clienteling.SHOWCASE_EMAIL for spec in demo_appointments.CUSTOMERS)}"
        in banner
    )


def test_the_demo_associate_opens_the_showcase_customer_from_her_card(client, seeded):
    assert client.post("/login", data={"email": "ana@northwind.example", "password": demo.DEMO_PASSWORD}).status_code == 302
    response = client.get(f"/tablet/c/{demo_clienteling.SHOWCASE_CODE}", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Lea Schäfer" in page and "Viewed Ridgeline Trail Jacket online" in page
    book = client.get("/tablet/clients?mine=1").get_data(as_text=True)
    assert "Lea Schäfer" in book and "Your client" in book
