"""Click-and-collect at the store: the pickups due (soonest expiry first, with lines, titles and the customer the
online order links to), found by reference, name or loyalty code; handed over (the hold committed, the timeline
says collected in store) or refused (released, the reason kept); one nobody collects expires and frees its units."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import inventory
import pos
from accounts import create_staff
from clienteling import CustomerEvent, create_customer, erase_customer, ingest_events, merge_customers
from core import Money, clock, db
from core.actor import SYSTEM
from core.audit import audit_entries
from core.errors import InvalidTransition, NotFound, ValidationError
from tests.concurrency import interleave


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M", "JKT-L"), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    set_stock("S1", "JKT-M", 3)
    set_stock("S1", "BEA-OS", 5)
    set_stock("S2", "JKT-L", 2)
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    lea = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    return {"actor": ana.actor, "lea": lea}


@pytest.fixture
def actor(world):
    return world["actor"]


@pytest.fixture
def lea(world):
    return world["lea"]


def pickup(store, reference, lines, hours=48):
    reservation = inventory.reserve(store, [{"sku": s, "quantity": q} for s, q in lines], "pickup", reference, expires_in=hours * 3600)
    db.session.commit()
    return reservation


def order_placed(email, order_id, lines, event_id=None, key="order_id"):
    data = {
        "order_id": order_id if key == "order_id" else "WEB-OTHER",
        "lines": [{"sku": s, "quantity": q, "unit_price": {"amount": 100, "currency": "EUR"}} for s, q in lines],
        "total": {"amount": 100 * sum(q for _, q in lines), "currency": "EUR"},
    }
    if key == "reference":
        data["reference"] = order_id
    answer = ingest_events(
        [
            {
                "id": event_id or f"ev-{order_id}",
                "type": "order_placed",
                "occurred_at": clock.isoformat(clock.now()),
                "customer": {"email": email},
                "data": data,
            }
        ],
        SYSTEM,
    )
    db.session.commit()
    assert answer["accepted"] == 1, answer


def level(store, sku):
    items, _ = inventory.availability([sku], store)
    return items[0]


def test_the_pickups_due_come_soonest_expiry_first_with_their_lines_and_customer(world, lea):
    later = pickup("S1", "CC-2", [("BEA-OS", 2)], hours=72)
    sooner = pickup("S1", "CC-1", [("JKT-M", 1), ("BEA-OS", 1)], hours=24)
    pickup("S2", "CC-3", [("JKT-L", 1)])  # another store's
    inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order", "WEB-7")  # shipped, not collected here
    db.session.commit()
    order_placed("lea@example.com", "CC-1", [("JKT-M", 1), ("BEA-OS", 1)])
    due = pos.pickups_due("S1")
    assert [p["id"] for p in due] == [sooner.public_id, later.public_id]
    first = due[0]
    assert first["reference"] == "CC-1" and first["status"] == "held" and first["units"] == 2
    assert first["lines"] == [
        {"sku": "JKT-M", "title": "Trail Jacket — M", "quantity": 1},
        {"sku": "BEA-OS", "title": "Wool Beanie — OS", "quantity": 1},
    ]
    assert first["customer"] == {"id": lea.public_id, "name": "Lea Schäfer", "loyalty_code": lea.loyalty_code}
    assert due[1]["customer"] is None  # no online order names CC-2: the reference alone


def test_a_reference_sent_as_data_reference_links_the_customer_too(world, lea):
    pickup("S1", "CC-9", [("BEA-OS", 1)])
    order_placed("lea@example.com", "CC-9", [("BEA-OS", 1)], key="reference")
    assert pos.pickups_due("S1")[0]["customer"]["id"] == lea.public_id


def test_a_merged_customer_shows_as_the_survivor_and_an_erased_one_not_at_all(world, lea, actor):
    pickup("S1", "CC-1", [("BEA-OS", 1)])
    pickup("S1", "CC-2", [("BEA-OS", 1)], hours=72)
    order_placed("lea.old@example.com", "CC-1", [("BEA-OS", 1)])
    order_placed("olaf@example.com", "CC-2", [("BEA-OS", 1)])
    duplicate = db.session.scalar(select(CustomerEvent).where(CustomerEvent.event_id == "ev-CC-1")).customer_id
    from clienteling import Customer

    merge_customers(lea, db.session.get(Customer, duplicate), actor)
    olaf = db.session.get(Customer, db.session.scalar(select(CustomerEvent.customer_id).where(CustomerEvent.event_id == "ev-CC-2")))
    erase_customer(olaf, actor)
    db.session.commit()
    due = pos.pickups_due("S1")
    assert due[0]["customer"]["id"] == lea.public_id
    assert due[1]["customer"] is None


def test_a_pickup_is_found_by_reference_name_or_scanned_loyalty_code(world, lea):
    mine = pickup("S1", "CC-100234", [("JKT-M", 1)])
    other = pickup("S1", "CC-100251", [("BEA-OS", 1)], hours=72)
    order_placed("lea@example.com", "CC-100234", [("JKT-M", 1)])
    assert [p["id"] for p in pos.pickups_due("S1", "100234")] == [mine.public_id]
    assert [p["id"] for p in pos.pickups_due("S1", "cc-1002")] == [mine.public_id, other.public_id]
    assert [p["id"] for p in pos.pickups_due("S1", "schafer")] == [mine.public_id]  # accents and case ignored
    assert [p["id"] for p in pos.pickups_due("S1", "Lea Sch")] == [mine.public_id]
    assert [p["id"] for p in pos.pickups_due("S1", lea.loyalty_code.lower())] == [mine.public_id]
    assert pos.pickups_due("S1", "Olaf") == []
    with pytest.raises(ValidationError) as long:
        pos.pickups_due("S1", "x" * 101)
    assert "q" in long.value.details


def test_handing_over_commits_the_hold_and_the_timeline_says_collected_in_store(world, lea, actor):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    order_placed("lea@example.com", "CC-1", [("JKT-M", 1)])
    answer = pos.hand_over(held.public_id, actor)
    db.session.commit()
    assert answer["status"] == "committed" and answer["customer"]["id"] == lea.public_id
    assert level("S1", "JKT-M") == {"sku": "JKT-M", "store": "S1", "on_hand": 2, "reserved": 0, "available": 2}
    sale = db.session.scalar(select(inventory.StockMovement).where(inventory.StockMovement.kind == "sale"))
    assert sale.quantity == -1 and sale.reference == "CC-1"
    entry = db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "pickup_collected"))
    assert entry.customer_id == lea.id and entry.channel == "store" and entry.data["reference"] == "CC-1"
    assert entry.data["lines"] == [{"sku": "JKT-M", "quantity": 1}]
    (audit,) = [e for e in audit_entries() if e.action == "pickup_handed_over"]
    assert audit.subject_id == held.public_id and audit.details["customer_id"] == lea.public_id
    assert pos.pickups_due("S1") == []
    # a retry answers the same and writes nothing more
    again = pos.hand_over(held.public_id, actor)
    db.session.commit()
    assert again["status"] == "committed"
    assert len(list(db.session.scalars(select(CustomerEvent).where(CustomerEvent.type == "pickup_collected")))) == 1
    assert level("S1", "JKT-M")["on_hand"] == 2


def test_a_pickup_without_a_known_customer_is_handed_over_without_a_timeline(world, actor):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    assert pos.hand_over(held.public_id, actor)["customer"] is None
    db.session.commit()
    assert db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "pickup_collected")) is None
    assert level("S1", "JKT-M")["on_hand"] == 2


def test_refusing_releases_the_units_and_keeps_the_reason(world, lea, actor):
    held = pickup("S1", "CC-1", [("JKT-M", 2)])
    order_placed("lea@example.com", "CC-1", [("JKT-M", 2)])
    assert level("S1", "JKT-M")["available"] == 1
    answer = pos.refuse(held.public_id, "  Wrong size:  wants L ", actor)
    db.session.commit()
    assert answer["status"] == "released"
    assert level("S1", "JKT-M") == {"sku": "JKT-M", "store": "S1", "on_hand": 3, "reserved": 0, "available": 3}
    entry = db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "pickup_refused"))
    assert entry.customer_id == lea.id and entry.data["reason"] == "Wrong size: wants L"
    (audit,) = [e for e in audit_entries() if e.action == "pickup_refused"]
    assert audit.details["reason"] == "Wrong size: wants L"
    # refused twice: the first answer, nothing written again; and it can no longer be handed over
    assert pos.refuse(held.public_id, "again", actor)["status"] == "released"
    db.session.commit()
    assert len([e for e in audit_entries() if e.action == "pickup_refused"]) == 1
    with pytest.raises(InvalidTransition):
        pos.hand_over(held.public_id, actor)


def test_a_refusal_needs_a_reason_and_changes_nothing_without_one(world, actor):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    for reason in ("", "   ", None, "x" * 501):
        with pytest.raises(ValidationError) as bad:
            pos.refuse(held.public_id, reason, actor)
        assert "reason" in bad.value.details
    assert inventory.get_reservation(held.public_id).status == "held"


def test_a_handed_over_pickup_cannot_be_refused(world, actor):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    pos.hand_over(held.public_id, actor)
    db.session.commit()
    with pytest.raises(InvalidTransition) as refused:
        pos.refuse(held.public_id, "changed their mind", actor)
    assert refused.value.details["status"] == "committed"


def test_only_pickups_are_handed_over(world, actor):
    hold = inventory.reserve("S1", [{"sku": "JKT-M", "quantity": 1}], "online_order", "WEB-1")
    db.session.commit()
    with pytest.raises(NotFound):
        pos.hand_over(hold.public_id, actor)
    with pytest.raises(NotFound):
        pos.refuse("rsv_nope", "no", actor)
    assert inventory.get_reservation(hold.public_id).status == "held"


def test_an_uncollected_pickup_expires_leaves_the_list_and_frees_its_units(world, actor, monkeypatch):
    held = pickup("S1", "CC-1", [("JKT-M", 2)], hours=24)
    assert [p["id"] for p in pos.pickups_due("S1")] == [held.public_id]
    later = clock.now() + timedelta(hours=25)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert pos.pickups_due("S1") == []  # past its expiry: no longer due, even before the sweeper ran
    with pytest.raises(InvalidTransition) as expired:
        pos.hand_over(held.public_id, actor)
    assert expired.value.details["status"] == "expired"
    db.session.rollback()
    due = inventory.due_reservations()
    assert [r.public_id for r in due] == [held.public_id]
    assert inventory.expire_reservation(due[0])
    db.session.commit()
    assert inventory.get_reservation(held.public_id).status == "expired"
    assert level("S1", "JKT-M") == {"sku": "JKT-M", "store": "S1", "on_hand": 3, "reserved": 0, "available": 3}


def test_an_endless_aisle_sale_collected_where_its_units_are_is_a_pickup_there_for_the_buyer(world, lea, actor):
    pos.seed_registers(["S1"])
    pos.open_shift("S1", "T1", Money(0, "EUR"), actor)
    cart = pos.open_cart("S1", "T1", actor, customer_id=lea.public_id)
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "S2", "collect", collect_at="S2")
    db.session.commit()
    order = pos.checkout(cart.public_id, [{"kind": "cash", "amount": Money(20000, "EUR")}], actor)
    db.session.commit()
    (due,) = pos.pickups_due("S2")
    assert due["reference"] == order.number and due["customer"]["id"] == lea.public_id
    assert due["lines"] == [{"sku": "JKT-L", "title": "Trail Jacket — L", "quantity": 1}]


# --- two tablets at once (PostgreSQL row locks) -------------------------------------------------


def test_two_tablets_handing_over_one_pickup_commit_it_once(app, world, lea, actor, row_locks):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    order_placed("lea@example.com", "CC-1", [("JKT-M", 1)])
    reservation_id = held.public_id

    def hand():
        return pos.hand_over(reservation_id, actor)["status"]

    # the first holds the reservation's lock when the second comes: the second waits, then finds it handed over
    result = interleave(app, hand, hand)
    assert result.second_blocked, result.statements
    assert [o.kind for o in result.outcomes] == ["ok", "ok"] and result.first.value == result.second.value == "committed"
    db.session.rollback()
    assert level("S1", "JKT-M")["on_hand"] == 2
    assert len(list(db.session.scalars(select(CustomerEvent).where(CustomerEvent.type == "pickup_collected")))) == 1
    assert len([e for e in audit_entries() if e.action == "pickup_handed_over"]) == 1


def test_a_refusal_racing_a_hand_over_loses_and_changes_nothing(app, world, actor, row_locks):
    held = pickup("S1", "CC-1", [("JKT-M", 1)])
    reservation_id = held.public_id
    result = interleave(app, lambda: pos.hand_over(reservation_id, actor)["status"], lambda: pos.refuse(reservation_id, "too late", actor)["status"])
    assert result.second_blocked, result.statements
    assert result.first.kind == "ok" and result.second.kind == "refused" and "invalid_transition" in result.second.value, result.outcomes
    db.session.rollback()
    assert level("S1", "JKT-M") == {"sku": "JKT-M", "store": "S1", "on_hand": 2, "reserved": 0, "available": 2}
    assert [e.action for e in audit_entries() if e.action.startswith("pickup_")] == ["pickup_handed_over"]


def test_units_collected_at_another_store_are_no_pickup_where_they_are_held(world, lea, actor, create_location):
    create_location("S3", "Amsterdam")
    pos.seed_registers(["S1"])
    pos.open_shift("S1", "T1", Money(0, "EUR"), actor)
    cart = pos.open_cart("S1", "T1", actor, customer_id=lea.public_id)
    pos.add_line_from_elsewhere(cart, actor, "JKT-L", 1, "S2", "collect", collect_at="S3")
    db.session.commit()
    order = pos.checkout(cart.public_id, [{"kind": "cash", "amount": Money(20000, "EUR")}], actor)
    db.session.commit()
    held = db.session.scalar(select(inventory.Reservation).where(inventory.Reservation.reference == order.number))
    assert held.kind == "pickup" and held.location.code == "S2" and held.status == "held"  # S2 holds them, to send on
    assert pos.pickups_due("S2") == [] and pos.pickups_due("S3") == []
