"""Carts and checkout as services: holds and their expiry, quantities, tenders and cash rounding, promo codes,
approvals, and a checkout that fails leaves everything as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff, set_staff_pin
from core import Money, clock, db
from core.errors import InsufficientStock, InvalidTransition, ValidationError


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1")
    create_location("ZRH")
    pos.seed_registers(["S1", "ZRH"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M",), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    create_product("zurich-scarf", "Zürich Scarf", skus=("SCF-CHF",), price=3333, currency="CHF")
    set_stock("S1", "JKT-M", 2)
    set_stock("S1", "BEA-OS", 5)
    set_stock("ZRH", "SCF-CHF", 5)
    pos.configure_store("ZRH", currency="CHF", tax_mode="inclusive", tax_rates={"standard": 810})
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1", "ZRH"])
    max_ = create_staff("max@example.com", "Max", "manager", "correct-horse", ["S1"])
    set_staff_pin(max_, "2468")
    db.session.commit()
    return {"actor": ana.actor}


@pytest.fixture
def actor(world):
    return world["actor"]


@pytest.fixture
def shift(actor):
    opened = pos.open_shift("S1", "T1", eur(10000), actor)
    db.session.commit()
    return opened


def level(sku, store="S1"):
    return db.session.scalar(
        select(inventory.StockLevel)
        .join(inventory.Variant)
        .join(inventory.Location, inventory.Location.id == inventory.StockLevel.location_id)
        .where(inventory.Variant.sku == sku, inventory.Location.code == store)
        .execution_options(populate_existing=True)
    )


def cash(amount, currency="EUR"):
    return [{"kind": "cash", "amount": Money(amount, currency)}]


def test_changing_a_quantity_holds_the_new_quantity_or_says_it_cannot(actor):
    cart = pos.open_cart("S1", "T1", actor)
    cart, line = pos.add_line(cart, actor, sku="JKT-M")
    assert level("JKT-M").reserved == 1
    pos.change_line(cart, line.id, actor, quantity=2)
    assert level("JKT-M").reserved == 2
    pos.change_line(cart, line.id, actor, quantity=3)  # only 2 on hand: the line stays, unheld
    payload = pos.cart_payload(cart)
    assert payload["lines"][0]["quantity"] == 3 and payload["lines"][0]["hold"]["held"] is False
    assert level("JKT-M").reserved == 0


def test_an_expired_hold_still_sells_when_the_units_are_there(actor, shift, monkeypatch):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart, actor, sku="BEA-OS", quantity=2)
    db.session.commit()
    later = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    for reservation in inventory.due_reservations():
        inventory.expire_reservation(reservation)
    db.session.commit()
    assert level("BEA-OS").reserved == 0
    assert pos.cart_payload(cart)["lines"][0]["hold"]["held"] is False
    order = pos.checkout(cart.public_id, cash(5000), actor)
    db.session.commit()
    assert order.status == "completed"
    assert (level("BEA-OS").on_hand, level("BEA-OS").reserved) == (3, 0)


def test_an_overdue_hold_nobody_released_is_still_this_carts(actor, shift, monkeypatch):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart, actor, sku="JKT-M", quantity=2)
    db.session.commit()
    later = clock.now() + timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    order = pos.checkout(cart.public_id, cash(25800), actor)
    db.session.commit()
    assert order.status == "completed"
    assert (level("JKT-M").on_hand, level("JKT-M").reserved) == (0, 0)
    assert db.session.scalar(select(inventory.Reservation.status)) == "committed"


def test_a_short_checkout_changes_nothing(actor, shift):
    other = pos.open_cart("S1", "T1", actor)
    pos.add_line(other, actor, sku="JKT-M", quantity=2)  # both units held elsewhere
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart, actor, sku="BEA-OS")
    pos.add_line(cart, actor, sku="JKT-M")
    db.session.commit()
    with pytest.raises(InsufficientStock) as refused:
        pos.checkout(cart.public_id, cash(20000), actor)
    db.session.rollback()
    assert refused.value.lines == [{"sku": "JKT-M", "requested": 1, "available": 0}]
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0
    assert pos.get_cart(cart.public_id).status == "open"
    assert level("BEA-OS").on_hand == 5 and pos.expected_cash(shift) == eur(10000)


def test_cash_in_francs_is_rounded_to_five_rappen_and_the_change_follows(actor):
    pos.open_shift("ZRH", "T1", Money(0, "CHF"), actor)
    cart = pos.open_cart("ZRH", "T1", actor)
    pos.add_line(cart, actor, sku="SCF-CHF")  # CHF 33.33
    order = pos.checkout(cart.public_id, cash(5000, "CHF"), actor)
    db.session.commit()
    (payment,) = order.payments
    assert order.total == 3333 and order.cash_rounding == 2
    assert (payment.amount, payment.tendered, payment.change) == (3335, 5000, 1665)


def test_plan_tenders_splits_card_and_cash_and_refuses_what_does_not_add_up():
    tenders = [{"kind": "card", "amount": 6000, "index": 0}, {"kind": "cash", "amount": 5000, "index": 1}]
    plan = pos.plan_tenders(10000, tenders, "EUR")
    assert plan["cash"] == {"tendered": 5000, "paid": 4000, "change": 1000}
    with pytest.raises(pos.TenderShort) as short:
        pos.plan_tenders(10000, [{"kind": "card", "amount": 6000, "index": 0}], "EUR")
    assert short.value.missing == 4000
    with pytest.raises(ValidationError) as too_much:
        pos.plan_tenders(10000, [{"kind": "qr", "amount": 12000, "index": 0}], "EUR")
    assert "tenders" in too_much.value.details
    with pytest.raises(ValidationError):  # the card covers it all: no cash left to take
        pos.plan_tenders(10000, [{"kind": "card", "amount": 10000, "index": 0}, {"kind": "cash", "amount": 500, "index": 1}], "EUR")


def test_an_empty_cart_cannot_be_checked_out(actor, shift):
    cart = pos.open_cart("S1", "T1", actor)
    with pytest.raises(ValidationError) as refused:
        pos.checkout(cart.public_id, cash(100), actor)
    assert "lines" in refused.value.details


def test_a_checked_out_cart_takes_no_more_lines_and_no_second_checkout(actor, shift):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart, actor, sku="BEA-OS")
    order = pos.checkout(cart.public_id, cash(2500), actor)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        pos.add_line(cart.public_id, actor, sku="BEA-OS")
    with pytest.raises(InvalidTransition) as again:
        pos.checkout(cart.public_id, cash(2500), actor)
    assert again.value.details["order_id"] == order.public_id


def test_a_promo_code_is_redeemed_at_checkout_and_a_used_up_one_refuses_the_sale(actor, shift):
    pos.create_promo("WINTER10", "percent", 10, "EUR", max_uses=1)
    first = pos.open_cart("S1", "T1", actor)
    pos.add_line(first, actor, sku="BEA-OS")
    pos.apply_promo_code(first, "winter10", actor)
    second = pos.open_cart("S1", "T1", actor)
    pos.add_line(second, actor, sku="BEA-OS")
    pos.apply_promo_code(second, "WINTER10", actor)
    db.session.commit()
    order = pos.checkout(first.public_id, cash(2250), actor)
    db.session.commit()
    assert order.total == 2250 and order.promo_code == "WINTER10"
    with pytest.raises(ValidationError):
        pos.checkout(second.public_id, cash(2250), actor)
    db.session.rollback()
    assert pos.get_cart(second.public_id).status == "open"


def test_an_associate_cannot_approve_their_own_discount(actor):
    cart = pos.open_cart("S1", "T1", actor)
    cart, line = pos.add_line(cart, actor, sku="JKT-M")
    with pytest.raises(pos.ApprovalRefused):
        pos.change_line(cart, line.id, actor, discount={"percent": 50}, approval={"email": "ana@example.com", "password": "correct-horse"})
    pos.change_line(cart, line.id, actor, discount={"percent": 50}, approval={"email": "max@example.com", "password": "correct-horse"})
    assert pos.price(cart).total == 6450


def test_a_price_below_the_list_price_needs_a_manager_and_above_it_does_not(actor):
    cart = pos.open_cart("S1", "T1", actor)
    cart, line = pos.add_line(cart, actor, sku="BEA-OS")
    with pytest.raises(pos.ApprovalRequired):
        pos.change_line(cart, line.id, actor, unit_price=eur(2000))
    pos.change_line(cart, line.id, actor, unit_price=eur(2000), approval={"pin": "2468"})
    pos.change_line(cart, line.id, actor, unit_price=eur(2600))
    assert pos.price(cart).total == 2600


def test_abandoning_a_cart_releases_its_holds(actor):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart, actor, sku="JKT-M", quantity=2)
    assert level("JKT-M").reserved == 2
    pos.abandon_cart(cart, actor)
    assert level("JKT-M").reserved == 0 and pos.get_cart(cart.public_id).status == "abandoned"


def test_a_loyalty_code_attaches_its_customer(actor):
    from clienteling import create_customer
    from core.actor import SYSTEM

    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    cart = pos.open_cart("S1", "T1", actor)
    pos.set_customer(cart, customer.loyalty_code, actor)
    assert pos.cart_payload(cart)["customer_id"] == customer.public_id
    with pytest.raises(ValidationError):
        pos.set_customer(cart, "SH0000000000", actor)


def test_a_cart_left_half_made_is_abandoned_by_the_sweeper_and_its_units_come_back(actor, monkeypatch):
    from web.webhooks import expire_due_reservations

    left = pos.open_cart("S1", "T1", actor)
    pos.add_line(left, actor, sku="BEA-OS", quantity=2)
    db.session.commit()
    later = clock.now() + timedelta(hours=13)
    monkeypatch.setattr(clock, "now", lambda: later)
    recent = pos.open_cart("S1", "T1", actor)  # opened just now: left alone
    db.session.commit()
    expire_due_reservations()
    assert pos.get_cart(left.public_id).status == "abandoned"
    assert pos.get_cart(recent.public_id).status == "open"
    assert level("BEA-OS").reserved == 0
