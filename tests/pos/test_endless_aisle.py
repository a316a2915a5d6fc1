"""Endless aisle: a line the store lacks, sold beside take-now items and fulfilled from another location — checked
when added, reserved at its source at checkout (or the whole checkout fails), shown on the order and the receipt."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff
from core import Money, db
from core.errors import InsufficientStock, ValidationError

ADDRESS = {"name": "Lea Schäfer", "line1": "Torstraße 1", "postal_code": "10115", "city": "Berlin", "country": "de"}


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    create_location("S3", "Amsterdam")
    create_location("WH", "Warehouse", kind="warehouse")
    pos.seed_registers(["S1", "S2", "S3"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M", "JKT-L"), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "BEA-OS", 5)
    set_stock("S1", "JKT-M", 1)
    set_stock("S2", "JKT-L", 2)
    set_stock("S3", "JKT-L", 4)
    set_stock("WH", "JKT-L", 1)
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    db.session.commit()
    return {"actor": ana.actor}


@pytest.fixture
def actor(world):
    return world["actor"]


@pytest.fixture
def cart(actor):
    opened = pos.open_cart("S1", "T1", actor)
    db.session.commit()
    return opened


@pytest.fixture
def shift(actor):
    opened = pos.open_shift("S1", "T1", eur(10000), actor)
    db.session.commit()
    return opened


def level(store, sku):
    return db.session.scalar(
        select(inventory.StockLevel)
        .join(inventory.Variant)
        .join(inventory.Location, inventory.Location.id == inventory.StockLevel.location_id)
        .where(inventory.Variant.sku == sku, inventory.Location.code == store)
    )


def test_where_else_offers_the_warehouse_first_then_stores_with_the_most(world):
    assert [(row["location"], row["kind"], row["available"]) for row in pos.where_else("S1", "JKT-L")] == [
        ("WH", "warehouse", 1),
        ("S3", "store", 4),
        ("S2", "store", 2),
    ]
    assert pos.where_else("S2", "JKT-L")[1:] == [{"location": "S3", "name": "Amsterdam", "kind": "store", "available": 4}]  # not itself


def test_where_else_leaves_out_locations_whose_units_are_all_held(world):
    inventory.reserve("S3", [{"sku": "JKT-L", "quantity": 4}], "online_order", "WEB-1")
    db.session.commit()
    assert [row["location"] for row in pos.where_else("S1", "JKT-L")] == ["WH", "S2"]


def test_where_else_names_an_unknown_sku_or_store(world):
    with pytest.raises(ValidationError) as sku:
        pos.where_else("S1", "NOPE")
    assert "sku" in sku.value.details
    with pytest.raises(ValidationError) as store:
        pos.where_else("WH", "JKT-L")  # the warehouse does not sell
    assert "store" in store.value.details


def test_a_line_from_the_warehouse_sits_beside_the_take_now_line_of_the_same_sku(cart, actor):
    pos.add_line(cart, actor, sku="JKT-M")
    set_stock_wh = inventory.record_movement("WH", "JKT-M", "receive", 3, reason="test")
    assert set_stock_wh
    cart, line = pos.add_line_from_elsewhere(cart, actor, "JKT-M", 2, "WH", "ship", ship_to=ADDRESS)
    db.session.commit()
    assert [(ln.sku, ln.fulfilment, ln.quantity) for ln in cart.lines] == [("JKT-M", "take_now", 1), ("JKT-M", "ship", 2)]
    assert line.ship_to["country"] == "DE" and line.reservation_id is None  # nothing held until checkout
    assert level("WH", "JKT-M").reserved == 0
    # scanning the SKU again adds to the take-now line, not to the shipped one
    pos.add_line(cart, actor, sku="JKT-M")
    assert [(ln.fulfilment, ln.quantity) for ln in cart.lines] == [("take_now", 2), ("ship", 2)]
    # the same SKU from the same place to the same address adds to its line
    pos.add_line_from_elsewhere(cart, actor, "JKT-M", 1, "WH", "ship", ship_to=ADDRESS)
    assert [(ln.fulfilment, ln.quantity) for ln in cart.lines] == [("take_now", 2), ("ship", 3)]


def test_a_source_without_the_units_available_now_is_insufficient_stock_and_adds_nothing(cart, actor):
    with pytest.raises(InsufficientStock) as short:
        pos.add_line_from_elsewhere(cart, actor, "JKT-L", 2, "WH", "ship", ship_to=ADDRESS)
    assert short.value.lines == [{"sku": "JKT-L", "store": "WH", "requested": 2, "available": 1}]
    db.session.rollback()
    assert pos.get_cart(cart.public_id).lines == []


def test_the_units_already_wanted_from_a_source_count_against_it(cart, actor):
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 2, "S2", "collect", collect_at="S1")
    with pytest.raises(InsufficientStock) as short:
        pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "S2", "ship", ship_to=ADDRESS)
    assert short.value.lines[0]["requested"] == 3 and short.value.lines[0]["available"] == 2


@pytest.mark.parametrize(
    ("ship_to", "field"),
    [
        ({**ADDRESS, "postal_code": " "}, "fulfilment.ship_to.postal_code"),
        ({key: value for key, value in ADDRESS.items() if key != "name"}, "fulfilment.ship_to.name"),
        ({**ADDRESS, "country": "Germany"}, "fulfilment.ship_to.country"),
        ({**ADDRESS, "country": "XX"}, "fulfilment.ship_to.country"),
        ({**ADDRESS, "door": "blue"}, "fulfilment.ship_to.door"),
        ({**ADDRESS, "city": 42}, "fulfilment.ship_to.city"),
        (None, "fulfilment.ship_to"),
    ],
)
def test_a_shipment_needs_a_full_address(cart, actor, ship_to, field):
    with pytest.raises(ValidationError) as bad:
        pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "S3", "ship", ship_to=ship_to)
    assert field in bad.value.details


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"source_store_code": "S3", "fulfilment": "collect"}, "fulfilment.collect_at"),
        ({"source_store_code": "S3", "fulfilment": "collect", "collect_at": "WH"}, "fulfilment.collect_at"),  # a warehouse is no counter
        ({"source_store_code": "S3", "fulfilment": "collect", "collect_at": "NOPE"}, "fulfilment.collect_at"),
        ({"source_store_code": "S3", "fulfilment": "collect", "collect_at": "S2", "ship_to": ADDRESS}, "fulfilment.ship_to"),
        ({"source_store_code": "S3", "fulfilment": "ship", "ship_to": ADDRESS, "collect_at": "S2"}, "fulfilment.collect_at"),
        ({"source_store_code": "NOPE", "fulfilment": "ship", "ship_to": ADDRESS}, "fulfilment.from"),
        ({"source_store_code": "S1", "fulfilment": "ship", "ship_to": ADDRESS}, "fulfilment.from"),  # this very store
        ({"source_store_code": "S3", "fulfilment": "take_now"}, "fulfilment.kind"),
    ],
)
def test_bad_fulfilment_names_the_field(cart, actor, kwargs, field):
    with pytest.raises(ValidationError) as bad:
        pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, **kwargs)
    assert field in bad.value.details


def test_an_inactive_store_is_no_place_to_collect(cart, actor):
    munich = db.session.scalar(select(inventory.Location).where(inventory.Location.code == "S2"))
    munich.active = False
    db.session.commit()
    with pytest.raises(ValidationError) as bad:
        pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "S3", "collect", collect_at="S2")
    assert "fulfilment.collect_at" in bad.value.details


def test_checkout_sells_take_now_here_and_reserves_the_others_at_their_sources(cart, actor, shift):
    pos.add_line(cart, actor, sku="BEA-OS")
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "WH", "ship", ship_to=ADDRESS)
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 2, "S3", "collect", collect_at="S2")
    db.session.commit()
    order = pos.checkout(cart.public_id, [{"kind": "cash", "amount": eur(50000)}], actor)
    db.session.commit()
    assert order.status == "completed" and order.total == 2500 + 3 * 12900
    assert (level("S1", "BEA-OS").on_hand, level("S1", "BEA-OS").reserved) == (4, 0)
    assert (level("WH", "JKT-L").on_hand, level("WH", "JKT-L").reserved) == (1, 1)  # held there, not sold yet
    assert (level("S3", "JKT-L").on_hand, level("S3", "JKT-L").reserved) == (4, 2)
    holds = {r.location.code: r for r in db.session.scalars(select(inventory.Reservation).where(inventory.Reservation.reference == order.number))}
    assert holds["WH"].kind == "online_order" and holds["S3"].kind == "pickup"
    assert all(r.status == "held" for r in holds.values())
    lines = pos.order_payload(order)["lines"]
    assert lines[0]["fulfilment_details"] is None and lines[0]["fulfilment"] == "take_now"
    assert lines[1]["fulfilment_details"] == {
        "kind": "ship",
        "from": "WH",
        "ship_to": {"name": "Lea Schäfer", "line1": "Torstraße 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
        "collect_at": None,
        "reservation_id": holds["WH"].public_id,
        "text": "ships from WH to Lea Schäfer, Torstraße 1, 10115 Berlin, DE",
    }
    assert lines[2]["fulfilment_details"]["text"] == "collect at S2 (from S3)"
    assert lines[2]["fulfilment_details"]["reservation_id"] == holds["S3"].public_id


def test_a_source_that_cannot_hold_at_checkout_aborts_the_whole_checkout(cart, actor, shift):
    pos.add_line(cart, actor, sku="BEA-OS", quantity=2)
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 2, "S3", "ship", ship_to=ADDRESS)
    db.session.commit()
    inventory.reserve("S3", [{"sku": "JKT-L", "quantity": 3}], "online_order", "WEB-9")  # the e-commerce site was faster
    db.session.commit()
    with pytest.raises(InsufficientStock) as short:
        pos.checkout(cart.public_id, [{"kind": "cash", "amount": eur(50000)}], actor)
    assert short.value.lines == [{"sku": "JKT-L", "requested": 2, "available": 1}]
    db.session.rollback()
    # nothing happened: no order, the take-now units are still only held, the cash is not in the drawer, the cart is open
    assert db.session.scalar(select(func.count()).select_from(pos.Order)) == 0
    assert (level("S1", "BEA-OS").on_hand, level("S1", "BEA-OS").reserved) == (5, 2)
    assert level("S3", "JKT-L").reserved == 3
    assert pos.get_cart(cart.public_id).status == "open"
    assert pos.expected_cash(pos.get_shift(shift.public_id)) == eur(10000)
