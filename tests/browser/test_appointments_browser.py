"""Appointments in a real Chromium: a customer checks in at the kiosk by booking code while the
associate's tablet, open on today's appointments, shows it within two seconds without a reload; and
the public booking page at a phone's and a tablet's width."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

import clienteling
import inventory
from accounts import Staff, create_staff, register_kiosk
from core import db

from .conftest import SCREENSHOTS
from .shop import build_shop
from .test_tablet_browser import sign_in

pytestmark = pytest.mark.browser
ALL_DAY = {day: [("00:00", "24:00")] for day in range(7)}


@pytest.fixture
def shop():
    shop = build_shop()
    ana = create_staff("ana@example.com", "Ana Ruiz", "associate", "correct-horse", ["S1"])
    clienteling.set_store_hours("S1", ALL_DAY)
    clienteling.set_associate_availability(ana, "S1", ALL_DAY)
    db.session.commit()
    return shop


def _book_today(email="lena@example.com", name="Lena Vogel"):
    location = inventory.get_location("S1")
    slots = clienteling.available_slots("S1", clienteling.local_today(location), "fitting")
    if not slots:  # the last half hour of the local day: book the first slot of tomorrow and check in "tomorrow"
        pytest.skip("no slot left in the store's local day")
    appointment = clienteling.book_appointment(
        "S1", "fitting", slots[0].starts_at, {"email": email, "name": name}, {"occasion": "Trail running", "skus": ["TR-42-MOSS"]}
    )
    details = (appointment.public_id, appointment.code)
    db.session.commit()
    return details


def test_a_kiosk_check_in_reaches_the_associates_tablet_within_two_seconds_without_a_reload(new_page, shop, screenshot):
    appointment_id, code = _book_today()
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()

    tablet = new_page()
    sign_in(tablet)
    tablet.goto("/tablet/appointments")
    row = tablet.locator(f"[data-appointment='{appointment_id}']")
    expect(row.get_by_test_id("appointment-status")).to_have_text("Booked")
    expect(tablet.locator("body")).to_have_attribute("data-live", "open")
    tablet.evaluate("window.stillTheSamePage = true")
    screenshot(tablet, "tablet-appointments-before")

    kiosk = new_page()
    kiosk.goto(f"/kiosk/activate/{token}")
    kiosk.get_by_role("link", name="Check in").first.click()
    kiosk.get_by_label("Booking code").fill(code.lower())
    started = time.monotonic()
    kiosk.get_by_role("button", name="Check in").click()
    expect(kiosk.get_by_test_id("checkin-welcome")).to_contain_text("Welcome, Lena")
    expect(kiosk.get_by_test_id("checkin-welcome")).to_contain_text("Ana will be with you shortly")
    expect(kiosk.locator("body")).not_to_contain_text("Vogel")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    kiosk.screenshot(path=str(SCREENSHOTS / "kiosk-checkin-welcome.png"))

    banner = tablet.get_by_test_id("checkin-banner")
    expect(banner).to_contain_text(re.compile(r"Lena Vogel has checked in for fitting at \d\d:\d\d\."), timeout=2000)
    remaining = max(100, int(2000 - (time.monotonic() - started) * 1000))
    expect(row.get_by_test_id("appointment-status")).to_have_text("Checked in", timeout=remaining)
    assert time.monotonic() - started < 2.5
    assert tablet.evaluate("window.stillTheSamePage") is True
    screenshot(tablet, "tablet-appointments-checked-in")

    banner.get_by_role("link", name="Open").click()
    expect(tablet).to_have_url(re.compile(f"/tablet/appointments/{appointment_id}$"))
    expect(tablet.get_by_role("heading", name="Lena Vogel")).to_be_visible()
    expect(tablet.get_by_test_id("product-of-interest")).to_contain_text("Trail Runner GTX")
    tablet.get_by_test_id("product-of-interest").get_by_role("checkbox").check()
    tablet.get_by_role("button", name="Hold for this appointment").click()
    expect(tablet.get_by_test_id("holds")).to_contain_text("1 × TR-42-MOSS")
    expect(tablet.get_by_test_id("stock-in-size")).to_contain_text("1 held for this appointment")
    screenshot(tablet, "tablet-appointment-prep")


def test_a_check_in_of_another_associates_customer_refreshes_the_list_but_shows_no_banner(new_page, shop):
    ben = create_staff("ben@example.com", "Ben Okafor", "associate", "correct-horse", ["S1"])
    clienteling.set_associate_availability(ben, "S1", ALL_DAY)
    clienteling.set_associate_availability(
        db.session.scalar(db.select(Staff).where(Staff.email == "ana@example.com")), "S1", {}
    )  # Ana is off: Ben gets the booking
    db.session.commit()
    appointment_id, code = _book_today()
    tablet = new_page()
    sign_in(tablet)
    tablet.goto("/tablet/appointments")
    expect(tablet.locator("body")).to_have_attribute("data-live", "open")
    appointment = clienteling.find_appointment(appointment_id)
    clienteling.check_in(appointment)
    db.session.commit()
    row = tablet.locator(f"[data-appointment='{appointment_id}']")
    expect(row.get_by_test_id("appointment-status")).to_have_text("Checked in", timeout=2000)
    expect(tablet.get_by_test_id("checkin-banner")).to_have_count(0)


@pytest.mark.parametrize("width,height", [(390, 844), (1366, 1024)])
def test_the_public_booking_page_books_at_a_phones_and_a_tablets_width(new_page, shop, width, height):
    page = new_page()
    page.set_viewport_size({"width": width, "height": height})
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    tomorrow = (clienteling.local_today(inventory.get_location("S1")) + timedelta(days=1)).isoformat()
    db.session.rollback()  # end the test's transaction: on SQLite it would hold the write lock the booking needs
    page.goto("/book/S1")
    expect(page.get_by_role("heading", name="Book an appointment at Berlin Mitte")).to_be_visible()

    page.locator("label.choice", has_text="Styling session").click()
    page.locator(f"input[name=date][value='{tomorrow}']").locator("xpath=..").click()
    expect(page.get_by_test_id("slots-day")).to_contain_text("Free times on")
    page.locator("#slots label.choice", has_text="10:30").click()  # htmx swapped in the day's times

    page.get_by_label("Name", exact=True).fill("Nora Berg")
    page.get_by_label("Email", exact=True).fill("nora@example.com")
    page.get_by_label("What's the occasion?").fill("Hiking in Norway")
    page.get_by_label("Tops size").fill("M")
    page.get_by_label("Shoes size").fill("42")
    page.get_by_label("Budget").fill("250")
    page.locator("#product-q").fill("trail runner")
    picks = page.locator("#product-picks label", has_text="Trail Runner GTX")
    expect(picks).to_be_visible()
    picks.click()
    page.locator("label", has_text="Send me news and offers by email").click()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of sideways scrolling at {width}px"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"public-booking-{width}.png"), full_page=True)

    with page.expect_navigation(timeout=20_000) as booked:  # the booking's POST: slow on a loaded CI machine
        page.get_by_role("button", name="Book appointment").click()
    answer = booked.value
    assert answer is not None and answer.ok, f"the booking answered {answer.status if answer else None}: " + page.locator("main").inner_text()[:500]
    expect(page.get_by_role("heading", name="You're booked!")).to_be_visible(timeout=10_000)
    code = page.get_by_test_id("booking-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{6}", code)
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    # the SVG loaded (it may still be on its way when the heading shows)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle(), timeout=10_000)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(SCREENSHOTS / f"public-booking-confirmation-{width}.png"), full_page=True)
    assert violations == []

    db.session.expire_all()
    appointment = clienteling.find_appointment_by_code(code)
    assert appointment.questionnaire["sizes"] == {"tops": "M", "shoes": "42"}
    assert (
        appointment.questionnaire["skus"] == ["TR-41-MOSS"]
        and appointment.starts_at.astimezone(clienteling.store_zone(appointment.location)).strftime("%H:%M") == "10:30"
    )
    assert clienteling.has_consent(appointment.customer, "email_marketing")


@pytest.mark.parametrize("width,height", [(360, 740), (1366, 1024)])
def test_the_appointment_screens_fit_from_a_phone_to_a_wide_tablet(new_page, shop, width, height):
    appointment_id, _ = _book_today()
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    tablet, kiosk = new_page(), new_page()
    for page in (tablet, kiosk):
        page.set_viewport_size({"width": width, "height": height})
    sign_in(tablet)
    kiosk.goto(f"/kiosk/activate/{token}")
    screens = [
        (tablet, "/tablet/appointments", "tablet-appointments"),
        (tablet, f"/tablet/appointments/{appointment_id}", "tablet-appointment-prep"),
        (kiosk, "/kiosk/check-in", "kiosk-checkin"),
        (kiosk, "/kiosk/", "kiosk-home-with-checkin"),
    ]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for page, path, name in screens:
        assert page.goto(path).status == 200, path
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width}px: {overflow}px of sideways scrolling"
