"""The tablet's sell and shift screens through the test client: register, scan, loyalty card, quantities,
discounts with a manager's approval, found stock, the cash checkout (once per attempt), the receipt and its
email, and a shift from its float to its variance."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff, set_staff_pin
from clienteling import CustomerEvent, LogProvider, configure_provider, create_customer
from core import Money, db
from core.actor import SYSTEM
from core.audit import AuditEntry

PASSWORD = "correct-horse"
JACKET = "4006381333931"
BEANIE = "4006381333948"


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    pos.seed_registers(["S1", "S2"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900, barcodes=[JACKET])
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500, barcodes=[BEANIE])
    create_product("rare-scarf", "Rare Scarf", skus=("SCF-OS",), price=4000)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 10)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    manager = create_staff("max@example.com", "Max", "manager", PASSWORD, ["S1"])
    set_staff_pin(manager, "2468")
    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    return {"customer": customer}


@pytest.fixture
def ana(client, world):
    response = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD})
    assert response.status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def at_register(client, code="T1"):
    assert client.post("/tablet/sell/register", data={"register": code}).status_code == 302


def open_shift(client, amount="100.00"):
    response = client.post("/tablet/shift/open", data={"opening_float": amount})
    assert response.status_code == 302, text(response)


def scan(client, code):
    return client.post("/tablet/sell/scan", data={"code": code})


def current_cart(client):
    response = client.get("/tablet/sell")
    assert response.status_code == 302, "no open cart"
    cart_id = response.headers["Location"].rsplit("/", 1)[-1]
    return pos.get_cart(cart_id)


def line_id(cart, sku):
    return next(line.id for line in cart.lines if line.sku == sku)


def pay_page_attempt(client, cart):
    page = text(client.get(f"/tablet/carts/{cart.public_id}/pay"))
    return re.search(r'name="attempt" value="([^"]+)"', page).group(1)


def test_the_sell_screen_asks_for_the_register_once_and_remembers_it(ana):
    page = ana.get("/tablet/sell")
    assert page.status_code == 200 and "Which register is this tablet?" in text(page)
    at_register(ana, "T2")
    page = text(ana.get("/tablet/sell"))
    assert "Scan the first item" in page and 'data-testid="register">T2<' in page
    assert "has no open shift" in page and "/tablet/shift" in page


def test_an_unknown_register_is_refused_naming_it(ana):
    response = ana.post("/tablet/sell/register", data={"register": "T9"})
    assert response.status_code == 400


def test_scanning_two_barcodes_and_a_loyalty_card_builds_the_cart_with_the_customer_and_recommendations(ana, world):
    at_register(ana)
    assert scan(ana, JACKET).status_code == 302
    assert scan(ana, BEANIE).status_code == 302
    assert scan(ana, BEANIE).status_code == 302  # the same SKU again adds to its line
    assert scan(ana, world["customer"].loyalty_code).status_code == 302
    cart = current_cart(ana)
    assert {line.sku: line.quantity for line in cart.lines} == {"JKT-M": 1, "BEA-OS": 2}
    assert cart.customer_id == world["customer"].id
    page = squash(text(ana.get(f"/tablet/carts/{cart.public_id}")))
    assert "Lea Schäfer" in page and "Show them today" in page
    assert "Total €179.00" in page and "incl. VAT €28.58" in page  # tax stated once
    assert page.count("VAT") == 1


def test_a_typed_name_shows_products_and_customers_to_add(ana, world):
    at_register(ana)
    response = scan(ana, "beanie")
    assert response.status_code == 302 and "q=beanie" in response.headers["Location"]
    page = text(ana.get(response.headers["Location"]))
    assert "Wool Beanie" in page and "BEA-OS" in page
    assert ana.post("/tablet/sell/add", data={"sku": "BEA-OS"}).status_code == 302
    cart = current_cart(ana)
    assert [line.sku for line in cart.lines] == ["BEA-OS"]
    page = text(ana.get(f"/tablet/carts/{cart.public_id}?q=Lea"))
    assert "Attach Lea Schäfer" in page


def test_an_unknown_loyalty_code_says_so_and_changes_nothing(ana):
    at_register(ana)
    response = scan(ana, "SH9999999999")
    assert response.status_code == 400 and "No customer has the loyalty code SH9999999999." in text(response)
    assert ana.get("/tablet/sell").status_code == 200  # no cart was opened


def test_plus_and_minus_change_the_quantity_and_minus_at_one_removes_the_line(ana):
    at_register(ana)
    scan(ana, BEANIE)
    cart = current_cart(ana)
    line = line_id(cart, "BEA-OS")
    assert ana.post(f"/tablet/carts/{cart.public_id}/lines/{line}/quantity", data={"quantity": "3"}).status_code == 302
    assert pos.get_cart(cart.public_id).lines[0].quantity == 3
    assert ana.post(f"/tablet/carts/{cart.public_id}/lines/{line}/quantity", data={"quantity": "0"}).status_code == 302
    assert pos.get_cart(cart.public_id).lines == []


def test_a_discount_above_the_threshold_opens_the_approval_dialog_and_a_manager_pin_approves_it(ana):
    at_register(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    url = f"/tablet/carts/{cart.public_id}/lines/{line_id(cart, 'JKT-M')}/discount"
    asked = ana.post(url, data={"kind": "percent", "value": "30"})
    assert asked.status_code == 403
    page = text(asked)
    assert 'data-testid="approval-dialog"' in page and "30 % off Trail Jacket" in page
    assert pos.get_cart(cart.public_id).lines[0].discount is None  # nothing changed yet

    wrong = ana.post(url, data={"kind": "percent", "value": "30", "approval_pin": "0000"})
    assert wrong.status_code == 403 and "not a manager of this store" in text(wrong)
    assert pos.get_cart(cart.public_id).lines[0].discount is None

    approved = ana.post(url, data={"kind": "percent", "value": "30", "approval_pin": "2468"})
    assert approved.status_code == 302
    assert pos.get_cart(cart.public_id).lines[0].discount == {"percent": 30}
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "discount_approved")) == 1


def test_a_basket_discount_below_the_threshold_needs_no_manager_and_a_manager_can_sign_in_instead(ana):
    at_register(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    assert ana.post(f"/tablet/carts/{cart.public_id}/discount", data={"kind": "percent", "value": "10"}).status_code == 302
    assert pos.get_cart(cart.public_id).basket_discount == {"percent": 10}
    asked = ana.post(f"/tablet/carts/{cart.public_id}/discount", data={"kind": "amount", "value": "50.00"})
    assert asked.status_code == 403
    signed = ana.post(
        f"/tablet/carts/{cart.public_id}/discount",
        data={"kind": "amount", "value": "50.00", "approval_email": "max@example.com", "approval_password": PASSWORD},
    )
    assert signed.status_code == 302
    assert pos.get_cart(cart.public_id).basket_discount == {"amount": 5000}


def test_a_bad_discount_is_a_400_naming_what_and_changes_nothing(ana):
    at_register(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    response = ana.post(f"/tablet/carts/{cart.public_id}/lines/{line_id(cart, 'JKT-M')}/discount", data={"kind": "percent", "value": "lots"})
    assert response.status_code == 400 and "percentage is a whole number" in text(response)
    assert pos.get_cart(cart.public_id).lines[0].discount is None


def test_an_unheld_line_says_why_and_a_manager_records_the_stock_found(ana):
    at_register(ana)
    cart_response = ana.post("/tablet/sell/add", data={"sku": "SCF-OS"})
    assert cart_response.status_code == 302
    cart = current_cart(ana)
    page = squash(text(ana.get(f"/tablet/carts/{cart.public_id}")))
    assert "Not held here: None on record here" in page
    url = f"/tablet/carts/{cart.public_id}/lines/{line_id(cart, 'SCF-OS')}/found-stock"
    asked = ana.post(url, data={"quantity": "1"})
    assert asked.status_code == 403 and "Record 1 × Rare Scarf — OS found at the shelf" in text(asked)
    assert ana.post(url, data={"quantity": "1", "approval_pin": "2468"}).status_code == 302
    items, _ = inventory.availability(["SCF-OS"], "S1")
    assert items[0]["on_hand"] == 1 and items[0]["reserved"] == 1
    assert "Not held here" not in text(ana.get(f"/tablet/carts/{cart.public_id}"))


def test_the_tender_screen_offers_exact_and_the_next_notes():
    from web.tablet.sell import quick_amounts

    assert quick_amounts(15400) == [15400, 15500, 16000, 20000]
    assert quick_amounts(2000) == [2000, 5000, 10000, 20000]
    assert quick_amounts(1999) == [1999, 2000, 5000, 10000]


def test_cash_checkout_sells_once_per_attempt_and_shows_the_change_and_the_receipt_qr(ana, world):
    at_register(ana)
    open_shift(ana)
    scan(ana, JACKET)
    scan(ana, BEANIE)
    scan(ana, world["customer"].loyalty_code)
    cart = current_cart(ana)
    attempt = pay_page_attempt(ana, cart)
    pay = text(ana.get(f"/tablet/carts/{cart.public_id}/pay"))
    assert "€154.00" in pay and 'value="20000"' in pay
    first = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": attempt, "tendered": "20000"})
    assert first.status_code == 302 and "/tablet/sales/" in first.headers["Location"]
    again = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": attempt, "tendered": "15400"})  # a double tap
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 1
    items, _ = inventory.availability(["JKT-M"], "S1")
    assert items[0]["on_hand"] == 2

    receipt = ana.get(first.headers["Location"])
    page = squash(text(receipt))
    assert "Change €46.00" in page and "from €200.00 cash" in page
    order_id = first.headers["Location"].rsplit("/", 1)[-1]
    qr = ana.get(f"/tablet/sales/{order_id}/receipt-qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and b"<svg" in qr.data
    assert 'value="lea@example.com"' in text(receipt)
    # the next scan starts a new cart
    assert "Scan the first item" in text(ana.get("/tablet/sell"))


def test_checkout_errors_are_said_in_words_and_the_cart_stays_open(ana):
    at_register(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    no_shift = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": "a1", "tendered": "12900"})
    assert no_shift.status_code == 409 and "Cash needs an open shift on this register" in text(no_shift)
    open_shift(ana)
    short = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": "a2", "tendered_text": "100.00"})
    assert short.status_code == 422 and "Not enough cash: €29.00 more is needed." in text(short)
    bad = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": "a3", "tendered_text": "lots"})
    assert bad.status_code == 400 and "Write an amount like 12.50" in text(bad)
    assert pos.get_cart(cart.public_id).status == "open"
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0


def test_checkout_of_a_line_the_store_no_longer_has_names_the_line_and_what_is_available(ana):
    at_register(ana)
    open_shift(ana)
    ana.post("/tablet/sell/add", data={"sku": "SCF-OS"})
    cart = current_cart(ana)
    response = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": "b1", "tendered": "4000"})
    assert response.status_code == 409
    page = squash(text(response))
    assert "Not enough in stock for this line" in page and "Rare Scarf — OS (SCF-OS): 1 in the cart, 0 available" in page
    assert pos.get_cart(cart.public_id).status == "open"


def test_the_receipt_email_goes_after_commit_without_marketing_consent_and_is_recorded(ana, world):
    provider = configure_provider("log")
    assert isinstance(provider, LogProvider)
    provider.clear()
    at_register(ana)
    open_shift(ana)
    scan(ana, BEANIE)
    scan(ana, world["customer"].loyalty_code)
    cart = current_cart(ana)
    sold = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": pay_page_attempt(ana, cart), "tendered": "2500"})
    order_id = sold.headers["Location"].rsplit("/", 1)[-1]
    bad = ana.post(f"/tablet/sales/{order_id}/email", data={"email": "not-an-address"}, follow_redirects=True)
    assert "Not an email address" in text(bad)
    assert list(provider.sent) == []
    sent = ana.post(f"/tablet/sales/{order_id}/email", data={"email": "Lea@Example.com"}, follow_redirects=True)
    assert "The receipt is on its way to lea@example.com" in text(sent)
    (mail,) = provider.sent
    assert mail["to"] == "lea@example.com" and order_id not in mail["body"]
    order = pos.get_order(order_id)
    assert mail["subject"] == f"Your receipt {order.number} from Berlin Mitte" and f"/r/{order.receipt_token}" in mail["body"]
    assert order.receipt_email == "lea@example.com"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "receipt.emailed")) == 1
    (entry,) = db.session.scalars(select(CustomerEvent).where(CustomerEvent.type == "message_sent"))
    assert entry.customer_id == world["customer"].id and entry.data["kind"] == "receipt" and entry.data["transactional"] is True


def test_the_public_receipt_states_the_store_vat_per_rate_tenders_and_change_and_prints_on_80_mm(ana, client):
    at_register(ana)
    open_shift(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    sold = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"attempt": pay_page_attempt(ana, cart), "tendered": "15000"})
    order = pos.get_order(sold.headers["Location"].rsplit("/", 1)[-1])
    page = squash(text(client.get(f"/r/{order.receipt_token}")))
    assert "Berlin Mitte" in page and order.number in page
    assert re.search(r"19 % €108\.40 €20\.60 €129\.00", page)
    assert "Cash €150.00" in page and "Change €21.00" in page
    css = client.get("/static/shared/receipt.css").get_data(as_text=True)
    assert "@page { size: 80mm auto; margin: 0; }" in css and "@media print" in css


def test_a_shift_opens_takes_cash_in_and_out_and_closes_with_the_variance(ana):
    at_register(ana)
    page = text(ana.get("/tablet/shift"))
    assert "Open a shift" in page
    bad = ana.post("/tablet/shift/open", data={"opening_float": "a lot"})
    assert bad.status_code == 400 and "Write an amount like 12.50" in text(bad)
    open_shift(ana, "100.00")
    assert ana.post("/tablet/shift/open", data={"opening_float": "100.00"}).status_code == 409
    shift = pos.find_open_shift("S1", "T1")
    no_reason = ana.post(f"/tablet/shifts/{shift.public_id}/cash", data={"direction": "in", "amount": "20.00", "reason": ""})
    assert no_reason.status_code == 400 and "say why" in text(no_reason).lower()
    assert (
        ana.post(f"/tablet/shifts/{shift.public_id}/cash", data={"direction": "in", "amount": "20.00", "reason": "change from the bank"}).status_code
        == 302
    )
    assert (
        ana.post(f"/tablet/shifts/{shift.public_id}/cash", data={"direction": "out", "amount": "5.00", "reason": "window cleaner"}).status_code == 302
    )
    assert "€115.00" in squash(text(ana.get("/tablet/shift")))
    form = text(ana.get(f"/tablet/shifts/{shift.public_id}/close"))
    assert 'name="count-50.00"' in form and 'name="count-0.01"' in form and "€115.00" in form
    empty = ana.post(f"/tablet/shifts/{shift.public_id}/close", data={})
    assert empty.status_code == 400 and pos.get_shift(shift.public_id).status == "open"
    closed = ana.post(f"/tablet/shifts/{shift.public_id}/close", data={"count-50.00": "2", "count-10.00": "1", "count-2.00": "2"})
    assert closed.status_code == 302
    report = squash(text(ana.get(closed.headers["Location"])))
    assert "Variance -€1.00" in report and "Cash is missing" in report
    assert "Expected €115.00" in report and "Counted €114.00" in report
    assert f"/api/v1/shifts/{shift.public_id}/report.csv" in text(ana.get(closed.headers["Location"]))


def test_another_stores_cart_shift_and_sale_are_not_found(ana, world, client):
    other = pos.open_cart("S2", "T1", SYSTEM)
    shift = pos.open_shift("S2", "T1", Money(1000, "EUR"), SYSTEM)
    db.session.commit()
    assert ana.get(f"/tablet/carts/{other.public_id}").status_code == 404
    assert ana.post(f"/tablet/carts/{other.public_id}/lines/1/remove").status_code == 404
    assert ana.get(f"/tablet/shifts/{shift.public_id}").status_code == 404
    assert ana.post(f"/tablet/shifts/{shift.public_id}/close", data={"count-1.00": "1"}).status_code == 404


def test_the_sell_and_shift_screens_need_a_signed_in_staff_member(client, world):
    for path in ["/tablet/sell", "/tablet/shift"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_promo_code_applies_and_an_unknown_one_is_said_in_words(ana):
    pos.create_promo("SPRING10", "percent", 10, "EUR")
    db.session.commit()
    at_register(ana)
    scan(ana, JACKET)
    cart = current_cart(ana)
    unknown = ana.post(f"/tablet/carts/{cart.public_id}/promo", data={"code": "NOPE"})
    assert unknown.status_code >= 400 and 'data-testid="sell-error"' in text(unknown)
    assert pos.get_cart(cart.public_id).promo_code_id is None
    assert ana.post(f"/tablet/carts/{cart.public_id}/promo", data={"code": "spring10"}).status_code == 302
    page = squash(text(ana.get(f"/tablet/carts/{cart.public_id}")))
    assert "Total €116.10" in page and "Discounts −€12.90" in page


def test_a_receipt_states_tax_once_per_rate():
    from web.receipts import tax_by_rate

    def money(amount):
        return {"amount": amount, "currency": "EUR"}

    payload = {
        "currency": "EUR",
        "tax_mode": "inclusive",
        "lines": [
            {"tax_rate": "1900", "tax": money(2060), "total": money(12900)},
            {"tax_rate": "700", "tax": money(131), "total": money(2000)},
            {"tax_rate": "1900", "tax": money(479), "total": money(2999)},
        ],
    }
    assert tax_by_rate(payload) == [
        {"rate": "19 %", "tax": money(2539), "net": money(13360), "gross": money(15899)},
        {"rate": "7 %", "tax": money(131), "net": money(1869), "gross": money(2000)},
    ]
    # sales tax: a line's total includes the tax added to it; rates finer than a basis point stay exact
    exclusive = {
        **payload,
        "tax_mode": "exclusive",
        "lines": [{"tax_rate": "887.5", "tax": money(888), "total": money(10888)}, {"tax_rate": "0", "tax": money(0), "total": money(500)}],
    }
    assert tax_by_rate(exclusive) == [
        {"rate": "8.875 %", "tax": money(888), "net": money(10000), "gross": money(10888)},
        {"rate": "0 %", "tax": money(0), "net": money(500), "gross": money(500)},
    ]
