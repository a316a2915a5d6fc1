"""The API documentation renders in a real Chromium with no internet (the fixture blocks every other host)."""

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips these tests (or fails them when CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def test_swagger_ui_shows_the_api_offline(page, screenshot):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/api/v1/docs")
    expect(page.get_by_role("heading", name="Shelfside API")).to_be_visible()
    expect(page.get_by_text("/api/v1/availability", exact=True)).to_be_visible()
    expect(page.get_by_text("/api/v1/staff/tokens", exact=True)).to_be_visible()
    screenshot(page, "api-docs")
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []  # it runs under the site's CSP
