"""Recommendations an associate can read out: online interest in stock here in the customer's size,
then what others often bought with what they bought; each with its reason in words."""

from datetime import UTC, datetime, timedelta

import pytest

import clienteling
import inventory
from clienteling import ingest_events, recommend
from core import db
from core.actor import Actor

PARTNER = Actor("api_key", 1, "shop")
STAFF = Actor("staff", 1, "Ana")
NOW = datetime(2024, 11, 15, 12, 0, tzinfo=UTC)  # a Friday
SIZES = ("S", "M", "L")


@pytest.fixture
def shop(create_location, create_product, set_stock):
    """Two stores; a jacket, a fleece, trail shoes, socks and a beanie in sizes; stock and shelves at S1."""
    create_location("S1")
    create_location("S2")
    create_product(handle="trail-jacket", title="Trail Jacket", skus=[f"JKT-{s}" for s in SIZES], category="Jackets")
    create_product(handle="ridge-fleece", title="Ridge Fleece", skus=[f"FLC-{s}" for s in SIZES], category="Fleeces")
    create_product(handle="trail-runner", title="Trail Runner", skus=["SHOE-41", "SHOE-42", "SHOE-43"], category="Trail shoes")
    create_product(handle="merino-socks", title="Merino Socks", skus=["SOCK-M", "SOCK-L"], category="Socks")
    create_product(handle="beanie", title="Wool Beanie", skus=["BEAN-OS"], category="Beanies")
    for sku, units in {"JKT-S": 4, "JKT-M": 2, "JKT-L": 0, "FLC-M": 1, "FLC-L": 3, "SHOE-42": 2, "SOCK-M": 5, "BEAN-OS": 6}.items():
        set_stock("S1", sku, units)
    set_stock("S2", "JKT-L", 5)
    inventory.set_shelf_position("S1", "JKT-M", "Outerwear", "4", "2")
    db.session.commit()


def customer(email="zoe@example.com", personalisation=True, sizes=None):
    consents = {"personalisation": personalisation}
    made = clienteling.create_customer(
        "Zoë Weber", STAFF, email=email, consents=consents, sizes=sizes if sizes is not None else {"tops": "M", "shoes": "EU 42"}
    )
    db.session.commit()
    return made


_ids = iter(range(10**6))


def online(email, type, at, sku=None, data=None):
    body = {"id": f"ev-{next(_ids)}", "type": type, "occurred_at": at.isoformat(), "customer": {"email": email}}
    if sku:
        body["sku"] = sku
    if data is not None:
        body["data"] = data
    return body


def order(email, at, skus, channel="web"):
    lines = [{"sku": sku, "quantity": 1, "unit_price": {"amount": 5000, "currency": "EUR"}} for sku in skus]
    body = online(
        email, "order_placed", at, data={"order_id": f"#{next(_ids)}", "lines": lines, "total": {"amount": 5000 * len(skus), "currency": "EUR"}}
    )
    body["channel"] = channel
    return body


def send(*events):
    result = ingest_events(list(events), PARTNER)
    assert result["rejected"] == [], result
    db.session.commit()


def test_viewed_online_items_in_stock_here_in_their_size_come_first_with_a_reason(shop):
    zoe = customer()
    send(
        *[online("zoe@example.com", "product_viewed", NOW - timedelta(days=d), "JKT-L") for d in (1, 2, 3)],
        online("zoe@example.com", "product_viewed", NOW - timedelta(days=1), "FLC-L"),
    )
    items = recommend(zoe, "S1", now=NOW)
    assert [item["sku"] for item in items] == ["JKT-M", "FLC-M"], "their size (tops: M), not the size they looked at"
    jacket = items[0]
    assert jacket["reason"] == "viewed online 3 times this week; 2 in stock here in M, Outerwear, aisle 4, bay 2"
    assert jacket["title"] == "Trail Jacket" and jacket["product_handle"] == "trail-jacket"
    assert jacket["size"] == "M" and jacket["available_here"] == 2 and jacket["shelf"] == "Outerwear, aisle 4, bay 2"
    assert items[1]["reason"] == "viewed online once this week; 1 in stock here in M"
    assert jacket["score"] > items[1]["score"]


def test_more_recent_and_more_frequent_interest_ranks_higher(shop):
    zoe = customer(sizes={})
    send(
        online("zoe@example.com", "product_viewed", NOW - timedelta(days=20), "JKT-S"),
        online("zoe@example.com", "product_viewed", NOW - timedelta(days=19), "JKT-S"),
        online("zoe@example.com", "product_viewed", NOW - timedelta(hours=2), "BEAN-OS"),
        online("zoe@example.com", "product_viewed", NOW - timedelta(hours=3), "SOCK-M"),
        online("zoe@example.com", "product_viewed", NOW - timedelta(hours=4), "SOCK-M"),
    )
    assert [item["sku"] for item in recommend(zoe, "S1", now=NOW)] == ["SOCK-M", "BEAN-OS", "JKT-S"]
    old = recommend(zoe, "S1", now=NOW)[2]
    assert old["reason"] == "viewed online twice since 26 Oct; 4 in stock here in S"


def test_a_wishlist_item_says_since_when_and_a_removed_one_is_gone(shop):
    zoe = customer()
    send(
        online("zoe@example.com", "wishlist_added", datetime(2024, 11, 12, 9, 0, tzinfo=UTC), "FLC-M"),
        online("zoe@example.com", "wishlist_added", datetime(2024, 11, 10, 9, 0, tzinfo=UTC), "JKT-M"),
        online("zoe@example.com", "wishlist_removed", datetime(2024, 11, 11, 9, 0, tzinfo=UTC), "JKT-M"),
    )
    items = recommend(zoe, "S1", now=NOW)
    assert [item["reason"] for item in items] == ["on their wishlist since 12 Nov; 1 in stock here in M"]


def test_an_item_left_in_a_cart_is_recommended_until_it_is_bought(shop):
    zoe = customer()
    cart = online("zoe@example.com", "cart_updated", NOW - timedelta(days=2), data={"cart_id": "c1", "lines": [{"sku": "SHOE-42", "quantity": 1}]})
    send(cart, online("zoe@example.com", "cart_abandoned", NOW - timedelta(days=1), data={"cart_id": "c1"}))
    assert [item["reason"] for item in recommend(zoe, "S1", now=NOW)] == ["left in their online cart on 13 Nov; 2 in stock here in 42"]
    send(order("zoe@example.com", NOW - timedelta(hours=1), ["SHOE-42"]))
    assert recommend(zoe, "S1", now=NOW) == []


def test_nothing_when_their_size_is_not_in_stock_here(shop):
    zoe = customer(sizes={"jackets": "L"})
    send(online("zoe@example.com", "product_viewed", NOW - timedelta(days=1), "JKT-S"))
    assert recommend(zoe, "S1", now=NOW) == [], "L is only at S2"
    assert [item["sku"] for item in recommend(zoe, "S2", now=NOW)] == ["JKT-L"]


def test_without_a_known_size_any_variant_in_stock_the_one_they_viewed_first(shop):
    zoe = customer(sizes={})
    send(online("zoe@example.com", "product_viewed", NOW - timedelta(days=1), "JKT-M"))
    assert recommend(zoe, "S1", now=NOW)[0]["sku"] == "JKT-M"
    send(online("zoe@example.com", "product_viewed", NOW - timedelta(hours=1), "JKT-L"))
    assert recommend(zoe, "S1", now=NOW)[0]["sku"] == "JKT-S", "L is not here: the size with most units"


def test_online_activity_is_not_used_without_personalisation_consent(shop):
    zoe = customer(personalisation=False)
    send(online("zoe@example.com", "product_viewed", NOW - timedelta(days=1), "JKT-M"))
    assert recommend(zoe, "S1", now=NOW) == []
    clienteling.record_consent(zoe, "personalisation", True, "store", STAFF)
    db.session.commit()
    assert [item["sku"] for item in recommend(zoe, "S1", now=NOW)] == ["JKT-M"]


def test_then_what_others_often_bought_with_what_they_bought(shop):
    for number in range(3):
        send(order(f"other{number}@example.com", NOW - timedelta(days=40), ["JKT-S", "SOCK-L", "BEAN-OS"]))
    send(order("other9@example.com", NOW - timedelta(days=40), ["JKT-S", "FLC-L"]))  # once is not often
    zoe = customer(sizes={"tops": "M", "shoes": "EU 42", "socks": "L"})
    send(order("zoe@example.com", datetime(2024, 10, 3, 12, 0, tzinfo=UTC), ["JKT-M"]))
    send(online("zoe@example.com", "product_viewed", NOW - timedelta(days=1), "SHOE-43"))
    items = recommend(zoe, "S1", now=NOW)
    assert [(item["sku"], item["source"]) for item in items] == [("SHOE-42", "online_interest"), ("BEAN-OS", "bought_together")]
    assert items[1]["reason"] == "often bought with the Trail Jacket they bought in October; 6 in stock here in OS"
    # socks are bought with the jacket as often, but their size (L) is not in stock here


def test_a_purchase_in_store_counts_without_consent_an_online_order_does_not(shop):
    for number in range(2):
        send(order(f"other{number}@example.com", NOW - timedelta(days=40), ["JKT-S", "BEAN-OS"]))
    zoe = customer(personalisation=False)
    send(order("zoe@example.com", NOW - timedelta(days=30), ["JKT-M"]))
    assert recommend(zoe, "S1", now=NOW) == [], "their online order is online activity"
    clienteling.record_activity(
        zoe, "purchase_in_store", occurred_at=datetime(2024, 9, 1, tzinfo=UTC), data={"lines": [{"sku": "JKT-M", "quantity": 1}]}
    )
    db.session.commit()
    items = recommend(zoe, "S1", now=NOW)
    assert [item["reason"] for item in items] == ["often bought with the Trail Jacket they bought in September; 6 in stock here in OS"]


def test_an_unknown_store_is_a_validation_error(shop):
    from core.errors import ValidationError

    with pytest.raises(ValidationError):
        recommend(customer(), "NOPE")


def test_limit_caps_the_list(shop):
    zoe = customer(sizes={})
    send(
        *[online("zoe@example.com", "product_viewed", NOW - timedelta(hours=h), sku) for h, sku in enumerate(["JKT-S", "FLC-L", "BEAN-OS", "SOCK-M"])]
    )
    assert len(recommend(zoe, "S1", limit=2, now=NOW)) == 2
