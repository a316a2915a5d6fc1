"""The tablet's returns screen: find the order by number, card or loyalty card, choose what comes back, refund it
(a manager's PIN above the threshold), and a resent form makes one return."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff, set_staff_pin
from clienteling import create_customer
from core import Money, db
from core.actor import SYSTEM

PASSWORD = "correct-horse"


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    pos.seed_registers(["S1", "S2"])
    pos.configure_store("S1", refund_approval_amount=10000)
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 10)
    ana = create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    manager = create_staff("max@example.com", "Max", "manager", PASSWORD, ["S1"])
    set_staff_pin(manager, "2468")
    create_staff("olaf@example.com", "Olaf", "associate", PASSWORD, ["S2"])
    lea = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    pos.open_shift("S1", "T1", Money(20000, "EUR"), ana.actor)
    cart = pos.open_cart("S1", "T1", ana.actor, lea.public_id)
    pos.add_line(cart, ana.actor, sku="JKT-M")
    pos.add_line(cart, ana.actor, sku="BEA-OS", quantity=2)
    order = pos.checkout(cart.public_id, [{"kind": "cash", "amount": Money(20000, "EUR")}], ana.actor)
    db.session.commit()
    return {"order": order, "lea": lea}


def signed_in(app, email):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def form_key(page: str) -> str:
    return re.search(r'name="key" value="([^"]+)"', page).group(1)


def test_the_order_is_found_by_number_tail_and_loyalty_card(app, world):
    tablet = signed_in(app, "ana@example.com")
    order = world["order"]
    assert order.number in tablet.get("/tablet/returns").get_data(as_text=True)
    assert order.number in tablet.get("/tablet/returns?q=1").get_data(as_text=True)
    assert order.number in tablet.get(f"/tablet/returns?q={world['lea'].loyalty_code}").get_data(as_text=True)
    assert order.number not in tablet.get("/tablet/returns?q=9999").get_data(as_text=True)


def test_returning_a_beanie_refunds_cash_restocks_and_a_resent_form_makes_one_return(app, world):
    tablet = signed_in(app, "ana@example.com")
    order = world["order"]
    page = tablet.get(f"/tablet/orders/{order.public_id}/return").get_data(as_text=True)
    beanie = next(line for line in order.lines if line.sku == "BEA-OS")
    form = {"key": form_key(page), f"quantity-{beanie.id}": "1", f"restock-{beanie.id}": "on", "reason": "Wrong colour", "register": "T1"}
    answer = tablet.post(f"/tablet/orders/{order.public_id}/return", data=form)
    assert answer.status_code == 302
    done = tablet.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Refunded €25.00" in done and "Hand back €25.00 in cash" in done
    again = tablet.post(f"/tablet/orders/{order.public_id}/return", data=form)
    assert again.status_code == 302 and again.headers["Location"] == answer.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(pos.Return)) == 1
    items, _ = inventory.availability(["BEA-OS"], "S1")
    assert items[0]["on_hand"] == 9  # 10 - 2 sold + 1 back on the shelf


def test_a_refund_above_the_threshold_asks_for_the_managers_pin(app, world):
    tablet = signed_in(app, "ana@example.com")
    order = world["order"]
    page = tablet.get(f"/tablet/orders/{order.public_id}/return").get_data(as_text=True)
    jacket = next(line for line in order.lines if line.sku == "JKT-M")
    form = {"key": form_key(page), f"quantity-{jacket.id}": "1", f"restock-{jacket.id}": "on", "register": "T1"}
    asked = tablet.post(f"/tablet/orders/{order.public_id}/return", data=form)
    assert asked.status_code == 403 and "A refund above €100.00 needs a manager" in asked.get_data(as_text=True)
    wrong = tablet.post(f"/tablet/orders/{order.public_id}/return", data={**form, "pin": "0000"})
    assert wrong.status_code == 403 and "Try again" in wrong.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(pos.Return)) == 0
    approved = tablet.post(f"/tablet/orders/{order.public_id}/return", data={**form, "pin": "2468"})
    assert approved.status_code == 302
    assert "Refunded €129.00" in tablet.get(approved.headers["Location"]).get_data(as_text=True)


def test_nothing_chosen_says_so_and_another_stores_order_is_not_found(app, world):
    tablet = signed_in(app, "ana@example.com")
    order = world["order"]
    page = tablet.get(f"/tablet/orders/{order.public_id}/return").get_data(as_text=True)
    answer = tablet.post(f"/tablet/orders/{order.public_id}/return", data={"key": form_key(page), "register": "T1"})
    assert answer.status_code == 400 and "Choose at least one item" in answer.get_data(as_text=True)
    olaf = signed_in(app, "olaf@example.com")
    assert olaf.get(f"/tablet/orders/{order.public_id}/return").status_code == 404
