"""The associate tablet: sign-in, store scoping, search, scans, product page, safe descriptions."""

import re

import pytest

from accounts import create_staff
from core import db
from tests.browser.shop import build_shop
from web.viewmodels import clean_description

PASSWORD = "correct-horse"


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def sign_in(client):
    def as_staff(role="associate", stores=("S1",), email="ana@example.com", name="Ana Ruiz"):
        create_staff(email, name, role, PASSWORD, list(stores))
        db.session.commit()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return as_staff


def text(response) -> str:
    return response.get_data(as_text=True)


def squash(html: str) -> str:
    """Tags removed and whitespace collapsed: what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_tablet_pages_need_a_signed_in_staff_member(client, shop):
    for path in ["/tablet/", "/tablet/?q=runner", "/tablet/products/trail-runner-gtx"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert client.post("/tablet/store", data={"store_id": shop.stores["S1"].id}).status_code == 302


def test_top_bar_shows_the_store_the_associate_and_a_csrf_protected_sign_out(shop, sign_in):
    client = sign_in()
    page = text(client.get("/tablet/"))
    assert "Berlin Mitte" in page and "Ana Ruiz" in page
    assert re.search(r'<form method="post" action="/logout"[^>]*>\s*<input type="hidden" name="csrf_token" value="[^"]+">', page)
    assert 'name="csrf-token"' in page
    assert "autofocus" in page


def test_search_shows_price_and_availability_at_the_associates_store(shop, sign_in):
    client = sign_in()
    page = squash(text(client.get("/tablet/?q=northpeak")))
    assert "Trail Runner GTX Northpeak €129.00 6 here" in page  # 5 available in 41 (one of six held) + 1 in 42
    assert "Rain Shell Jacket Northpeak €99.00 Low: 1 here" in page
    assert "Merino Beanie Northpeak €29.00 None here" in page


def test_search_matches_attributes_and_sku_prefixes(shop, sign_in):
    client = sign_in()
    assert "Trail Runner GTX" in text(client.get("/tablet/?q=slate"))
    assert "Trail Runner GTX" in text(client.get("/tablet/?q=TR-4"))


def test_scanning_a_barcode_opens_the_product_with_that_variant_selected(shop, sign_in):
    client = sign_in()
    response = client.get("/tablet/?q=" + shop.barcodes["TR-42-MOSS"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/tablet/products/trail-runner-gtx?sku=TR-42-MOSS"
    page = text(client.get(response.headers["Location"]))
    assert 'data-selected="TR-42-MOSS"' in page


def test_a_upc_a_scan_and_an_exact_sku_also_go_straight_to_the_product(shop, sign_in):
    client = sign_in()
    assert client.get("/tablet/?q=0036000291452").headers["Location"] == "/tablet/products/merino-beanie?sku=MB-OS"
    assert client.get("/tablet/?q=0-36000-29145-2").headers["Location"] == "/tablet/products/merino-beanie?sku=MB-OS"
    assert client.get("/tablet/?q=tr-43-moss").headers["Location"] == "/tablet/products/trail-runner-gtx?sku=TR-43-MOSS"


def test_an_unknown_barcode_says_nothing_matched_and_suggests_what_to_try(shop, sign_in):
    client = sign_in()
    response = client.get("/tablet/?q=4006389999999")
    assert response.status_code == 200
    page = squash(text(response))
    assert "No products match “4006389999999”" in page
    assert "scan the barcode" in page and "Footwear" in page  # category chips to browse instead


def test_results_are_cursor_paged_with_more_results(sign_in, create_location, create_product):
    create_location("S1", name="Berlin Mitte")
    for n in range(30):
        create_product(handle=f"sock-{n:02d}", title=f"Hiking Sock {n:02d}", skus=(f"SOCK-{n:02d}-M",))
    client = sign_in()
    first = text(client.get("/tablet/?q=hiking+sock"))
    assert first.count('class="product-card"') == 24
    more = re.search(r'data-more href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(client.get(more))
    assert second.count('class="product-card"') == 6 and "data-more" not in second
    assert "Hiking Sock 29" in second and "Hiking Sock 00" not in second


def test_product_page_shows_stock_here_with_shelf_other_stores_and_warehouse(shop, sign_in):
    client = sign_in()
    page = text(client.get("/tablet/products/trail-runner-gtx?sku=TR-41-MOSS"))
    panel = page.split('<section class="variant-stock" data-variant-panel data-sku="TR-41-MOSS"')[1].split("</section>\n    \n")[0]
    words = squash(panel)
    assert "5 available here" in words and "On hand 6" in words and "Reserved 1" in words
    assert "Footwear wall · aisle A3 · bay 12" in words
    assert "Hamburg Altona" in words and "Lisbon Chiado" in words and "Europe/Lisbon" in words
    assert re.search(r"Hamburg Altona.*?<td class=\"num \">2</td>", panel, re.S)
    assert re.search(r"Online warehouse</th><td class=\"num \">40</td>", panel)
    assert "€129.00" in page and "€159.00" in page  # price and compare-at
    assert shop.barcodes["TR-41-MOSS"] in words


def test_every_variant_is_rendered_for_instant_switching_and_links_work_without_js(shop, sign_in):
    client = sign_in()
    page = text(client.get("/tablet/products/trail-runner-gtx?sku=TR-41-MOSS"))
    assert page.count('data-variant-panel data-sku="TR-43-MOSS" hidden') == 2  # price line and stock panel
    assert 'href="/tablet/products/trail-runner-gtx?sku=TR-42-MOSS"' in page  # size 42 keeps the colour
    assert 'href="/tablet/products/trail-runner-gtx?sku=TR-42-SLATE"' in page  # colour slate exists only in 42
    assert '"sku": "TR-42-MOSS"' in page or '"sku":"TR-42-MOSS"' in page  # JSON for the picker


def test_an_unknown_product_is_a_friendly_404(shop, sign_in):
    client = sign_in()
    response = client.get("/tablet/products/no-such-thing")
    assert response.status_code == 404 and "Not found" in text(response)


def test_store_scoping_an_associate_sees_stock_here_only_for_their_store(shop, sign_in):
    client = sign_in(stores=("S2",))
    with client.session_transaction() as stored:
        stored["store_id"] = shop.stores["S1"].id  # a stale or forged choice is not honoured
    page = text(client.get("/tablet/products/trail-runner-gtx?sku=TR-41-MOSS"))
    assert 'data-testid="current-store">Hamburg Altona<' in page
    panel = squash(page.split('data-sku="TR-41-MOSS"')[2].split("Other stores")[0])
    assert "2 available here" in panel and "Back room" in panel and "Reserved 0" in panel
    assert client.post("/tablet/store", data={"store_id": shop.stores["S1"].id}).status_code == 403
    assert "Low: " not in text(client.get("/tablet/?q=rain"))  # the Berlin unit is not "here"


def test_an_associate_of_two_stores_can_switch_between_them(shop, sign_in):
    client = sign_in(stores=("S1", "S2"))
    assert 'data-testid="current-store">Berlin Mitte<' in text(client.get("/tablet/"))
    response = client.post("/tablet/store", data={"store_id": shop.stores["S2"].id, "next": "/tablet/?q=runner"})
    assert response.status_code == 302 and response.headers["Location"] == "/tablet/?q=runner"
    page = text(client.get("/tablet/?q=runner"))
    assert 'data-testid="current-store">Hamburg Altona<' in page and "5 here" in squash(page)
    assert client.post("/tablet/store", data={"store_id": shop.stores["S2"].id, "next": "https://evil.example/"}).headers["Location"] == "/tablet/"
    assert client.post("/tablet/store", data={"store_id": shop.stores["WH"].id}).status_code == 403  # a warehouse is not a store to work in


def test_an_admin_may_work_in_every_store(shop, sign_in):
    client = sign_in(role="admin", stores=(), email="root@example.com", name="Root")
    page = text(client.get("/tablet/"))
    for name in ["Berlin Mitte", "Hamburg Altona", "Lisbon Chiado"]:
        assert name in page
    assert client.post("/tablet/store", data={"store_id": shop.stores["S3"].id}).status_code == 302
    assert 'data-testid="current-store">Lisbon Chiado<' in text(client.get("/tablet/"))


def test_product_descriptions_are_sanitised(shop, sign_in):
    client = sign_in()
    page = text(client.get("/tablet/products/trail-runner-gtx"))
    description = page.split('<section class="description" aria-label="Description">')[1].split("</section>")[0]
    assert "<h3>Grip on every trail</h3>" in description
    assert "<p>Waterproof <strong>GTX</strong> upper, Vibram sole.</p>" in description
    assert "<ul><li>Weight 310 g</li><li>Drop 8 mm</li></ul>" in description
    for bad in ["<script", "alert", "onclick", "onerror", "javascript:", "<img", "<iframe", "style=", "evil.example"]:
        assert bad not in description, bad


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Plain & simple", "<p>Plain &amp; simple</p>"),
        ("One\n\nTwo\nlines", "<p>One</p><p>Two<br>lines</p>"),
        ("<p>Unclosed <b>bold", "<p>Unclosed <b>bold</b></p>"),
        ("<div><span class=x>a</span></div>", "<p>a</p>"),
        ("<p>1 &lt; 2 &amp;&amp; <em>3</em></p>", "<p>1 &lt; 2 &amp;&amp; <em>3</em></p>"),
        ("<style>p{}</style><SCRIPT>x()</SCRIPT>ok", "ok"),
        ("<p>a</li></p>b</strong>", "<p>a</p>b"),
        ('<a href="https://x">link text</a>', "link text"),
        ("", ""),
    ],
)
def test_clean_description_keeps_formatting_and_drops_everything_else(raw, clean):
    assert str(clean_description(raw)) == clean


def test_switching_store_and_signing_out_need_the_forms_csrf_token(csrf_client, shop):
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1", "S2"])
    store = shop.stores["S2"].id
    db.session.commit()  # end this session's transaction: the second app's requests need the SQLite write lock
    login_page = text(csrf_client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    assert csrf_client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = text(csrf_client.get("/tablet/"))
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert csrf_client.post("/tablet/store", data={"store_id": store}).status_code == 400
    assert csrf_client.post("/tablet/store", data={"store_id": store, "csrf_token": form_token}).status_code == 302
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.post("/logout", data={"csrf_token": form_token}).status_code == 302
    assert csrf_client.get("/tablet/").status_code == 302


def test_not_found_pages_speak_to_the_associate_and_offer_a_search(shop, sign_in):
    client = sign_in()
    for path in ["/tablet/products/nope", "/tablet/no-such-page"]:
        response = client.get(path)
        page = squash(text(response)).replace("&#39;", "'")
        assert response.status_code == 404, path
        assert "We couldn't find that" in page, path
        assert 'role="search"' in text(response) and "Ana Ruiz" in page, path  # the tablet's own page, with search
        for technical in ["handle", "'nope'", "requested URL", "server"]:
            assert technical not in page, (path, technical)
    assert "couldn't find that product" in squash(text(client.get("/tablet/products/nope"))).replace("&#39;", "'")


def test_the_api_keeps_its_json_envelope_for_not_found(partner):
    response = partner.get("/api/v1/products/nope")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = partner.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_a_page_outside_the_faces_is_a_plain_friendly_404(client):
    response = client.get("/no-such-page")
    page = text(response).replace("&#39;", "'")
    assert response.status_code == 404 and "We couldn't find that page" in page and "requested URL" not in page


HTMX_RESULTS = {"HX-Request": "true", "HX-Target": "results"}


def test_an_htmx_search_gets_only_the_results_and_the_address_to_show(shop, sign_in):
    client = sign_in()
    response = client.get("/tablet/?q=northpeak&live=1", headers=HTMX_RESULTS)
    page = text(response)
    assert response.status_code == 200 and page.lstrip().startswith('<div id="results"')
    assert "Trail Runner GTX" in page and "<header" not in page and "<html" not in page
    assert response.headers["HX-Replace-Url"] == "/tablet/?q=northpeak"  # without live=1
    assert {"HX-Request", "HX-Target"} <= set(response.headers["Vary"].replace(" ", "").split(","))
    assert "<html" in text(client.get("/tablet/?q=northpeak"))  # without htmx: the whole page
    restore = client.get("/tablet/?q=northpeak", headers={**HTMX_RESULTS, "HX-History-Restore-Request": "true"})
    assert "<html" in text(restore)  # htmx restoring history needs the whole page too


def test_while_typing_an_exact_sku_shows_results_and_enter_opens_the_product(shop, sign_in):
    client = sign_in()
    typing = client.get("/tablet/?q=RS-M&live=1", headers=HTMX_RESULTS)
    assert typing.status_code == 200 and "Rain Shell Jacket" in text(typing)  # no jump while still typing
    scanned = client.get("/tablet/?q=" + shop.barcodes["RS-M"], headers=HTMX_RESULTS)
    assert scanned.status_code == 200 and scanned.headers["HX-Redirect"] == "/tablet/products/rain-shell?sku=RS-M"


def test_a_live_refresh_of_a_product_page_gets_only_its_variant_area(shop, sign_in):
    client = sign_in()
    response = client.get("/tablet/products/trail-runner-gtx?sku=TR-42-MOSS", headers={"HX-Request": "true", "HX-Target": "variant-area"})
    page = text(response)
    assert page.lstrip().startswith('<div id="variant-area"') and "<header" not in page
    assert 'data-live-skus="TR-41-MOSS TR-42-MOSS TR-43-MOSS TR-42-SLATE"' in page
    assert 'data-variant-panel data-sku="TR-42-MOSS"  aria-label' in page and 'data-sku="TR-41-MOSS" hidden' in page  # the selected one shown
