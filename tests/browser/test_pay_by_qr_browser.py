"""Pay by QR in a real Chromium, with a second browser (its own profile, a phone's screen) as the customer's phone:
the associate scans two items and attaches the customer, chooses "QR code"; the phone opens the code's page and
pays; the tablet shows the receipt without anyone touching it (live update).  Then a card declined on the simulated
reader and cash for the rest."""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

import pos

from . import test_checkout_browser
from .test_checkout_browser import PHONE, go_sell, open_the_shift, scan, sign_in

shop = test_checkout_browser.shop  # the same shop fixture: two items with barcodes, Ana, a manager, Lea

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def development_gateway():
    previous = pos.use_gateway(pos.DevelopmentGateway("/pay"))
    yield
    pos.use_gateway(previous)


def test_pay_by_qr_on_the_customers_phone_completes_the_sale_on_the_tablet(new_page, shop, screenshot):
    tablet = new_page()
    sign_in(tablet)
    open_the_shift(tablet)
    go_sell(tablet)
    scan(tablet, shop.barcodes["TR-41-MOSS"])
    expect(tablet.get_by_test_id("cart-line")).to_have_count(1)
    scan(tablet, shop.barcodes["RS-M"])
    expect(tablet.get_by_test_id("cart-line")).to_have_count(2)
    scan(tablet, shop.loyalty_code)
    expect(tablet.get_by_test_id("customer-name")).to_have_text("Lea Schäfer")
    tablet.get_by_role("link", name="Pay €228.00").click()
    tablet.get_by_test_id("pay-qr").click()
    expect(tablet.get_by_test_id("pay-qr-code")).to_be_visible()
    expect(tablet.get_by_test_id("waiting-amount")).to_have_text("€228.00")
    tablet.wait_for_function(
        "() => { const img = document.querySelector('[data-testid=pay-qr-code]'); return img.complete && img.naturalWidth > 0; }"
    )
    screenshot(tablet, "pay-qr-tablet")
    url = tablet.get_by_test_id("payment-url").text_content().strip()
    assert re.search(r"/pay/[A-Za-z0-9_-]{20,}$", url)

    phone = new_page()  # the customer's own phone: another browser, no login
    phone.set_viewport_size(PHONE)
    phone.goto(url)
    expect(phone.get_by_text("€228.00").first).to_be_visible()
    screenshot(phone, "pay-qr-phone")
    phone.get_by_role("button", name=re.compile("^Pay")).click()
    expect(phone.get_by_text(re.compile("paid|Thank you", re.I)).first).to_be_visible()
    screenshot(phone, "pay-qr-phone-paid")

    # the tablet moves on by itself: nobody touches it
    expect(tablet.get_by_test_id("receipt-qr")).to_be_visible(timeout=15_000)
    expect(tablet.get_by_role("heading", name="Paid €228.00")).to_be_visible()
    screenshot(tablet, "pay-qr-tablet-receipt")


def test_a_declined_card_then_cash_for_the_rest(new_page, shop, screenshot):
    tablet = new_page()
    sign_in(tablet)
    open_the_shift(tablet)
    go_sell(tablet)
    scan(tablet, shop.barcodes["RS-M"])
    expect(tablet.get_by_test_id("cart-line")).to_have_count(1)
    total = tablet.get_by_test_id("total").text_content().strip()
    tablet.get_by_role("link", name=f"Pay {total}").click()
    tablet.get_by_test_id("pay-card").click()
    expect(tablet.get_by_test_id("waiting-card")).to_contain_text("reader T1")
    screenshot(tablet, "pay-card-waiting")
    tablet.get_by_test_id("simulate-decline").click()
    expect(tablet.get_by_test_id("declined")).to_be_visible()
    expect(tablet.get_by_test_id("due")).to_have_text(total)
    screenshot(tablet, "pay-card-declined")
    tablet.get_by_test_id("quick-amount").first.click()
    expect(tablet.get_by_test_id("receipt-qr")).to_be_visible()
