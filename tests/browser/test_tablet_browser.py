"""The associate tablet in a real Chromium at 1024×768, used the way an associate would."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

from accounts import create_staff
from core import db

from .shop import build_shop

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse"


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def associate(shop):
    staff = create_staff("ana@example.com", "Ana Ruiz", "associate", PASSWORD, ["S1", "S2"])
    db.session.commit()
    return staff


def sign_in(page, email="ana@example.com", password=PASSWORD, expect_success=True):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if expect_success:
        expect(page).to_have_url(re.compile(r"/tablet/"))


def test_associate_finds_a_product_picks_a_size_and_sees_stock_here_elsewhere_and_online(page, associate, screenshot):
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/tablet/$"))
    expect(page.get_by_test_id("current-store")).to_have_text("Berlin Mitte")
    expect(page.get_by_text("Ana Ruiz")).to_be_visible()
    search = page.get_by_role("searchbox", name="Search products")
    expect(search).to_be_focused()
    screenshot(page, "tablet-home")

    search.fill("trail runner")
    search.press("Enter")
    card = page.get_by_role("link", name=re.compile("Trail Runner GTX"))
    expect(card).to_contain_text("€129.00")
    expect(card).to_contain_text("6 here")
    screenshot(page, "tablet-search-results")

    card.click()
    expect(page.get_by_role("heading", name="Trail Runner GTX")).to_be_visible()
    page.wait_for_load_state("load")  # the deferred scripts have run (a tap before then is a plain link, also fine)
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_role("link", name=re.compile(r"^42\b")).click()
    expect(page).to_have_url(re.compile(r"sku=TR-42-MOSS"))
    here = page.get_by_test_id("stock-here").filter(visible=True)
    expect(here).to_contain_text(re.compile(r"\b1\s+available here"))
    expect(here).to_contain_text("Footwear wall · aisle A3 · bay 13")

    page.get_by_role("link", name=re.compile(r"^41\b")).click()
    expect(page).to_have_url(re.compile(r"sku=TR-41-MOSS"))
    expect(here).to_contain_text(re.compile(r"\b5\s+available here"))
    expect(here).to_contain_text(re.compile(r"On hand\s*6\b"))
    expect(here).to_contain_text(re.compile(r"Reserved\s*1\b"))
    expect(here.get_by_test_id("shelf")).to_have_text("Footwear wall · aisle A3 · bay 12")
    others = page.get_by_test_id("other-stores").filter(visible=True)
    expect(others.get_by_role("row", name=re.compile("Hamburg Altona"))).to_contain_text("2")
    expect(others.get_by_role("row", name=re.compile("Lisbon Chiado"))).to_contain_text("Europe/Lisbon")
    expect(page.get_by_test_id("warehouse").filter(visible=True).get_by_role("row", name=re.compile("Online warehouse"))).to_contain_text("40")
    expect(page.get_by_test_id("sku").filter(visible=True)).to_have_text("TR-41-MOSS")
    assert page.evaluate("window.stillTheSamePage") is True  # switched in place, no reload
    screenshot(page, "tablet-product")

    page.get_by_role("link", name=re.compile("^Slate")).click()
    expect(page).to_have_url(re.compile(r"sku=TR-42-SLATE"))  # the only Slate is a 42
    expect(page.get_by_role("link", name=re.compile(r"^42\b"))).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("stock-here").filter(visible=True)).to_contain_text(re.compile(r"\b0\s+available here"))


def test_a_scan_that_starts_before_the_page_script_runs_keeps_every_digit(page, associate, shop):
    """tablet.js is deferred; a scan may begin before it runs.  It must not select (and so lose)
    what was already typed."""
    sign_in(page)
    held = []
    page.route(re.compile(r"/static/tablet/tablet\.js"), lambda route: held.append(route))
    page.goto("/tablet/", wait_until="commit")
    field = page.get_by_role("searchbox", name="Search products")
    code = shop.barcodes["TR-42-MOSS"]
    field.click()
    page.keyboard.type(code[:3], delay=5)
    for _ in range(100):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the page script was requested"
    held[0].continue_()
    page.wait_for_load_state("load")  # the deferred script has run
    page.keyboard.type(code[3:], delay=5)
    expect(field).to_have_value(code)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tablet/products/trail-runner-gtx\?sku=TR-42-MOSS$"))


def test_scanning_a_barcode_into_the_search_field_opens_that_variant(page, associate, shop, screenshot):
    sign_in(page)
    page.get_by_role("searchbox", name="Search products").click()
    page.keyboard.type(shop.barcodes["TR-42-MOSS"], delay=5)  # a scanner types digits and Enter
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tablet/products/trail-runner-gtx\?sku=TR-42-MOSS$"))
    expect(page.get_by_role("link", name=re.compile(r"^42\b"))).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("link", name=re.compile(r"^Moss"))).to_have_attribute("aria-current", "true")
    expect(page.get_by_test_id("sku").filter(visible=True)).to_have_text("TR-42-MOSS")
    expect(page.get_by_test_id("stock-here").filter(visible=True)).to_contain_text(re.compile(r"\b1\s+available here"))
    screenshot(page, "tablet-barcode")

    # on the product page nothing is focused: the next scan still lands in the search field
    page.locator("h1").click()
    page.keyboard.type(shop.barcodes["RS-M"], delay=5)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tablet/products/rain-shell\?sku=RS-M$"))


def test_a_wrong_password_shows_an_error_and_stays_on_the_sign_in_page(page, associate, screenshot):
    sign_in(page, password="not-my-password", expect_success=False)
    expect(page.get_by_role("alert")).to_contain_text("don't match")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_label("Email")).to_have_value("ana@example.com")
    screenshot(page, "login-wrong-password")


def test_an_associate_of_two_stores_switches_store_from_the_top_bar(page, associate, screenshot):
    sign_in(page)
    page.get_by_role("searchbox", name="Search products").fill("runner")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=re.compile("Trail Runner GTX"))).to_contain_text("6 here")
    page.get_by_test_id("current-store").click()
    screenshot(page, "tablet-store-menu")
    page.get_by_role("menuitem", name=re.compile("Hamburg Altona")).click()
    expect(page.get_by_test_id("current-store")).to_have_text("Hamburg Altona")
    expect(page).to_have_url(re.compile(r"/tablet/\?q=runner$"))
    expect(page.get_by_role("link", name=re.compile("Trail Runner GTX"))).to_contain_text("5 here")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_more_results_appends_the_next_page_in_place(page, associate, create_product, screenshot):
    for n in range(30):
        create_product(handle=f"sock-{n:02d}", title=f"Hiking Sock {n:02d}", skus=(f"SOCK-{n:02d}-M",))
    sign_in(page)
    page.get_by_role("searchbox", name="Search products").fill("hiking sock")
    page.keyboard.press("Enter")
    cards = page.locator(".product-card")
    expect(cards).to_have_count(24)
    page.get_by_role("link", name="More results").click()
    expect(cards).to_have_count(30)
    expect(page.get_by_role("link", name="More results")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/tablet/\?q=hiking\+sock$"))
    screenshot(page, "tablet-more-results")


def test_nothing_found_says_so_and_offers_categories(page, associate, screenshot):
    sign_in(page)
    page.get_by_role("searchbox", name="Search products").fill("umbrella")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("No products match"))).to_be_visible()
    screenshot(page, "tablet-no-results")
    page.get_by_role("link", name="Footwear").click()
    expect(page.get_by_role("link", name=re.compile("Trail Runner GTX"))).to_be_visible()
    screenshot(page, "tablet-category")


def test_a_picture_that_fails_to_load_becomes_a_neutral_placeholder(page, associate, create_product, screenshot):
    # a file that exists but is no picture: the server lets it through, the browser cannot draw it
    create_product(handle="odd-picture", title="Odd Picture Tee", skus=("ODD-M",), images=[{"url": "/static/tablet/tablet.js", "alt": "Odd"}])
    create_product(
        handle="no-file", title="Missing Picture Tee", skus=("MISS-M",), images=[{"url": "/static/products/not-there.svg", "alt": "Missing"}]
    )
    sign_in(page)
    page.get_by_role("searchbox", name="Search products").fill("picture tee")
    page.keyboard.press("Enter")
    expect(page.locator(".product-card")).to_have_count(2)
    expect(page.locator(".img-frame.is-missing")).to_have_count(1)  # caught in the browser
    expect(page.locator(".img-frame .img-missing")).to_have_count(1)  # left out by the server
    expect(page.locator(".img-frame img:visible")).to_have_count(0)


def test_results_update_as_the_associate_types_without_reloading_the_page(page, associate, shop, screenshot):
    sign_in(page)
    page.evaluate("window.stillTheSamePage = true")
    search = page.get_by_role("searchbox", name="Search products")
    search.press_sequentially("trail", delay=40)
    expect(page.get_by_role("link", name=re.compile("Trail Runner GTX"))).to_contain_text("6 here")
    expect(page).to_have_url(re.compile(r"/tablet/\?q=trail$"))  # the address follows, for reload and sharing
    expect(search).to_be_focused()
    expect(search).to_have_value("trail")
    search.fill("")
    search.press_sequentially("beanie", delay=40)
    expect(page.get_by_role("link", name=re.compile("Merino Beanie"))).to_contain_text("None here")
    expect(page.get_by_role("link", name=re.compile("Trail Runner GTX"))).to_have_count(0)
    search.fill("")
    search.press_sequentially("umbrella", delay=40)
    expect(page.get_by_role("heading", name=re.compile("No products match “umbrella”"))).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "tablet-search-as-you-type")

    search.fill("")
    page.keyboard.type(shop.barcodes["TR-43-MOSS"], delay=5)  # then a scan: its Enter opens the product
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/tablet/products/trail-runner-gtx\?sku=TR-43-MOSS$"))
    page.go_back()
    expect(page.get_by_role("searchbox", name="Search products")).to_be_visible()
