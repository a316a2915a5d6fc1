"""Browser fixtures: the system Chromium driven by Playwright's sync API against ``live_server``.

Without Playwright or Chromium the browser tests are skipped with a one-line reason — except
when ``CI=true``, where a missing browser fails them: CI must never pass without a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("SHELFSIDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1024, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _browser_unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true needs a browser: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _browser_unavailable(f"no Chromium at {CHROMIUM} (set SHELFSIDE_CHROMIUM)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        _browser_unavailable(f"Chromium at {CHROMIUM} did not start: {str(exc).strip().splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_page(browser, live_server):
    """Open a fresh browser profile (its own cookies) at 1024×768; nothing may leave for the internet.

    Fails the test on any JavaScript error in the page.
    """
    contexts, errors = [], []

    def open_page():
        context = browser.new_context(viewport=VIEWPORT, base_url=live_server, locale="en-GB")
        context.set_default_timeout(10_000)
        context.route(lambda url: not url.startswith(live_server), lambda route: route.abort())
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves test-artifacts/screenshots/name.png and checks nothing
    overflows the 1024-pixel width sideways."""

    def take(page, name: str):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"

    return take


@pytest.fixture(autouse=True)
def _live_streams_for_every_page(app, monkeypatch):
    """Each tablet page opens a live stream, and a closed one is noticed only at its next write:
    browser tests that open many pages quickly need more than a process's production share."""
    monkeypatch.setitem(app.config, "LIVE_MAX_STREAMS", 100)
