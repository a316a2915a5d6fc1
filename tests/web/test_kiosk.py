"""The store kiosk: device activation, refusal without a device, stock at this store in words."""

import re
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest

from accounts import KioskDevice, create_staff, register_kiosk
from core import clock, db
from tests.browser.shop import build_shop
from tests.helpers import run_rate_limited


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def kiosk(client, shop):
    """A test client activated as a kiosk of Berlin Mitte (S1)."""
    device, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    response = client.get(f"/kiosk/activate/{token}")
    assert response.status_code == 302 and response.headers["Location"] == "/kiosk/"
    client.device = device
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("path", ["/kiosk/", "/kiosk/search?q=runner", "/kiosk/categories/footwear", "/kiosk/products/trail-runner-gtx"])
def test_kiosk_pages_without_an_activated_device_say_not_set_up_with_403(client, shop, path):
    response = client.get(path)
    assert response.status_code == 403
    assert "This screen isn't set up yet" in text(response) or "This screen isn&#39;t set up yet" in text(response)
    assert "ask a member of staff" in text(response).lower()


def test_a_wrong_activation_token_is_refused(client, shop):
    response = client.get("/kiosk/activate/kio_not-a-real-token")
    assert response.status_code == 403
    assert client.get("/kiosk/").status_code == 403


def test_activation_remembers_the_device_in_a_permanent_session(client, shop):
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    response = client.get(f"/kiosk/activate/{token}")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))
    assert expires - clock.now() > timedelta(days=360)  # KIOSK_SESSION_DAYS: a year
    page = text(client.get("/kiosk/"))
    assert "Berlin Mitte" in page and "Footwear" in page and "Jackets" in page


def test_a_revoked_device_is_refused_on_its_next_request(kiosk):
    assert kiosk.get("/kiosk/").status_code == 200
    device = db.session.get(KioskDevice, kiosk.device.id)
    device.revoked_at = clock.now()
    db.session.commit()
    assert kiosk.get("/kiosk/").status_code == 403
    device.revoked_at = None  # un-revoking later does not bring back a session that was refused
    db.session.commit()
    assert kiosk.get("/kiosk/").status_code == 403


def test_a_deleted_device_is_refused(kiosk):
    db.session.delete(db.session.get(KioskDevice, kiosk.device.id))
    db.session.commit()
    assert kiosk.get("/kiosk/products/trail-runner-gtx").status_code == 403


def test_a_revoked_token_cannot_activate_again(client, shop):
    device, token = register_kiosk("S1", "Entrance kiosk")
    device.revoked_at = clock.now()
    db.session.commit()
    assert client.get(f"/kiosk/activate/{token}").status_code == 403


def test_kiosk_product_page_tells_stock_at_this_store_in_words_with_the_shelf(kiosk):
    page = text(kiosk.get("/kiosk/products/trail-runner-gtx?sku=TR-41-MOSS"))

    def panel(sku):
        return squash(page.split(f'<section data-variant-panel data-sku="{sku}"')[1].split("</section>")[0])

    assert "In stock here" in panel("TR-41-MOSS") and "Footwear wall · aisle A3 · bay 12" in panel("TR-41-MOSS")
    assert "Also in stock at Hamburg Altona" in panel("TR-41-MOSS") and "Available online" in panel("TR-41-MOSS")
    assert "Only 1 left here" in panel("TR-42-MOSS") and "aisle A3 · bay 13" in panel("TR-42-MOSS")
    assert "Not in stock here" in panel("TR-43-MOSS") and "Hamburg Altona" in panel("TR-43-MOSS")
    assert "a member of staff can order it for you" in panel("TR-43-MOSS")
    assert "Sold out everywhere" in panel("TR-42-SLATE")
    words = squash(page)
    for number_talk in ["On hand", "Reserved", "available here", " 40 ", "WEB-1001"]:
        assert number_talk not in words, number_talk
    assert "€129.00" in words and "€159.00" in words
    assert "<script>alert" not in page and "onerror" not in page


def test_kiosk_browses_categories_and_searches_with_stock_here_badges(kiosk):
    page = squash(text(kiosk.get("/kiosk/categories/footwear")))
    assert "Trail Runner GTX" in page and "In stock here" in page and "Rain Shell" not in page
    results = squash(text(kiosk.get("/kiosk/search?q=northpeak")))
    assert "Only 1 left here" in results and "Not in stock here" in results
    assert kiosk.get("/kiosk/categories/no-such-category").status_code == 404
    empty = squash(text(kiosk.get("/kiosk/search?q=zzzz")))
    assert "couldn't find anything" in empty.replace("&#39;", "'")


def test_a_scanned_barcode_at_the_kiosk_opens_the_product(kiosk, shop):
    response = kiosk.get("/kiosk/search?q=" + shop.barcodes["TR-42-MOSS"])
    assert response.headers["Location"] == "/kiosk/products/trail-runner-gtx?sku=TR-42-MOSS"


def test_draft_products_are_not_shown_at_the_kiosk(kiosk):
    from inventory import get_product

    get_product("rain-shell").status = "draft"
    db.session.commit()
    assert kiosk.get("/kiosk/products/rain-shell").status_code == 404
    assert "Rain Shell" not in text(kiosk.get("/kiosk/search?q=rain"))


def test_activating_a_kiosk_ends_any_staff_session_and_shows_no_staff_data(client, shop):
    create_staff("ana@example.com", "Ana Ruiz", "manager", "correct-horse", ["S1"])
    db.session.commit()
    client.post("/login", data={"email": "ana@example.com", "password": "correct-horse"})
    assert client.get("/tablet/").status_code == 200
    _, token = register_kiosk("S1", "Entrance kiosk")
    db.session.commit()
    client.get(f"/kiosk/activate/{token}")
    for path in ["/kiosk/", "/kiosk/products/trail-runner-gtx", "/kiosk/search?q=runner"]:
        page = text(client.get(path))
        assert "Ana" not in page and "ana@example.com" not in page and "Sign out" not in page and "csrf" not in page
    assert client.get("/tablet/").status_code == 302  # the staff session is gone


def test_kiosk_pages_are_read_only(kiosk):
    assert kiosk.post("/kiosk/").status_code == 405
    assert kiosk.post("/kiosk/products/trail-runner-gtx").status_code == 405


def test_kiosk_errors_lead_back_to_the_kiosk_not_the_tablet(kiosk):
    page = text(kiosk.get("/kiosk/products/nope"))
    assert 'href="/kiosk/"' in page and "/tablet/" not in page


def test_kiosk_pages_and_activation_guesses_are_rate_limited(tmp_path):
    """Each kiosk route has PUBLIC_RATE_LIMIT per client address.  Runs in its own process: the limiter is a process-wide extension, disabled for the rest of the suite."""
    line = run_rate_limited(
        tmp_path,
        'PUBLIC_RATE_LIMIT = "4 per minute"\n',
        """
        codes = [client.get("/kiosk/activate/guess-" + str(n)).status_code for n in range(5)]
        codes += [client.get("/kiosk/").status_code for n in range(5)]
        print(codes)
        """,
    )
    assert line == "[403, 403, 403, 403, 429, 403, 403, 403, 403, 429]"


def test_an_empty_category_offers_the_other_categories(kiosk, partner):
    """Only a draft product in Gloves: the kiosk shows none, and offers the categories to tap instead."""
    draft = {
        "title": "Winter Gloves",
        "category": "Gloves",
        "status": "draft",
        "variants": [{"sku": "GLV-1", "price": {"amount": 2900, "currency": "EUR"}}],
    }
    assert partner.put("/api/v1/products/winter-gloves", json=draft).status_code == 201
    page = text(kiosk.get("/kiosk/categories/gloves"))
    assert "We couldn't find anything" in page and "Winter Gloves" not in page
    assert "Footwear" in page and "Jackets" in page


def test_a_category_and_a_product_named_in_another_script_are_browsed_like_any_other(kiosk, partner):
    dress = {"title": "Платье миди", "category": "Платья", "variants": [{"sku": "DRESS-M", "price": {"amount": 7900, "currency": "EUR"}}]}
    assert partner.put("/api/v1/products/платье-миди", json=dress).status_code == 201
    home = text(kiosk.get("/kiosk/"))
    link = re.search(r'href="(/kiosk/categories/[^"]+)"[^>]*>Платья<', home).group(1)
    assert link == "/kiosk/categories/%D0%BF%D0%BB%D0%B0%D1%82%D1%8C%D1%8F"  # the slug "платья", percent-encoded
    category = text(kiosk.get(link))
    assert "Платье миди" in category and "Trail Runner GTX" not in category
    assert "Платье миди" in text(kiosk.get("/kiosk/products/платье-миди"))


@pytest.mark.parametrize(
    "path, words",
    [
        ("/kiosk/products/nope", "We couldn't find that product. Try searching or ask a member of staff."),
        ("/kiosk/categories/nope", "We couldn't find that category. Try searching"),
        ("/kiosk/no-such-page", "We couldn't find that page. Try searching or ask a member of staff."),
    ],
)
def test_kiosk_not_found_pages_speak_the_customers_language(kiosk, path, words):
    response = kiosk.get(path)
    page = re.sub(r"\s+", " ", squash(text(response)).replace("&#39;", "'"))
    assert response.status_code == 404
    assert words in page and "Back to the start" in page and 'role="search"' in text(response)
    for technical in ["handle", "'nope'", "requested URL", "server", "404"]:
        assert technical not in page, technical


def test_a_kiosk_error_never_shows_the_domain_message(kiosk):
    page = squash(text(kiosk.post("/kiosk/products/trail-runner-gtx"))).replace("&#39;", "'")
    assert "That didn't work" in page and "method" not in page.lower()
