"""Every page from a 360 px phone to a 1366 px tablet in landscape: no sideways scrolling, the
key controls visible and at least 44 px tall, and no Content-Security-Policy violation."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

from accounts import create_staff, register_kiosk
from core import db

from .conftest import SCREENSHOTS
from .shop import build_shop

pytestmark = pytest.mark.browser

WIDTHS = [360, 390, 768, 1024, 1366]
HEIGHTS = {360: 740, 390: 844, 768: 1024, 1024: 768, 1366: 1024}
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def shop(create_product):
    shop = build_shop()
    create_staff("ana.maria.fernandez-longname@example.com", "Ana María Fernández-Longname", "associate", "correct-horse", ["S1", "S2"])
    create_product(
        handle="very-long-product",
        title="Ultralight Waterproof Breathable Mountaineering Expedition Shell Jacket With Extraordinarily Long Name",
        skus=("ULTRALONGSKU-EXTRAORDINARY-XXL",),
    )
    db.session.commit()
    return shop


class Sweep:
    """Visits pages at every width, screenshots each, and collects what does not fit."""

    def __init__(self, page, prefix):
        self.page, self.prefix, self.console, self.problems = page, prefix, [], []
        page.context.add_init_script(WATCH_CSP)
        page.on("console", lambda message: self.console.append(message.text))

    def check(self, name, url, controls, status=200):
        page = self.page
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
            response = page.goto(url)
            assert response.status == status, (name, width, response.status)
            page.wait_for_load_state("load")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{self.prefix}-{name}-{width}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                self.problems.append(f"{name} at {width}px: {overflow}px of sideways scrolling")
            for label, locator in controls(page):
                target = locator.first
                if not target.is_visible():
                    self.problems.append(f"{name} at {width}px: {label} is not visible")
                    continue
                box = target.bounding_box()
                if box["height"] < 44:
                    self.problems.append(f"{name} at {width}px: {label} is {box['height']:.0f}px tall")
                if label.startswith("search field") and box["width"] < min(260, width * 0.55):
                    self.problems.append(f"{name} at {width}px: {label} is only {box['width']:.0f}px wide")
                if label.startswith("readable") and box["width"] < min(300, width * 0.8):
                    self.problems.append(f"{name} at {width}px: {label} is squeezed to {box['width']:.0f}px")
                if box["x"] < -1 or box["x"] + box["width"] > width + 1:
                    self.problems.append(f"{name} at {width}px: {label} sticks out ({box['x']:.0f} to {box['x'] + box['width']:.0f})")
            violations = page.evaluate("window.__cspViolations")
            if violations:
                self.problems.append(f"{name} at {width}px: CSP violations {violations}")
        csp_console = [text for text in self.console if "Content Security Policy" in text or "Content-Security-Policy" in text]
        if csp_console:
            self.problems.append(f"{name}: {csp_console}")
        self.console.clear()

    def done(self):
        assert not self.problems, "\n".join(self.problems)


def test_every_tablet_page_fits_every_width(new_page, shop):
    page = new_page()
    sweep = Sweep(page, "tablet")
    sweep.check(
        "login",
        "/login",
        lambda p: [
            ("email", p.get_by_label("Email")),
            ("password", p.get_by_label("Password")),
            ("sign in", p.get_by_role("button", name="Sign in")),
        ],
    )
    page.get_by_label("Email").fill("ana.maria.fernandez-longname@example.com")
    page.get_by_label("Password").fill("correct-horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tablet/$"))

    def top_bar(p):
        return [("store menu", p.locator(".store-switch summary")), ("sign out", p.get_by_role("button", name="Sign out"))]

    sweep.check(
        "search",
        "/tablet/",
        lambda p: (
            top_bar(p)
            + [
                ("search field", p.get_by_role("searchbox", name="Search products")),
                ("search button", p.get_by_role("button", name="Search")),
                ("category", p.locator(".chip")),
            ]
        ),
    )
    sweep.check(
        "results",
        "/tablet/?q=northpeak",
        lambda p: (
            top_bar(p)
            + [
                ("search field", p.get_by_role("searchbox", name="Search products")),
                ("a result", p.locator(".product-card a")),
            ]
        ),
    )
    sweep.check("results-long", "/tablet/?q=ultralight", lambda p: [("a result", p.locator(".product-card a"))])
    sweep.check(
        "product",
        "/tablet/products/trail-runner-gtx?sku=TR-41-MOSS",
        lambda p: (
            top_bar(p)
            + [
                ("back", p.get_by_role("link", name=re.compile("Back to results"))),
                ("size 42", p.get_by_role("link", name=re.compile(r"^42\b"))),
                ("colour", p.get_by_role("link", name=re.compile("^Slate"))),
                ("search field (top bar)", p.get_by_role("searchbox", name=re.compile("Search products"))),
                ("readable: stock here", p.get_by_test_id("stock-here").filter(visible=True)),
            ]
        ),
    )
    sweep.check("product-long", "/tablet/products/very-long-product", lambda p: [("back", p.get_by_role("link", name=re.compile("Back to results")))])
    sweep.check(
        "not-found",
        "/tablet/products/nope",
        lambda p: [
            ("search field", p.get_by_role("searchbox", name="Search products")),
            ("back", p.get_by_role("link", name="Back to search")),
        ],
        status=404,
    )
    sweep.done()


def test_every_kiosk_page_fits_every_width(new_page, shop):
    page = new_page()
    sweep = Sweep(page, "kiosk")
    sweep.check("not-set-up", "/kiosk/", lambda p: [], status=403)
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    page.goto(f"/kiosk/activate/{token}")

    def bar(p):
        return [
            ("search field", p.get_by_role("searchbox", name="Search")),
            ("search button", p.get_by_role("button", name="Search")),
            ("home", p.locator("[data-kiosk-home]")),
        ]

    sweep.check("home", "/kiosk/", lambda p: bar(p) + [("category", p.locator(".tile"))])
    sweep.check(
        "category",
        "/kiosk/categories/footwear",
        lambda p: bar(p) + [("a product", p.locator(".product-card a")), ("back", p.get_by_role("link", name=re.compile("All categories")))],
    )
    sweep.check("results", "/kiosk/search?q=northpeak", lambda p: bar(p) + [("a product", p.locator(".product-card a"))])
    sweep.check("no-results", "/kiosk/search?q=zzzz", lambda p: bar(p) + [("category", p.locator(".tile"))])
    sweep.check(
        "product",
        "/kiosk/products/trail-runner-gtx",
        lambda p: (
            bar(p)
            + [
                ("size 42", p.get_by_role("link", name=re.compile(r"^42$"))),
                ("colour", p.get_by_role("link", name=re.compile("^Slate"))),
                ("start again", p.get_by_role("link", name=re.compile("Start again"))),
                ("readable: stock here", p.get_by_test_id("kiosk-stock").filter(visible=True)),
            ]
        ),
    )
    sweep.check("product-long", "/kiosk/products/very-long-product", lambda p: bar(p))
    sweep.check(
        "not-found", "/kiosk/products/nope", lambda p: bar(p) + [("back", p.get_by_role("link", name=re.compile("Back to the start")))], status=404
    )
    sweep.done()


def test_the_plain_error_page_fits_every_width(new_page, shop):
    sweep = Sweep(new_page(), "plain")
    sweep.check("not-found", "/no-such-page", lambda p: [("back", p.get_by_role("link", name="Back to the start"))], status=404)
    sweep.done()


def test_every_sell_and_shift_screen_fits_every_width(new_page, shop):
    import pos

    pos.seed_registers(["S1", "S2"])
    db.session.commit()
    page = new_page()
    sweep = Sweep(page, "sell")
    page.goto("/login")
    page.get_by_label("Email").fill("ana.maria.fernandez-longname@example.com")
    page.get_by_label("Password").fill("correct-horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/tablet/$"))
    sweep.check("register", "/tablet/sell", lambda p: [("register T1", p.get_by_role("button", name=re.compile("^T1")))])
    page.get_by_role("button", name=re.compile("^T1")).click()
    sweep.check(
        "shift-open",
        "/tablet/shift",
        lambda p: [("opening float", p.get_by_label(re.compile("Opening float"))), ("open", p.get_by_role("button", name="Open shift"))],
    )
    page.get_by_role("button", name="Open shift").click()
    sweep.check(
        "shift",
        "/tablet/shift",
        lambda p: [("close", p.get_by_role("link", name="Close the shift")), ("record", p.get_by_role("button", name="Record"))],
    )
    sweep.check(
        "empty-cart",
        "/tablet/sell",
        lambda p: [("search field: scan", p.get_by_role("searchbox", name="Scan or search")), ("add", p.get_by_role("button", name="Add"))],
    )
    for sku in ("TR-41-MOSS", "MB-OS"):
        page.get_by_role("searchbox", name="Scan or search").fill(shop.barcodes[sku])
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("cart-line")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/tablet/carts/crt_"))
    cart_url = page.url
    sweep.check(
        "cart",
        cart_url,
        lambda p: [
            ("search field: scan", p.get_by_role("searchbox", name="Scan or search")),
            ("more", p.get_by_role("button", name=re.compile("^One more"))),
            ("less", p.get_by_role("button", name=re.compile("^One less"))),
            ("found stock", p.get_by_role("button", name="Record found stock")),
            ("pay", p.get_by_role("link", name=re.compile("^Pay €"))),
        ],
    )
    sweep.check("search", cart_url + "?q=northpeak", lambda p: [("add a result", p.get_by_role("button", name=re.compile("^Add Trail")))])
    sweep.check(
        "tender", cart_url + "/pay", lambda p: [("exact", p.get_by_test_id("quick-amount")), ("other", p.get_by_role("button", name="Take cash"))]
    )
    page.goto(cart_url + "/pay")
    page.get_by_test_id("quick-amount").first.click()
    expect(page.get_by_test_id("pay-error")).to_contain_text("Not enough in stock")  # the beanie is on no record here
    page.get_by_role("link", name="Back to the cart", exact=True).click()
    page.get_by_test_id("cart-line").filter(has_text="Merino Beanie").get_by_text("Discount or remove").click()
    page.get_by_role("button", name="Remove Merino Beanie").click()
    page.goto(cart_url + "/pay")
    page.get_by_test_id("quick-amount").first.click()
    expect(page.get_by_test_id("receipt-qr")).to_be_visible()
    sweep.check("receipt", page.url, lambda p: [("new sale", p.get_by_test_id("new-sale")), ("email", p.get_by_role("button", name="Email receipt"))])
    public = page.get_by_test_id("print-receipt").get_attribute("href")
    sweep.check("public-receipt", public, lambda p: [("readable: receipt", p.locator(".receipt"))])
    page.goto("/tablet/shift")
    page.get_by_role("link", name="Close the shift").click()
    close_url = page.url
    sweep.check(
        "close", close_url, lambda p: [("count", p.get_by_label("How many €50.00")), ("close", p.get_by_role("button", name="Close the shift"))]
    )
    page.goto(close_url)
    page.get_by_label("How many €50.00").fill("3")
    page.get_by_role("button", name="Close the shift").click()
    expect(page.get_by_test_id("variance")).to_be_visible()
    sweep.check("report", page.url, lambda p: [("csv", p.get_by_test_id("report-csv"))])
    sweep.done()
