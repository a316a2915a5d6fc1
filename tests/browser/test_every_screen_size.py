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
