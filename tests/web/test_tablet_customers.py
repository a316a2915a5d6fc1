"""The tablet's customer screens: search, scans of a loyalty card, the QR code, a new customer,
the profile (notes, edits, consent, the timeline and what consent hides), the client book."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

import clienteling
from accounts import create_staff
from clienteling import ConsentRecord, Customer, CustomerNote, ProfileView, create_customer, record_activity, record_consent
from core import db
from core.actor import Actor
from inventory import Location
from web.viewmodels import customers as views

PASSWORD = "correct-horse"
STAFF = Actor.system("test")


def text(response) -> str:
    return response.get_data(as_text=True)


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def stores():
    made = {}
    for code, name, tz in [("BER-MITTE", "Berlin Mitte", "Europe/Berlin"), ("AMS-CENTRUM", "Amsterdam Centrum", "Europe/Amsterdam")]:
        made[code] = Location(code=code, name=name, kind="store", timezone=tz)
        db.session.add(made[code])
    db.session.commit()
    return made


@pytest.fixture
def associate(stores):
    staff = create_staff("ana@example.com", "Ana Sousa", "associate", PASSWORD, ["BER-MITTE"])
    db.session.commit()
    return staff


@pytest.fixture
def tablet(client, associate):
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def zoe(stores):
    customer = create_customer(
        "Zoë Müller",
        STAFF,
        email="Zoe.Mueller@example.com",
        phone="+49 151 12345678",
        home_store="BER-MITTE",
        sizes={"tops": "M", "shoes": "42"},
        tags=["vip"],
        consents={"personalisation": True, "email_marketing": True},
        consent_source="web",
    )
    db.session.commit()
    return customer


def profile_url(customer) -> str:
    return f"/tablet/customers/{customer.public_id}"


# --- search -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["zoe muller", "ZOË", "Müll", "zoe MÜLLER", "  zoë  "])
def test_search_finds_a_name_whatever_the_accents_and_case(tablet, zoe, query):
    page = squash(text(tablet.get("/tablet/customers", query_string={"q": query})))
    assert "Zoë Müller" in page and zoe.loyalty_code in page and "Berlin Mitte" in page


@pytest.mark.parametrize("query", ["zoe.mueller@example.com", "ZOE.MUELLER@Example.COM"])
def test_search_finds_an_exact_email(tablet, zoe, query):
    assert "Zoë Müller" in text(tablet.get("/tablet/customers", query_string={"q": query}))


@pytest.mark.parametrize("query", ["0151 12345678", "+49 151 12345678", "+4915112345678", "0049 151 1234 5678"])
def test_search_finds_a_phone_in_local_and_international_form(tablet, zoe, query):
    assert "Zoë Müller" in text(tablet.get("/tablet/customers", query_string={"q": query}))


def test_search_for_someone_unknown_says_so_and_offers_a_new_customer(tablet, zoe):
    page = squash(text(tablet.get("/tablet/customers", query_string={"q": "Nobody Here"})))
    assert "No customer matches “Nobody Here”" in page and "New customer" in page


def test_an_exact_loyalty_code_opens_the_profile(tablet, zoe):
    for typed in (zoe.loyalty_code, zoe.loyalty_code.lower(), f" {zoe.loyalty_code[:6]} {zoe.loyalty_code[6:]} "):
        response = tablet.get("/tablet/customers", query_string={"q": typed})
        assert response.status_code == 302 and response.headers["Location"] == profile_url(zoe), typed


def test_a_scanned_loyalty_qr_link_typed_by_the_scanner_opens_the_profile(tablet, zoe):
    scanned = f"http://shop.example:8000/tablet/c/{zoe.loyalty_code}"
    response = tablet.get("/tablet/customers", query_string={"q": scanned})
    assert response.status_code == 302 and response.headers["Location"] == profile_url(zoe)


def test_typing_a_loyalty_code_shows_the_result_without_jumping_away(tablet, zoe):
    response = tablet.get(
        "/tablet/customers", query_string={"q": zoe.loyalty_code, "live": "1"}, headers={"HX-Request": "true", "HX-Target": "customer-results"}
    )
    assert response.status_code == 200 and "Zoë Müller" in text(response)
    assert 'id="customer-results"' in text(response) and "<html" not in text(response)
    assert response.headers["HX-Replace-Url"] == f"/tablet/customers?q={zoe.loyalty_code}"


def test_an_htmx_scan_is_told_where_to_go(tablet, zoe):
    response = tablet.get("/tablet/customers", query_string={"q": zoe.loyalty_code}, headers={"HX-Request": "true", "HX-Target": "customer-results"})
    assert response.headers["HX-Redirect"] == profile_url(zoe)


def test_more_customers_pages_on_by_name(tablet, stores):
    for n in range(30):
        create_customer(f"Jan Tester{n:02d}", STAFF)
    db.session.commit()
    first = text(tablet.get("/tablet/customers?q=jan"))
    assert first.count('data-testid="customer-row"') == 25
    more = re.search(r'data-more href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(tablet.get(more))
    assert second.count('data-testid="customer-row"') == 5 and "Jan Tester29" in second and "Jan Tester00" not in second
    assert tablet.get("/tablet/customers?q=jan&cursor=nonsense").status_code == 400


def test_customer_pages_need_a_signed_in_staff_member(client, zoe):
    for path in [
        "/tablet/customers?q=zoe",
        profile_url(zoe),
        f"/tablet/c/{zoe.loyalty_code}",
        profile_url(zoe) + "/loyalty-qr.svg",
        "/tablet/clients",
    ]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


# --- loyalty QR ----------------------------------------------------------------------------------


def test_the_loyalty_link_opens_the_profile(tablet, zoe):
    response = tablet.get(f"/tablet/c/{zoe.loyalty_code}")
    assert response.status_code == 302 and response.headers["Location"] == profile_url(zoe)


def test_an_unknown_loyalty_code_is_a_friendly_not_found_page(tablet, zoe):
    response = tablet.get("/tablet/c/SH0000000000")
    assert response.status_code == 404
    page = squash(text(response))
    assert "No customer has this loyalty card" in page and "SH0000000000" in page and "Search customers" in text(response)


def test_the_loyalty_qr_is_an_svg_of_the_loyalty_link(tablet, zoe, app):
    response = tablet.get(profile_url(zoe) + "/loyalty-qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag.endswith("svg") and root.find("{http://www.w3.org/2000/svg}path") is not None
    with app.test_request_context("/", base_url="http://localhost"):
        from web.tablet.customers import loyalty_url

        assert loyalty_url(zoe.loyalty_code) == f"http://localhost/tablet/c/{zoe.loyalty_code}"
    import qrcode
    import qrcode.image.svg

    expected = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10, image_factory=qrcode.image.svg.SvgPathImage)
    expected.add_data(f"http://localhost/tablet/c/{zoe.loyalty_code}")
    expected.make(fit=True)
    assert expected.make_image().path.attrib["d"] == root.find("{http://www.w3.org/2000/svg}path").attrib["d"]
    assert 'src="' + profile_url(zoe) + '/loyalty-qr.svg"' in text(tablet.get(profile_url(zoe)))


# --- a new customer ----------------------------------------------------------------------------------


def test_a_new_customer_is_created_with_the_consents_given_in_store(tablet, associate):
    response = tablet.post(
        "/tablet/customers",
        data={
            "name": "Sören Köhler",
            "email": "soeren@example.com",
            "phone": "0176 12345678",
            "home_store": "BER-MITTE",
            "consent_email_marketing": "1",
            "consent_personalisation": "1",
        },
    )
    assert response.status_code == 302
    customer = db.session.scalar(select(Customer).where(Customer.name == "Sören Köhler"))
    assert response.headers["Location"] == profile_url(customer)
    assert customer.email == "soeren@example.com" and customer.phone == "+4917612345678" and customer.home_store.code == "BER-MITTE"
    state = clienteling.consents(customer)
    assert state["email_marketing"]["granted"] and state["personalisation"]["granted"] and not state["sms_marketing"]["granted"]
    records = list(db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == customer.id)))
    assert {r.source for r in records} == {"store"} and {(r.actor_kind, r.actor_id) for r in records} == {("staff", associate.id)}


def test_a_new_customer_with_someone_elses_email_says_whose_it_is(tablet, zoe):
    response = tablet.post("/tablet/customers", data={"name": "Zoe M", "email": "ZOE.MUELLER@example.com"})
    assert response.status_code == 409
    page = text(response)
    assert "This email belongs to" in squash(page) and f'href="{profile_url(zoe)}">Zoë Müller</a>' in page
    assert db.session.scalar(select(func.count(Customer.id))) == 1


def test_a_new_customer_without_a_name_or_with_a_bad_phone_names_the_field(tablet, stores):
    response = tablet.post("/tablet/customers", data={"name": "", "email": "x@example.com"})
    assert response.status_code == 400
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', text(response)) and "A customer needs a name." in text(response)
    response = tablet.post("/tablet/customers", data={"name": "Ana", "phone": "12"})
    assert response.status_code == 400 and re.search(r'id="f-phone"[^>]*aria-invalid="true"', text(response))
    assert 'value="Ana"' in text(response)
    assert db.session.scalar(select(func.count(Customer.id))) == 0


# --- the profile ----------------------------------------------------------------------------------


def test_opening_a_profile_shows_who_they_are_and_is_logged(tablet, zoe, associate):
    page = squash(text(tablet.get(profile_url(zoe))))
    for expected in ("Zoë Müller", "zoe.mueller@example.com", "+49 1511 2345678", zoe.loyalty_code, "Berlin Mitte", "Tops M", "Shoes 42", "vip"):
        assert expected in page, expected
    assert "Email marketing Granted on the web shop" in page
    assert "SMS marketing Not asked" in page
    views_logged = clienteling.profile_views(zoe)
    assert [(v.staff_id, v.via) for v in views_logged] == [(associate.id, "tablet")]


def test_a_lead_shows_its_badge_and_what_we_know(tablet, stores):
    lead, _ = clienteling.find_or_create_lead("email", "someone@example.com")
    db.session.commit()
    page = text(tablet.get(profile_url(lead)))
    assert 'data-testid="lead-badge"' in page and "someone@example.com" in page


def test_an_associate_adds_a_note_and_pinned_notes_come_first(tablet, zoe, associate):
    assert tablet.post(profile_url(zoe) + "/notes", data={"text": "Likes earth tones"}).status_code == 302
    assert tablet.post(profile_url(zoe) + "/notes", data={"text": "Marathon in September", "pinned": "1"}).status_code == 302
    assert tablet.post(profile_url(zoe) + "/notes", data={"text": "Asked about the jacket"}).status_code == 302
    page = squash(text(tablet.get(profile_url(zoe))))
    assert page.index("Marathon in September") < page.index("Asked about the jacket") < page.index("Likes earth tones")
    assert "Pinned Marathon in September Ana Sousa ·" in page
    notes = list(db.session.scalars(select(CustomerNote)))
    assert {n.author_id for n in notes} == {associate.id}


def test_an_empty_note_is_refused_naming_the_field_and_nothing_is_saved(tablet, zoe):
    response = tablet.post(profile_url(zoe) + "/notes", data={"text": "   ", "pinned": "1"})
    assert response.status_code == 400
    page = text(response)
    assert "Note: A note needs some text." in page and re.search(r'id="note-text"[^>]*aria-invalid="true"', page)
    assert db.session.scalar(select(func.count(CustomerNote.id))) == 0


def test_a_note_can_be_pinned_and_unpinned(tablet, zoe, associate):
    note = clienteling.add_note(zoe, associate.id, "Call when the Slate arrives")
    db.session.commit()
    assert tablet.post(f"{profile_url(zoe)}/notes/{note.id}/pin", data={"pinned": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CustomerNote, note.id).pinned is True


def test_the_profile_edit_saves_sizes_tags_preferences_home_store_and_associate(tablet, zoe, associate):
    response = tablet.post(
        profile_url(zoe) + "/profile",
        data={
            "size_tops": "L",
            "size_bottoms": "M",
            "size_shoes": "",
            "size_dresses": "38",
            "pref_colours": "earth tones",
            "pref_fit": "relaxed",
            "tags": "VIP, Sustainability, ",
            "home_store": "AMS-CENTRUM",
            "preferred_associate": str(associate.id),
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    customer = db.session.get(Customer, zoe.id)
    assert customer.sizes == {"tops": "L", "bottoms": "M", "dresses": "38"}
    assert customer.preferences == {"colours": "earth tones", "fit": "relaxed"}
    assert customer.tags == ["sustainability", "vip"]
    assert customer.home_store.code == "AMS-CENTRUM" and customer.preferred_associate_id == associate.id
    page = squash(text(tablet.get(profile_url(zoe))))
    assert "Amsterdam Centrum" in page and "Preferred associate Ana Sousa" in page and "Fit relaxed" in page


def test_a_bad_profile_edit_names_the_field_and_changes_nothing(tablet, zoe):
    response = tablet.post(profile_url(zoe) + "/profile", data={"size_tops": "XL", "preferred_associate": "9999", "home_store": "BER-MITTE"})
    assert response.status_code == 400 and "Choose an associate from the list." in text(response)
    db.session.expire_all()
    assert db.session.get(Customer, zoe.id).sizes == {"tops": "M", "shoes": "42"}


def test_a_consent_toggle_is_recorded_with_the_store_as_source(tablet, zoe, associate):
    assert tablet.post(profile_url(zoe) + "/consents", data={"purpose": "personalisation", "granted": "0"}).status_code == 302
    assert tablet.post(profile_url(zoe) + "/consents", data={"purpose": "sms_marketing", "granted": "1"}).status_code == 302
    db.session.expire_all()
    state = clienteling.consents(zoe)
    assert state["personalisation"]["granted"] is False and state["personalisation"]["source"] == "store"
    assert state["sms_marketing"]["granted"] is True and state["sms_marketing"]["source"] == "store"
    newest = db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == zoe.id).order_by(ConsentRecord.id.desc())).first()
    assert (newest.actor_kind, newest.actor_id) == ("staff", associate.id)
    page = squash(text(tablet.get(profile_url(zoe))))
    assert "Personalisation (online activity, recommendations) Withdrawn in store" in page
    assert "Earlier (1) Granted on the web shop" in page


def test_a_consent_toggle_with_an_unknown_purpose_names_the_field(tablet, zoe):
    response = tablet.post(profile_url(zoe) + "/consents", data={"purpose": "telepathy", "granted": "1"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(ConsentRecord.id)).where(ConsentRecord.customer_id == zoe.id)) == 2


# --- the timeline ---------------------------------------------------------------------------------


@pytest.fixture
def history(zoe, stores, create_product):
    create_product(handle="trail-jacket", title="Trail Jacket", skus=("TJ-M",), price=18900)
    at = datetime(2026, 11, 20, 13, 5, tzinfo=UTC)
    record_activity(zoe, "product_viewed", channel="web", sku="TJ-M", occurred_at=at)
    record_activity(
        zoe,
        "order_placed",
        channel="web",
        occurred_at=at + timedelta(hours=1),
        data={
            "order_id": "W-1",
            "lines": [{"sku": "TJ-M", "quantity": 1, "unit_price": {"amount": 18900, "currency": "EUR"}}],
            "total": {"amount": 18900, "currency": "EUR"},
        },
    )
    record_activity(zoe, "message_received", channel="email", occurred_at=at + timedelta(hours=2), data={"subject": "Exchange in store?"})
    record_activity(
        zoe,
        "appointment_booked",
        channel="store",
        store_id=stores["BER-MITTE"].id,
        occurred_at=at + timedelta(hours=3),
        data={"appointment_id": "apt_1", "code": "A1", "service": "styling", "starts_at": "2026-11-25T10:00:00+01:00"},
    )
    db.session.commit()
    return zoe


def test_the_timeline_tells_each_event_in_words_at_the_stores_local_time(tablet, history):
    page = squash(text(tablet.get(profile_url(history))))
    assert "Viewed Trail Jacket online 20 Nov 2026, 14:05" in page  # 13:05 UTC is 14:05 in Berlin
    assert "Ordered online: 1 item, €189.00 Trail Jacket × 1" in page
    assert "Sent us an email: “Exchange in store?”" in page
    assert "Booked a styling appointment at Berlin Mitte" in page
    assert page.index("Booked a styling") < page.index("Sent us an email") < page.index("Ordered online")


def test_the_timeline_filters_by_channel_and_type_via_htmx(tablet, history):
    headers = {"HX-Request": "true", "HX-Target": "timeline"}
    response = tablet.get(profile_url(history) + "?channel=email", headers=headers)
    page = squash(text(response))
    assert "<html" not in text(response) and "Sent us an email" in page and "Viewed Trail Jacket" not in page
    assert response.headers["HX-Replace-Url"] == profile_url(history) + "?channel=email"
    page = squash(text(tablet.get(profile_url(history) + "?type=order_placed", headers=headers)))
    assert "Ordered online" in page and "Sent us an email" not in page
    assert len(clienteling.profile_views(history)) == 0  # filtering is not another opening
    assert tablet.get(profile_url(history) + "?channel=fax").status_code == 400


def test_without_personalisation_consent_online_activity_is_hidden(tablet, history):
    record_consent(history, "personalisation", False, "web")
    db.session.commit()
    page = squash(text(tablet.get(profile_url(history))))
    assert "Online activity hidden: no personalisation consent." in page
    assert "Viewed Trail Jacket" not in page and "Ordered online" not in page
    assert "Sent us an email" in page and "Booked a styling appointment" in page
    web_only = squash(text(tablet.get(profile_url(history) + "?channel=web", headers={"HX-Request": "true", "HX-Target": "timeline"})))
    assert "Viewed Trail Jacket" not in web_only and "Online activity hidden" in web_only
    assert '<option value="web"' not in text(tablet.get(profile_url(history)))


def test_older_entries_page_in_under_the_timeline(tablet, zoe):
    start = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    for n in range(35):
        record_activity(zoe, "product_searched", channel="web", occurred_at=start + timedelta(hours=n), data={"query": f"query {n:02d}"})
    db.session.commit()
    first = text(tablet.get(profile_url(zoe)))
    assert "query 34" in first and "query 05" in first and "query 04" not in first
    older = re.search(r'id="timeline-older">\s*<a class="button wide" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    response = tablet.get(older, headers={"HX-Request": "true", "HX-Target": "timeline-older"})
    page = text(response)
    assert "query 04" in page and "query 00" in page and "query 05" not in page and "timeline-older" not in page and "<html" not in page


def test_event_sentences_read_as_plain_words():
    class Event:
        def __init__(self, type, channel="web", sku=None, data=None, store_id=None):
            self.type, self.channel, self.sku, self.data, self.store_id = type, channel, sku, data or {}, store_id

    titles = {"TJ-M": {"title": "Trail Jacket"}, "SOCK": {"title": "Crew Sock"}}
    two = {"lines": [{"sku": "TJ-M", "quantity": 1}, {"sku": "SOCK", "quantity": 1}], "total": {"amount": 18900, "currency": "EUR"}}
    cases = [
        (Event("product_viewed", sku="TJ-M"), "Viewed Trail Jacket online"),
        (Event("product_viewed", "app", sku="TJ-M"), "Viewed Trail Jacket in the app"),
        (Event("wishlist_added", sku="TJ-M"), "Added Trail Jacket to wishlist"),
        (Event("order_placed", data=two), "Ordered online: 2 items, €189.00"),
        (Event("cart_updated", data=two), "Cart updated online: 2 items, €189.00"),
        (Event("cart_abandoned", data={"cart_id": "c1"}), "Left a cart online without ordering"),
        (Event("order_returned", data={**two, "lines": two["lines"][:1]}), "Returned 1 item from an online order: €189.00 refunded"),
        (Event("appointment_booked", "store", data={"service": "styling"}, store_id=1), "Booked a styling appointment at Berlin Mitte"),
        (Event("appointment_no_show", "store", data={"service": "alteration"}, store_id=1), "Missed an alteration appointment at Berlin Mitte"),
        (Event("purchase_in_store", "store", data=two, store_id=1), "Bought in store at Berlin Mitte: 2 items, €189.00"),
        (Event("message_received", "sms", data={"text": "See you at 3"}), "Sent us an SMS: “See you at 3”"),
        (Event("message_sent", "email", data={"channel": "email", "subject": "Your jacket is here"}), "We sent an email: “Your jacket is here”"),
        (Event("feedback_given", "store", data={"csat": 5, "nps": 9}), "Gave feedback: satisfaction 5/5, would recommend 9/10"),
        (Event("product_searched", data={"query": "merino"}), "Searched online for “merino”"),
    ]
    for event, expected in cases:
        assert views.event_sentence(event, titles, {1: "Berlin Mitte"}) == expected


def test_local_time_is_the_stores_zone():
    at = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert views.local_time(at, views.zone_of(Location(timezone="Europe/Amsterdam"))) == "2 Jul 2026, 00:30"
    assert views.local_time(at, views.zone_of(None)) == "1 Jul 2026, 22:30"


# --- the client book --------------------------------------------------------------------------------


def test_my_client_book_lists_my_clients_and_my_stores_by_name_with_last_activity(tablet, stores, associate):
    mine = create_customer("Björn Öberg", STAFF, home_store="AMS-CENTRUM")
    clienteling.update_profile(mine, preferred_associate_id=associate.id)
    here = create_customer("Anna Weiß", STAFF, home_store="BER-MITTE")
    create_customer("Zora Elsewhere", STAFF, home_store="AMS-CENTRUM")
    record_activity(here, "message_received", channel="email", occurred_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC), data={"subject": "Hello"})
    record_activity(here, "product_searched", channel="web", occurred_at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC), data={"query": "secret"})
    db.session.commit()
    page = squash(text(tablet.get("/tablet/clients")))
    assert "Zora Elsewhere" not in page
    assert page.index("Anna Weiß") < page.index("Björn Öberg")
    assert "Björn Öberg Your client" in page
    # no personalisation consent: the newest entry staff may see is the email, not the web search
    assert "Last activity Sent us an email: “Hello” · 2 Nov 2026, 10:00" in page and "secret" not in page
    assert db.session.scalar(select(func.count(ProfileView.id))) == 0
    only_mine = squash(text(tablet.get("/tablet/clients?mine=1")))
    assert "Björn Öberg" in only_mine and "Anna Weiß" not in only_mine


def test_the_nav_links_to_customers(tablet):
    page = text(tablet.get("/tablet/"))
    assert 'href="/tablet/customers"' in page
    assert 'aria-current="page"' in text(tablet.get("/tablet/customers"))
