"""The profile summary: what a customer viewed and kept, their carts, what they spent."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import insert

import clienteling
from clienteling import CustomerEvent, customer_summary, wishlist_skus
from core import db

from .conftest import NOW, money

CONSENTED = {"personalisation": True}


def test_viewed_recently_counts_views_of_the_last_30_days_most_first_with_titles(make_customer, event, create_product):
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("JKT-M", "JKT-L"))
    create_product(handle="beanie", title="Beanie", skus=("BEANIE-OS",))
    customer = make_customer(consents=CONSENTED)
    for days in (1, 2, 3):
        event(customer, "product_viewed", days=days, sku="JKT-M")
    event(customer, "product_viewed", days=0.5, sku="BEANIE-OS")
    event(customer, "product_viewed", days=40, sku="JKT-L")  # too old
    event(customer, "product_viewed", days=45, sku="JKT-L")
    event(customer, "product_viewed", days=2, sku="GONE-1")  # no longer in the catalogue
    db.session.commit()
    viewed = customer_summary(customer, now=NOW)["viewed_recently"]
    assert viewed == [
        {"sku": "JKT-M", "title": "Trail Jacket — M", "count": 3},
        {"sku": "BEANIE-OS", "title": "Beanie — OS", "count": 1},
        {"sku": "GONE-1", "title": "GONE-1", "count": 1},
    ]


def test_wishlist_keeps_what_was_added_and_not_removed_since_newest_first(make_customer, event):
    customer = make_customer(consents=CONSENTED)
    event(customer, "wishlist_added", days=10, sku="A")
    event(customer, "wishlist_added", days=9, sku="B")
    event(customer, "wishlist_removed", days=8, sku="B")
    event(customer, "wishlist_added", days=7, sku="C")
    event(customer, "wishlist_removed", days=6, sku="C")
    event(customer, "wishlist_added", days=5, sku="C")  # added again
    event(customer, "wishlist_removed", days=4, sku="D")  # removed, never added: nothing
    db.session.commit()
    assert [item["sku"] for item in customer_summary(customer, now=NOW)["wishlist"]] == ["C", "A"]
    assert wishlist_skus(customer.id) == ["C", "A"]


def test_open_and_abandoned_carts_follow_each_carts_newest_event(make_customer, event):
    customer = make_customer(consents=CONSENTED)
    event(customer, "cart_updated", days=3, data={"cart_id": "open-1", "lines": [{"sku": "A", "quantity": 1}]})
    event(customer, "cart_updated", days=2, data={"cart_id": "open-1", "lines": [{"sku": "A", "quantity": 2}], "total": money(5000)})
    event(customer, "cart_updated", days=5, data={"cart_id": "gone-1", "lines": [{"sku": "B", "quantity": 1}]})
    event(customer, "cart_abandoned", days=4, data={"cart_id": "gone-1"})
    event(customer, "cart_updated", days=6, data={"cart_id": "bought-1", "lines": [{"sku": "C", "quantity": 1}]})
    event(customer, "order_placed", days=5.5, data={"order_id": "o-1", "cart_id": "bought-1", "lines": [], "total": money(1000)})
    event(customer, "cart_updated", days=1, data={"cart_id": "emptied-1", "lines": []})
    event(customer, "cart_updated", days=60, data={"cart_id": "old-1", "lines": [{"sku": "D", "quantity": 1}]})  # outside the window
    db.session.commit()
    summary = customer_summary(customer, now=NOW)
    assert summary["open_carts"] == [
        {
            "cart_id": "open-1",
            "lines": [{"sku": "A", "quantity": 2}],
            "total": money(5000),
            "updated_at": (NOW - timedelta(days=2)).isoformat(),
            "abandoned": False,
        }
    ]
    assert [(cart["cart_id"], cart["abandoned"], cart["total"]) for cart in summary["abandoned_carts"]] == [("gone-1", True, None)]


def test_lifetime_value_is_orders_minus_refunds_online_and_purchases_minus_returns_in_store(make_customer, event):
    customer = make_customer()
    event(customer, "order_placed", data={"order_id": "o1", "total": money(10000)})
    event(customer, "order_placed", data={"order_id": "o2", "total": money(5000)})
    event(customer, "order_returned", data={"order_id": "o1", "total": money(2000)})
    event(customer, "purchase_in_store", channel="store", data={"order_id": "s1", "total": money(3000)})
    event(customer, "return_in_store", channel="store", data={"order_id": "s1", "total": money(1000)})
    event(customer, "product_viewed", sku="X")
    db.session.commit()
    assert customer_summary(customer, now=NOW)["lifetime_value"] == {"online": money(13000), "store": money(2000)}


def test_lifetime_value_without_purchases_is_zero_euros_or_the_currency_of_the_other_channel(make_customer, event):
    nobody = make_customer(name="Nobody")
    assert customer_summary(nobody, now=NOW)["lifetime_value"] == {"online": money(0), "store": money(0)}
    swiss = make_customer(name="Swiss")
    event(swiss, "purchase_in_store", channel="store", data={"order_id": "s1", "total": money(4200, "CHF")})
    db.session.commit()
    assert customer_summary(swiss, now=NOW)["lifetime_value"] == {"online": money(0, "CHF"), "store": money(4200, "CHF")}


def test_without_personalisation_consent_online_activity_is_left_out_but_lifetime_value_stays(make_customer, event):
    customer = make_customer(consents={"personalisation": False})
    event(customer, "product_viewed", sku="WEB-1", channel="web")
    event(customer, "product_viewed", sku="KIOSK-1", channel="kiosk")  # looked up at the store's kiosk: not online
    event(customer, "wishlist_added", sku="WEB-2", channel="app")
    event(customer, "cart_updated", data={"cart_id": "c1", "lines": [{"sku": "WEB-3", "quantity": 1}]})
    event(customer, "order_placed", data={"order_id": "o1", "total": money(9900)})
    db.session.commit()
    summary = customer_summary(customer, now=NOW)
    assert [item["sku"] for item in summary["viewed_recently"]] == ["KIOSK-1"]
    assert summary["wishlist"] == [] and summary["open_carts"] == [] and summary["abandoned_carts"] == []
    assert summary["lifetime_value"]["online"] == money(9900)
    clienteling.record_consent(customer, "personalisation", True, "store")
    db.session.commit()
    summary = customer_summary(customer, now=NOW)
    assert {item["sku"] for item in summary["viewed_recently"]} == {"WEB-1", "KIOSK-1"} and summary["wishlist"][0]["sku"] == "WEB-2"
    assert customer_summary(customer, show_online=False, now=NOW)["wishlist"] == []


def test_a_summary_over_10000_events_costs_a_few_aggregate_statements(make_customer, app):
    customer = make_customer(consents=CONSENTED)
    customer_id = customer.id
    types = ["product_viewed", "wishlist_added", "cart_updated", "order_placed", "product_searched"]
    rows = []
    for n in range(10_000):
        type_ = types[n % len(types)]
        data = {"cart_id": f"c{n % 50}", "lines": [{"sku": "A", "quantity": 1}]} if type_ == "cart_updated" else {}
        if type_ == "order_placed":
            data = {"order_id": f"o{n}", "total": money(100)}
        rows.append(
            {
                "event_id": f"e{n}",
                "customer_id": customer_id,
                "type": type_,
                "channel": "web",
                "occurred_at": NOW - timedelta(minutes=n),
                "received_at": NOW,
                "sku": f"SKU-{n % 37}",
                "data": data,
                "actor_kind": "system",
            }
        )
    db.session.execute(insert(CustomerEvent), rows)
    db.session.commit()
    customer = db.session.get(clienteling.Customer, customer_id)
    statements = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        summary = customer_summary(customer, now=NOW)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 7, statements  # consent, views, wishlist, carts (2), titles, lifetime value
    views = Counter(row["sku"] for row in rows if row["type"] == "product_viewed")
    assert [(item["sku"], item["count"]) for item in summary["viewed_recently"]] == [
        (sku, n)
        for sku, n in sorted(
            views.items(), key=lambda kv: (-kv[1], min(i for i, r in enumerate(rows) if r["sku"] == kv[0] and r["type"] == "product_viewed"))
        )
    ][:10]
    assert summary["lifetime_value"]["online"] == money(2000 * 100)
    assert len(summary["open_carts"]) == 5 and len(summary["wishlist"]) == 37
