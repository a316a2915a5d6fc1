"""The tablet's card and pay-by-QR screens with the development gateway: the card on the simulated reader
(approved; declined, then cash for the rest), the QR code paid on the customer's page, giving a sale up."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff
from core import db
from tests.web.test_tablet_sell import BEANIE, JACKET, PASSWORD, at_register, current_cart, open_shift, pay_page_attempt, scan, squash, text


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    pos.seed_registers(["S1"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900, barcodes=[JACKET])
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500, barcodes=[BEANIE])
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 10)
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()


@pytest.fixture
def gateway():
    fresh = pos.DevelopmentGateway("/pay")
    previous = pos.use_gateway(fresh)
    yield fresh
    pos.use_gateway(previous)


@pytest.fixture
def ana(client, world, gateway):
    assert client.post("/login", data={"email": "ana@example.com", "password": PASSWORD}).status_code == 302
    at_register(client)
    open_shift(client)
    return client


def two_items(client):
    assert scan(client, JACKET).status_code in (200, 302)
    assert scan(client, BEANIE).status_code in (200, 302)
    return current_cart(client)


def pay_with(client, cart, kind):
    attempt = pay_page_attempt(client, cart)
    answer = client.post(f"/tablet/carts/{cart.public_id}/checkout", data={"kind": kind, "attempt": attempt})
    assert answer.status_code == 302, text(answer)
    return answer.headers["Location"]


def on_hand(sku):
    items, _ = inventory.availability([sku], "S1")
    return items[0]["on_hand"]


def test_a_card_approved_on_the_simulated_reader_ends_on_the_receipt(ana):
    cart = two_items(ana)
    waiting = pay_with(ana, cart, "card")
    assert "/tablet/payments/pay_" in waiting
    page = squash(text(ana.get(waiting)))
    assert "€154.00" in page and "reader T1" in page and "Card approved" in page
    assert on_hand("JKT-M") == 3  # nothing sold while the card is on the reader
    payment_id = waiting.rsplit("/", 1)[-1]
    done = ana.post(f"/tablet/payments/{payment_id}/simulate", data={"outcome": "approve"})
    assert done.status_code == 302 and "/tablet/sales/ord_" in done.headers["Location"]
    assert "Paid €154.00" in squash(text(ana.get(done.headers["Location"])))
    assert on_hand("JKT-M") == 2 and on_hand("BEA-OS") == 9
    assert ana.get(f"/tablet/payments/{payment_id}/status").json == {"id": payment_id, "status": "succeeded", "order_status": "completed"}


def test_a_declined_card_keeps_the_sale_and_cash_pays_what_is_left(ana):
    cart = two_items(ana)
    payment_id = pay_with(ana, cart, "card").rsplit("/", 1)[-1]
    back = ana.post(f"/tablet/payments/{payment_id}/simulate", data={"outcome": "decline"})
    assert back.headers["Location"].endswith(f"/tablet/carts/{cart.public_id}/pay")
    page = squash(text(ana.get(back.headers["Location"])))
    assert "Left to pay" in page and "Declined:" in page and "€154.00" in page
    attempt = pay_page_attempt(ana, cart)
    sold = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"kind": "cash", "tendered": "20000", "attempt": attempt})
    assert sold.status_code == 302 and "/tablet/sales/ord_" in sold.headers["Location"]
    assert "€46.00" in squash(text(ana.get(sold.headers["Location"])))  # the change from €200
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 1


def test_pay_by_qr_shows_the_code_and_the_customers_page_completes_the_sale(ana, app):
    cart = two_items(ana)
    waiting = pay_with(ana, cart, "qr")
    page = text(ana.get(waiting))
    payment_id = waiting.rsplit("/", 1)[-1]
    assert f"/pay/qr/{payment_id}.svg" in page
    svg = ana.get(f"/pay/qr/{payment_id}.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    url = re.search(r'data-testid="payment-url">([^<]+)<', page).group(1)
    phone = app.test_client()  # the customer's phone: no login
    path = "/" + url.split("/", 3)[3]
    assert "€154.00" in squash(text(phone.get(path)))
    assert phone.post(path, data={"outcome": "approve"}).status_code == 303
    assert ana.get(f"/tablet/payments/{payment_id}/status").json["order_status"] == "completed"
    assert "/tablet/sales/ord_" in ana.get(waiting).headers["Location"]


def test_giving_the_sale_up_releases_the_units(ana):
    cart = two_items(ana)
    waiting = pay_with(ana, cart, "card")
    page = text(ana.get(waiting))
    order_id = re.search(r"/tablet/sales/(ord_[0-9a-f]+)/cancel", page).group(1)
    assert ana.post(f"/tablet/sales/{order_id}/cancel").status_code == 302
    assert pos.get_order(order_id).status == "cancelled"
    items, _ = inventory.availability(["JKT-M"], "S1")
    assert items[0]["reserved"] == 0 and items[0]["available"] == 3


def test_the_shift_report_shows_the_card_sale_by_tender_beside_the_drawer(ana):
    cart = two_items(ana)
    payment_id = pay_with(ana, cart, "card").rsplit("/", 1)[-1]
    ana.post(f"/tablet/payments/{payment_id}/simulate", data={"outcome": "approve"})
    shift = pos.find_open_shift("S1", "T1")
    page = squash(text(ana.get(f"/tablet/shifts/{shift.public_id}")))
    assert "By tender" in page
    assert "Card 1 sale · 0 refunds €154.00 €0.00 €154.00" in page
    assert "Expected €100.00" in page  # the card money is not in the drawer


def test_part_in_cash_and_the_rest_by_card(ana):
    cart = two_items(ana)
    attempt = pay_page_attempt(ana, cart)
    waiting = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"kind": "split", "cash_text": "50.00", "attempt": attempt})
    assert waiting.status_code == 302 and "/tablet/payments/" in waiting.headers["Location"]
    assert "€104.00" in squash(text(ana.get(waiting.headers["Location"])))  # the card pays what the cash did not
    payment_id = waiting.headers["Location"].rsplit("/", 1)[-1]
    done = ana.post(f"/tablet/payments/{payment_id}/simulate", data={"outcome": "approve"})
    page = squash(text(ana.get(done.headers["Location"])))
    assert "Paid €154.00" in page and "Cash · €50.00" in page and "Card" in page
    assert pos.expected_cash(pos.find_open_shift("S1", "T1")).amount == 10000 + 5000


def test_a_cash_part_as_large_as_the_total_is_refused_in_words(ana):
    cart = two_items(ana)
    attempt = pay_page_attempt(ana, cart)
    answer = ana.post(f"/tablet/carts/{cart.public_id}/checkout", data={"kind": "split", "cash_text": "154.00", "attempt": attempt})
    assert answer.status_code == 400 and "less than €154.00" in squash(text(answer))
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0


def test_the_qr_codes_point_phones_at_the_public_base_url(ana, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://192.168.1.20:8000/")
    cart = two_items(ana)
    page = text(ana.get(pay_with(ana, cart, "qr")))
    assert re.search(r'data-testid="payment-url">http://192\.168\.1\.20:8000/pay/[A-Za-z0-9_-]+<', page)
    order = pos.list_orders(None)[0]
    from web.api.carts import order_answer

    with app.test_request_context("/"):
        assert order_answer(order)["receipt_url"] == f"http://192.168.1.20:8000/r/{order.receipt_token}"
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    with app.test_request_context("/", base_url="http://tablet.local"):
        assert order_answer(order)["receipt_url"] == f"http://tablet.local/r/{order.receipt_token}"
