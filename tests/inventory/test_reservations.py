from datetime import timedelta

import pytest

import inventory
from core import clock, db
from core.errors import InsufficientStock, InvalidTransition, ValidationError


@pytest.fixture
def shop(create_location, create_product, set_stock):
    create_location("S1")
    create_location("S2")
    create_product(skus=("JKT-S", "JKT-M"))
    set_stock("S1", "JKT-S", 3)
    set_stock("S1", "JKT-M", 1)


def level(sku, store):
    items, _ = inventory.availability([sku], store)
    return items[0]


def test_reserve_holds_units_and_availability_drops(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "online_order", "WEB-1")
    db.session.commit()
    assert reservation.status == "held"
    assert level("JKT-S", "S1") == {"sku": "JKT-S", "store": "S1", "on_hand": 3, "reserved": 2, "available": 1}


def test_reserve_short_line_reserves_nothing_and_lists_every_short_line(shop):
    with pytest.raises(InsufficientStock) as caught:
        inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 1}, {"sku": "JKT-M", "quantity": 2}], "online_order")
    db.session.rollback()
    assert caught.value.lines == [{"sku": "JKT-M", "requested": 2, "available": 1}]
    assert level("JKT-S", "S1")["reserved"] == 0


def test_reserve_unknown_sku_names_the_line(shop):
    with pytest.raises(ValidationError) as caught:
        inventory.reserve("S1", [{"sku": "NOPE", "quantity": 1}], "online_order")
    assert "lines.0.sku" in caught.value.details


def test_reserve_a_sku_never_stocked_at_the_store_is_insufficient_with_nothing_available(shop):
    with pytest.raises(InsufficientStock) as caught:
        inventory.reserve("S2", [{"sku": "JKT-S", "quantity": 1}], "online_order")
    db.session.rollback()
    assert caught.value.lines == [{"sku": "JKT-S", "requested": 1, "available": 0}]
    assert inventory.availability(["JKT-S"], "S2")[0] == [{"sku": "JKT-S", "store": "S2", "on_hand": 0, "reserved": 0, "available": 0}]


def test_commit_takes_units_off_hand_with_a_sale_in_the_ledger(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "pickup")
    inventory.commit_reservation(reservation.public_id)
    db.session.commit()
    assert level("JKT-S", "S1") == {"sku": "JKT-S", "store": "S1", "on_hand": 1, "reserved": 0, "available": 1}
    kinds = [m.kind for m in inventory.movements("S1", "JKT-S")]
    assert kinds == ["sale", "count"]
    assert inventory.ledger_mismatches() == []


def test_release_then_commit_is_refused(shop):
    reservation = inventory.reserve("S1", [{"sku": "JKT-S", "quantity": 2}], "pickup")
    inventory.release_reservation(reservation.public_id)
    db.session.commit()
    assert level("JKT-S", "S1")["available"] == 3
    with pytest.raises(InvalidTransition):
        inventory.commit_reservation(reservation.public_id)


def test_expired_hold_is_released_and_its_units_sell_again(shop, monkeypatch):
    reservation = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order", expires_in=60)
    db.session.commit()
    later = clock.now() + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(InvalidTransition):
        inventory.commit_reservation(reservation.public_id)
    db.session.rollback()
    # a new hold on the last unit finds the overdue one and expires it first
    second = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order")
    db.session.commit()
    assert inventory.get_reservation(reservation.public_id).status == "expired"
    assert second.status == "held"
