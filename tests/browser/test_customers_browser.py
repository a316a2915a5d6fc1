"""The tablet's customer screens in a real Chromium, on the demo brand, at a phone's 390 px and a
tablet's 1024 px: a demo associate finds a customer by name, opens the profile, adds a note and
filters the timeline by channel."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

from core import db
from web import demo

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

SIZES = {390: {"width": 390, "height": 844}, 1024: {"width": 1024, "height": 768}}


@pytest.fixture
def demo_brand():
    demo.seed(products=12)
    db.session.commit()


def sign_in(page, email="ana@northwind.example"):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(demo.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tablet/"))


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.screenshot(path=f"/tmp/he-{name}.png")  # what the screen shows, for a person to look at
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("width", [390, 1024])
def test_associate_finds_a_customer_adds_a_note_and_filters_the_timeline(new_page, demo_brand, width):
    page = new_page()
    page.set_viewport_size(SIZES[width])
    sign_in(page)
    page.get_by_role("link", name="Customers").click()
    search = page.get_by_role("searchbox", name="Search customers")
    expect(search).to_be_focused()

    search.press_sequentially("lea sch", delay=30)  # results as you type, without pressing Enter
    row = page.get_by_test_id("customer-row").filter(has_text="Lea Schäfer")
    expect(row).to_be_visible()
    expect(row).to_contain_text("SH1000000017")
    expect(page).to_have_url(re.compile(r"/tablet/customers\?q=lea"))
    box = row.bounding_box()
    assert box["height"] >= 56, "a big touch target"
    shoot(page, f"customers-search-{width}")

    row.click()
    expect(page.get_by_role("heading", name="Lea Schäfer")).to_be_visible()
    expect(page.get_by_test_id("loyalty-code")).to_have_text("SH1000000017")
    expect(page.get_by_role("img", name=re.compile("Loyalty QR code"))).to_be_visible()
    page.wait_for_load_state("load")
    assert page.evaluate("document.querySelector('.cust-qr').naturalWidth") > 0, "the QR image loaded"
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Viewed Ridgeline Trail Jacket online")
    shoot(page, f"customers-profile-{width}")

    note = f"Tried the Tempo 3 in 42 at {width}px; loved the fit"
    page.get_by_placeholder(re.compile("What should the next associate know")).fill(note)
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("status").filter(has_text="Note added.")).to_be_visible()
    notes = page.get_by_test_id("notes")
    expect(notes).to_contain_text(note)
    expect(notes).to_contain_text("Ana Sousa")

    page.wait_for_load_state("load")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Channel").select_option("email")
    expect(page.locator("#timeline")).not_to_contain_text("Viewed Ridgeline Trail Jacket")
    expect(page.get_by_test_id("timeline")).to_contain_text("Sent us an email")
    assert page.evaluate("window.stillTheSamePage") is True, "filtered in place by htmx"
    expect(page).to_have_url(re.compile(r"channel=email"))
    channels = page.locator("#timeline .cust-event").evaluate_all("items => items.map(i => i.dataset.channel)")
    assert channels and set(channels) == {"email"}
    page.get_by_test_id("timeline").scroll_into_view_if_needed()
    shoot(page, f"customers-timeline-email-{width}")


def test_the_client_book_and_new_customer_form_fit_a_phone(new_page, demo_brand):
    page = new_page()
    page.set_viewport_size(SIZES[390])
    sign_in(page)
    page.goto("/tablet/clients?mine=1")
    expect(page.get_by_test_id("client-book")).to_contain_text("Lea Schäfer")
    shoot(page, "customers-client-book-390")
    page.goto("/tablet/customers/new")
    page.get_by_label("Name", exact=True).fill("Élodie Lefèvre")
    page.get_by_label("Email", exact=True).fill("lea.schaefer@example.com")
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_test_id("conflict")).to_contain_text("This email belongs to Lea Schäfer")
    shoot(page, "customers-new-conflict-390")


def test_every_customer_screen_fits_every_width(new_page, demo_brand):
    """Search, profile, new customer, client book and an unknown card from 360 to 1366 px: no sideways
    scrolling, the key controls visible and at least 44 px tall, no CSP violation."""
    from clienteling import find_customer_by_loyalty_code

    from .test_every_screen_size import Sweep

    page = new_page()
    sweep = Sweep(page, "customers")
    sign_in(page)
    lea_id = find_customer_by_loyalty_code("SH1000000017").public_id
    db.session.rollback()  # no read transaction of ours may hold up the app's writes (SQLite)
    top = [("sign out", lambda p: p.get_by_role("button", name="Sign out")), ("customers link", lambda p: p.get_by_role("link", name="Customers"))]

    def controls(*extra):
        return lambda p: [(label, find(p)) for label, find in top + list(extra)]

    sweep.check(
        "search",
        "/tablet/customers?q=lea",
        controls(
            ("search field", lambda p: p.get_by_role("searchbox", name="Search customers")),
            ("a result", lambda p: p.get_by_test_id("customer-row")),
            ("new customer", lambda p: p.get_by_role("link", name="New customer")),
        ),
    )
    sweep.check(
        "profile",
        f"/tablet/customers/{lea_id}",
        controls(
            ("readable timeline", lambda p: p.get_by_test_id("timeline")),
            ("add note", lambda p: p.get_by_role("button", name="Add note")),
            ("channel filter", lambda p: p.get_by_label("Channel")),
            ("withdraw consent", lambda p: p.get_by_role("button", name="Withdraw")),
        ),
    )
    sweep.check("new", "/tablet/customers/new", controls(("create", lambda p: p.get_by_role("button", name="Create customer"))))
    sweep.check("client-book", "/tablet/clients", controls(("a client", lambda p: p.locator(".cust-row"))))
    sweep.check("unknown-card", "/tablet/c/SH0000000000", controls(), status=404)
    sweep.done()
