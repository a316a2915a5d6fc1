"""Picking another colour brings that colour's picture to the front, on the tablet and the kiosk."""

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

from accounts import create_staff, register_kiosk
from core import db

from ..web.test_variant_images import BLUE, GREEN, colourway_shoe
from .test_tablet_browser import sign_in

pytestmark = pytest.mark.browser


def main_picture(page):
    return page.locator("[data-gallery] .gallery-item").first.locator("img")


@pytest.fixture
def shoe():
    colourway_shoe()
    create_staff("ana@example.com", "Ana Ruiz", "associate", "correct-horse", ["S1"])
    db.session.commit()


def test_picking_a_colour_on_the_tablet_shows_that_colours_picture(page, shoe, screenshot):
    sign_in(page)
    page.goto("/tablet/products/colourway-runner?sku=CW-MOSS-42")
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(GREEN) + r"\?v="))
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name=re.compile("^Deep Blue")).click()
    expect(page).to_have_url(re.compile(r"sku=CW-DEEP(%20|\+)BLUE-42"))
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(BLUE) + r"\?v="))
    expect(main_picture(page)).to_have_attribute("alt", "Colourway Runner in Deep Blue")
    expect(main_picture(page)).to_be_in_viewport()
    screenshot(page, "tablet-colour-picture")
    page.get_by_role("link", name=re.compile("^41")).click()  # another size of the same colour keeps the picture
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(BLUE)))
    page.get_by_role("link", name=re.compile("^Moss")).click()
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(GREEN)))
    assert page.evaluate("window.stillTheSamePage") is True


def test_picking_a_colour_at_the_kiosk_shows_that_colours_picture(page, shoe, screenshot):
    _, token = register_kiosk("S1", "Entrance")
    db.session.commit()
    page.goto(f"/kiosk/activate/{token}")
    page.goto("/kiosk/products/colourway-runner")
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(GREEN)))
    page.get_by_role("link", name=re.compile("^Deep Blue")).click()
    expect(main_picture(page)).to_have_attribute("src", re.compile(re.escape(BLUE)))
    screenshot(page, "kiosk-colour-picture")
