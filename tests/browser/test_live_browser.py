"""Live updates in a real Chromium: a tablet on a product page hears of a stock change made
elsewhere (the e-commerce site through the API) within two seconds, without a reload."""

import re
import time

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

from accounts import create_staff
from core import db

from .shop import build_shop
from .test_tablet_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def shop():
    shop = build_shop()
    create_staff("ana@example.com", "Ana Ruiz", "associate", "correct-horse", ["S1", "S2"])
    db.session.commit()
    return shop


def test_a_stock_change_through_the_api_reaches_the_open_product_page_within_two_seconds(new_page, shop, create_key, screenshot):
    tablet = new_page()
    sign_in(tablet)
    tablet.goto("/tablet/products/trail-runner-gtx?sku=TR-42-MOSS")
    here = tablet.get_by_test_id("stock-here").filter(visible=True)
    expect(here).to_contain_text(re.compile(r"\b1\s+available here"))
    expect(tablet.locator("body")).to_have_attribute("data-live", "open")  # the EventSource is connected
    tablet.evaluate("window.stillTheSamePage = true")

    key = create_key("inventory:write")
    other = new_page()  # a second actor: the e-commerce site's back office
    started = time.monotonic()
    answer = other.request.post(
        "/api/v1/stock/movements",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "live-browser-1"},
        data={"store": "S1", "sku": "TR-42-MOSS", "kind": "receive", "quantity": 1},
    )
    assert answer.status == 201

    expect(tablet.get_by_test_id("toast")).to_have_text("TR-42-MOSS: 2 left here", timeout=2000)
    expect(here).to_contain_text(re.compile(r"\b2\s+available here"), timeout=max(100, int(2000 - (time.monotonic() - started) * 1000)))
    expect(tablet.get_by_role("link", name=re.compile(r"^42\b"))).to_contain_text("2 here")
    assert tablet.evaluate("window.stillTheSamePage") is True
    screenshot(tablet, "tablet-live-stock-toast")

    # a change at another store, or to another product, leaves this page alone
    other.request.post(
        "/api/v1/stock/movements",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "live-browser-2"},
        data={"store": "S2", "sku": "TR-42-MOSS", "kind": "receive", "quantity": 5},
    )
    other.request.post(
        "/api/v1/stock/movements",
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "live-browser-3"},
        data={"store": "S1", "sku": "RS-M", "kind": "receive", "quantity": 5},
    )
    tablet.wait_for_timeout(1500)
    expect(tablet.get_by_test_id("toast")).to_have_count(1)

    # after the swap the picker still works in place and keeps following the variant
    tablet.get_by_role("link", name=re.compile(r"^41\b")).click()
    expect(tablet).to_have_url(re.compile(r"sku=TR-41-MOSS"))
    expect(here).to_contain_text(re.compile(r"\b5\s+available here"))
    assert tablet.evaluate("window.stillTheSamePage") is True
