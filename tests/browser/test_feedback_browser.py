"""The public feedback page in a real Chromium, on a phone (390 px) and a tablet (1024 px): big touch
targets, a field-naming error, the thank-you and "already answered"; and the tablet's task list."""

# ruff: noqa: F811

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

import clienteling
from core import db
from tests.clienteling.outreach_world import PASSWORD, make_customer, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

SIZES = {390: 844, 1024: 768}


def keep(name: str) -> None:
    """A copy of the screenshot in /tmp for reading it."""
    shutil.copy(SCREENSHOTS / f"{name}.png", f"/tmp/hd-{name}.png")


@pytest.fixture
def feedback_link(world, make_customer):
    customer = make_customer()
    _, token = clienteling.request_feedback(customer, world["ana"].actor, "BER-MITTE")
    db.session.commit()
    return f"/feedback/{token}"


@pytest.mark.parametrize("width", SIZES)
def test_a_customer_answers_on_their_phone_or_a_tablet(new_page, feedback_link, screenshot, width):
    page = new_page()
    page.set_viewport_size({"width": width, "height": SIZES[width]})
    page.goto(feedback_link)
    expect(page.get_by_role("heading", name="How was your visit to Berlin Mitte?")).to_be_visible()
    for label in ("1", "5", "0", "10"):
        box = page.locator(".score-face", has_text=re.compile(rf"^{label}\b")).first.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, (label, box)
    screenshot(page, f"feedback-form-{width}")
    keep(f"feedback-form-{width}")

    page.get_by_label("Anything you'd like to tell us?").fill("Ana found my size <fast>")
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.get_by_test_id("form-errors")).to_contain_text("How happy you were: choose how satisfied you are")
    expect(page.get_by_label("Anything you'd like to tell us?")).to_have_value("Ana found my size <fast>")
    screenshot(page, f"feedback-error-{width}")
    keep(f"feedback-error-{width}")

    page.locator(".scores-csat .score", has_text="Very happy").click()
    page.locator(".scores-nps .score-face", has_text=re.compile(r"^9$")).click()
    expect(page.locator("input[name=csat][value='5']")).to_be_checked()
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(page, f"feedback-thanks-{width}")
    keep(f"feedback-thanks-{width}")
    db.session.rollback()
    [answer] = clienteling.feedback_for()
    assert (answer.csat, answer.nps, answer.comment) == (5, 9, "Ana found my size <fast>")

    page.goto(feedback_link)
    expect(page.get_by_role("heading", name="You've already answered")).to_be_visible()


def test_the_associate_sees_my_tasks_and_a_message_form_without_sms_consent(new_page, world, make_customer, screenshot):
    zoe = make_customer(consents={"email_marketing": True})
    clienteling.create_task(zoe, "Trail Jacket (JKT-M) from their wishlist is back in stock at Berlin Mitte", date(2026, 12, 1), world["ana"].actor)
    clienteling.create_task(zoe, "Call about the hemming of the trousers bought on Saturday", date(2030, 1, 9), world["ana"].actor)
    db.session.commit()
    for width, height in ((1024, 768), (360, 740)):
        page = new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/login")
        page.get_by_label("Email").fill("ana@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="My tasks").click()
        expect(page.get_by_test_id("task-list").locator("li")).to_have_count(2)
        screenshot(page, f"tablet-tasks-{width}")
        keep(f"tablet-tasks-{width}")
        page.get_by_role("link", name="Message").first.click()
        expect(page.get_by_test_id("no-consent-sms")).to_contain_text("No consent for SMS")
        page.get_by_label("Template").select_option("thank_you_visit")
        page.get_by_role("button", name="Preview").click()
        expect(page.get_by_test_id("preview")).to_contain_text("Thank you for visiting Berlin Mitte")
        screenshot(page, f"tablet-message-{width}")
        keep(f"tablet-message-{width}")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Email to Zoë Müller is on its way.")).to_be_visible()
    page.get_by_role("button", name="Done").first.click()
    expect(page.get_by_test_id("task-list").locator("li")).to_have_count(1)
