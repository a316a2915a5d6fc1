"""The store kiosk in a real Chromium at 1024×768, used the way a customer would."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

from accounts import create_staff, register_kiosk
from core import db

from .shop import build_shop

pytestmark = pytest.mark.browser


@pytest.fixture
def shop():
    shop = build_shop()
    create_staff("ana@example.com", "Ana Ruiz", "manager", "correct-horse", ["S1"])
    db.session.commit()
    return shop


def test_customer_browses_a_category_and_finds_the_shoe_in_stock_with_its_shelf(page, shop, screenshot):
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    page.goto(f"/kiosk/activate/{token}")
    expect(page).to_have_url(re.compile(r"/kiosk/$"))
    expect(page.get_by_role("heading", name="What are you looking for?")).to_be_visible()
    expect(page.get_by_text("Berlin Mitte")).to_be_visible()
    screenshot(page, "kiosk-home")

    page.get_by_role("link", name="Footwear").click()
    card = page.get_by_role("link", name=re.compile("Trail Runner GTX"))
    expect(card).to_contain_text("In stock here")
    screenshot(page, "kiosk-category")

    card.click()
    expect(page.get_by_role("heading", name="Trail Runner GTX")).to_be_visible()
    stock = page.get_by_test_id("kiosk-stock").filter(visible=True)
    expect(stock).to_contain_text("In stock here")
    expect(stock.get_by_test_id("shelf")).to_have_text("Footwear wall · aisle A3 · bay 12")
    screenshot(page, "kiosk-product")

    page.get_by_role("link", name=re.compile(r"^42$")).click()
    expect(stock).to_contain_text("Only 1 left here")
    page.get_by_role("link", name=re.compile(r"^43$")).click()
    expect(stock).to_contain_text("Not in stock here")
    expect(page.get_by_text(re.compile("Also in stock at Hamburg Altona")).filter(visible=True)).to_be_visible()
    screenshot(page, "kiosk-product-elsewhere")

    body = page.locator("body").inner_text()
    for private in ["Ana", "ana@example.com", "Sign out", "Reserved", "On hand", "WEB-1001"]:
        assert private not in body, private


def test_a_browser_without_an_activated_kiosk_sees_not_set_up(page, shop, screenshot):
    response = page.goto("/kiosk/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="This screen isn't set up yet")).to_be_visible()
    expect(page.get_by_text(re.compile("ask a member of staff", re.I))).to_be_visible()
    screenshot(page, "kiosk-not-set-up")
