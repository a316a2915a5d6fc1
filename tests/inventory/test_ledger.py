"""On hand always equals the sum of its movements, whatever happens."""

import random

import pytest

import inventory
from core import db
from core.errors import Conflict, InsufficientStock, InvalidTransition

SKUS = ("A-1", "A-2", "B-1")
STORES = ("S1", "S2", "WH")


@pytest.fixture
def world(create_location, create_product):
    create_location("S1")
    create_location("S2")
    create_location("WH", kind="warehouse")
    create_product(handle="a", skus=("A-1", "A-2"))
    create_product(handle="b", skus=("B-1",))


def test_random_operations_keep_on_hand_equal_to_the_ledger(world):
    rng = random.Random(20261123)
    holds, transfers = [], []
    for step in range(400):
        op = rng.choice(["receive", "adjust", "count", "reserve", "commit", "release", "transfer", "receive_transfer"])
        sku, store = rng.choice(SKUS), rng.choice(STORES)
        try:
            if op == "receive":
                inventory.record_movement(store, sku, "receive", rng.randint(1, 5))
            elif op == "adjust":
                inventory.record_movement(store, sku, "adjust", rng.choice([-3, -2, -1, 1, 2]))
            elif op == "count":
                inventory.record_movement(store, sku, "count", rng.randint(0, 6))
            elif op == "reserve":
                lines = [{"sku": s, "quantity": rng.randint(1, 2)} for s in rng.sample(SKUS, rng.randint(1, 2))]
                holds.append(inventory.reserve(store, lines, "cart_hold").public_id)
            elif op == "commit" and holds:
                inventory.commit_reservation(holds.pop(rng.randrange(len(holds))))
            elif op == "release" and holds:
                inventory.release_reservation(holds.pop(rng.randrange(len(holds))))
            elif op == "transfer":
                destination = rng.choice([s for s in STORES if s != store])
                transfers.append(inventory.create_transfer(store, destination, [{"sku": sku, "quantity": 1}]).public_id)
            elif op == "receive_transfer" and transfers:
                inventory.receive_transfer(transfers.pop(0))
            db.session.commit()
        except (InsufficientStock, Conflict, InvalidTransition):
            db.session.rollback()
        assert inventory.ledger_mismatches() == [], f"step {step}: {op}"
    levels = db.session.query(inventory.StockLevel).all()
    assert levels, "the walk touched some stock"
    for level in levels:
        assert level.on_hand >= 0 and 0 <= level.reserved <= level.on_hand
        held = sum(
            line.quantity
            for line in db.session.query(inventory.ReservationLine)
            .join(inventory.Reservation)
            .filter(inventory.ReservationLine.stock_level_id == level.id, inventory.Reservation.status == "held")
        )
        assert level.reserved == held


def test_movements_are_append_only_lines_with_the_running_on_hand(world, set_stock):
    set_stock("S1", "A-1", 4)
    inventory.record_movement("S1", "A-1", "adjust", -1, reason="damaged")
    db.session.commit()
    lines = inventory.movements("S1", "A-1")
    assert [(m.kind, m.quantity, m.on_hand_after) for m in lines] == [("adjustment", -1, 3), ("count", 4, 4)]
