"""Click-and-collect on the tablet in a real Chromium at 1024×768: the pickups due at the store, found by
scanning the customer's loyalty card, one handed over and one refused, each after a confirmation."""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

import inventory
from accounts import create_staff
from clienteling import CustomerEvent, create_customer, ingest_events
from core import clock, db
from core.actor import SYSTEM

from .shop import build_shop
from .test_tablet_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def shop():
    shop = build_shop()  # holds a pickup WEB-1001 at S1 that lapses within the hour, for nobody we know
    create_staff("ana@example.com", "Ana Ruiz", "associate", "correct-horse", ["S1"])
    lea = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    inventory.reserve("S1", [{"sku": "TR-42-MOSS", "quantity": 1}, {"sku": "RS-M", "quantity": 1}], "pickup", "CC-100234", expires_in=3 * 86400)
    ingest_events(
        [
            {
                "id": "ev-cc-100234",
                "type": "order_placed",
                "occurred_at": clock.isoformat(clock.now()),
                "customer": {"email": "lea@example.com"},
                "data": {
                    "order_id": "CC-100234",
                    "lines": [
                        {"sku": "TR-42-MOSS", "quantity": 1, "unit_price": {"amount": 12900, "currency": "EUR"}},
                        {"sku": "RS-M", "quantity": 1, "unit_price": {"amount": 9900, "currency": "EUR"}},
                    ],
                    "total": {"amount": 22800, "currency": "EUR"},
                },
            }
        ],
        SYSTEM,
    )
    db.session.commit()
    details = {"shop": shop, "loyalty_code": lea.loyalty_code, "lea_id": lea.id}
    db.session.commit()  # reading them began a transaction: end it, or the live server waits for SQLite's lock
    return details


def _status(reference):
    db.session.expire_all()
    status = db.session.scalar(db.select(inventory.Reservation.status).where(inventory.Reservation.reference == reference))
    db.session.commit()
    return status


def test_an_associate_hands_one_pickup_over_and_refuses_another(page, shop, screenshot):
    sign_in(page)
    page.get_by_role("navigation", name="Screens").get_by_role("link", name="Pickups").click()
    expect(page).to_have_url(re.compile(r"/tablet/pickups$"))
    rows = page.get_by_test_id("pickup-list").locator("li.pickup")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-reference", "WEB-1001")  # the soonest to lapse first
    expect(rows.nth(0)).to_have_class(re.compile("pickup-soon"))
    expect(rows.nth(1)).to_contain_text("Lea Schäfer")
    expect(rows.nth(1)).to_contain_text("1 × Trail Runner GTX")
    screenshot(page, "tablet-pickups")

    # the search field takes a scanned loyalty card (a scanner types it and presses Enter)
    field = page.get_by_label("Find a pickup")
    expect(field).to_be_focused()
    field.fill(shop["loyalty_code"])
    field.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", "CC-100234")
    screenshot(page, "tablet-pickups-scanned")

    rows.first.get_by_role("link", name="Hand over").click()
    expect(page.get_by_role("heading", name="Hand over CC-100234?")).to_be_visible()
    expect(page.locator(".pickup-confirm")).to_contain_text("Lea Schäfer's timeline says collected in store")
    screenshot(page, "tablet-pickup-hand-over")
    page.get_by_role("button", name="Confirm hand-over").click()
    expect(page.locator(".flash")).to_have_text("Handed over: CC-100234 to Lea Schäfer.")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reference", "WEB-1001")
    assert _status("CC-100234") == "committed"
    collected_by = db.session.scalar(db.select(CustomerEvent.customer_id).where(CustomerEvent.type == "pickup_collected"))
    db.session.commit()
    assert collected_by == shop["lea_id"]

    rows.first.get_by_role("link", name="Refuse").click()
    expect(page.get_by_role("heading", name="Refuse WEB-1001?")).to_be_visible()
    expect(page.locator(".pickup-confirm")).to_contain_text("Customer not known here")
    page.get_by_label("Why is it refused?").fill("The box arrived crushed")
    screenshot(page, "tablet-pickup-refuse")
    page.get_by_role("button", name="Confirm refusal").click()
    expect(page.locator(".flash")).to_have_text("Refused: WEB-1001. The units are back on sale.")
    expect(page.get_by_test_id("pickups-empty")).to_be_visible()
    screenshot(page, "tablet-pickups-done")
    assert _status("WEB-1001") == "released"
    items, _ = inventory.availability(["TR-41-MOSS"], "S1")
    assert items[0]["reserved"] == 0 and items[0]["available"] == 6
