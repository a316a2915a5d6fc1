"""Returns and refunds: partial returns, never more than is returnable, restock or damaged in the ledger, a manager
above the threshold, refunds to the original tenders and never above what was paid, the drawer, the timeline, the
audit log and ``order.refunded``; under concurrency, the last returnable unit comes back once."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import inventory
import pos
from accounts import create_staff, set_staff_pin
from clienteling import CustomerEvent, create_customer, lifetime_value
from core import Money, db
from core.actor import SYSTEM
from core.audit import audit_entries
from core.errors import InvalidTransition, ValidationError
from core.outbox import OutboxEvent, register_endpoint
from tests.concurrency import interleave, race, stock_consistency

PIN = "2468"


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


@pytest.fixture
def world(create_location, create_product, set_stock):
    create_location("S1", "Berlin Mitte")
    create_location("S2", "München")
    pos.seed_registers(["S1", "S2"])
    create_product("trail-jacket", "Trail Jacket", skus=("JKT-M", "JKT-L"), price=12900)
    create_product("wool-beanie", "Wool Beanie", skus=("BEA-OS",), price=2500)
    create_product("trail-socks", "Trail Socks", skus=("SOK-42",), price=999)
    for sku in ("JKT-M", "JKT-L", "BEA-OS", "SOK-42"):
        set_stock("S1", sku, 1000)
    ana = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    manager = create_staff("max@example.com", "Max", "manager", "correct-horse", ["S1"])
    set_staff_pin(manager, PIN)
    db.session.commit()
    return {"actor": ana.actor, "manager": manager}


@pytest.fixture
def actor(world):
    return world["actor"]


@pytest.fixture
def shift(actor):
    opened = pos.open_shift("S1", "T1", eur(100000), actor)
    db.session.commit()
    return opened


class RecordingGateway(pos.DevelopmentGateway):
    """The development gateway, remembering every refund it was asked for (payment, amount, our reference)."""

    def __init__(self):
        super().__init__("/pay")
        self.calls: list[dict] = []

    def refund(self, payment_id, amount, *, reason, idempotency_key) -> str:
        refund_id = super().refund(payment_id, amount, reason=reason, idempotency_key=idempotency_key)
        payment = db.session.scalar(select(pos.Payment).where(pos.Payment.gateway_payment_id == payment_id))
        self.calls.append({"payment": payment.public_id, "amount": amount, "reference": reason, "id": refund_id})
        return refund_id


@pytest.fixture
def gateway():
    """The real ``pos.payments`` over a recording development gateway: what the refunds asked of it."""
    recording = RecordingGateway()
    previous = pos.use_gateway(recording)
    yield recording
    pos.use_gateway(previous)


def sell(actor, lines, card: int = 0, customer_id=None, basket_discount=None, register="T1") -> pos.Order:
    """A completed order of ``lines`` ([(sku, quantity, line discount in minor units or 0)]): cash for all of it, or
    ``card`` minor units by card on the register's simulated reader (approved there) and the rest in cash."""
    cart = pos.open_cart("S1", register, actor, customer_id)
    for sku, quantity, discount in lines:
        cart, line = pos.add_line(cart.public_id, actor, sku=sku, quantity=quantity)
        if discount:
            pos.change_line(cart.public_id, line.id, actor, discount={"amount": discount})
    if basket_discount:
        pos.set_basket_discount(cart.public_id, basket_discount, actor)
    total = pos.price(cart).total
    tenders = [{"kind": "card", "amount": eur(card)}] if card else []
    if total > card:
        tenders.append({"kind": "cash", "amount": eur(total - card)})
    order = pos.checkout_and_pay(cart.public_id, tenders, actor)
    db.session.commit()
    if card:
        gateway = pos.current_gateway()
        (pending,) = [payment for payment in order.payments if payment.kind == "card"]
        pos.handle_gateway_event(gateway.simulate(pending, "approve"), gateway, actor)
        db.session.commit()
        db.session.refresh(order)
    assert order.status == "completed"
    return order


def on_hand(sku: str, store: str = "S1") -> int:
    items, _ = inventory.availability([sku], store)
    return items[0]["on_hand"]


def return_movements(sku: str) -> list:
    return [m for m in inventory.movements("S1", sku) if m.kind == "return"]


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- partial returns and their refunds -------------------------------------------------------------


def test_a_partial_return_refunds_its_units_share_in_cash_restocks_and_empties_the_drawer_by_it(actor, shift):
    order = sell(actor, [("BEA-OS", 3, 100)])  # 7500 - 100 = 7400 for three: shares 2467, 2467, 2466
    assert order.total == 7400
    before = on_hand("BEA-OS")
    sale_return = pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "wrong colour", actor)
    db.session.commit()
    payload = pos.return_payload(sale_return)
    assert payload["order_id"] == order.public_id and payload["id"].startswith("ret_")
    assert payload["lines"] == [{"sku": "BEA-OS", "quantity": 1, "restock": True, "amount": eur(2467).to_dict()}]
    assert [(r["kind"], r["amount"]) for r in payload["refunds"]] == [("cash", eur(2467).to_dict())]
    assert payload["total_refunded"] == eur(2467).to_dict()
    assert on_hand("BEA-OS") == before + 1
    (movement,) = return_movements("BEA-OS")
    assert movement.quantity == 1 and movement.reference == sale_return.public_id
    assert inventory.ledger_mismatches() == []
    assert pos.expected_cash(shift) == eur(100000 + 7400 - 2467)
    assert order.lines[0].returned_quantity == 1 and order.payments[0].refunded_amount == 2467
    report = pos.shift_report(shift)
    assert report["cash_refunds"] == eur(2467).to_dict()
    assert report["tenders"]["cash"]["refunds"] == eur(2467).to_dict() and report["tenders"]["cash"]["refund_count"] == 1
    # the rest comes back later: exactly the line's total in all
    pos.create_return(order.number, [{"sku": "BEA-OS", "quantity": 2, "restock": True}], "", actor)
    db.session.commit()
    assert sum(r.total_refunded for r in pos.list_returns(order)) == 7400
    assert order.payments[0].refunded_amount == order.payments[0].amount


def test_returning_more_than_is_left_is_not_returnable_and_changes_nothing(actor, shift):
    order = sell(actor, [("BEA-OS", 3, 0), ("SOK-42", 1, 0)])
    pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 2, "restock": True}], "", actor)
    db.session.commit()
    stock, drawer, returns = on_hand("BEA-OS"), pos.expected_cash(shift), count(pos.Return)
    with pytest.raises(pos.NotReturnable) as refused:
        pos.create_return(
            order.public_id, [{"sku": "SOK-42", "quantity": 1, "restock": True}, {"sku": "BEA-OS", "quantity": 2, "restock": True}], "", actor
        )
    db.session.rollback()
    assert refused.value.code == "not_returnable" and isinstance(refused.value, pos.NotReturnable)
    assert refused.value.details == {"lines": [{"sku": "BEA-OS", "requested": 2, "returnable": 1}]}
    assert (on_hand("BEA-OS"), pos.expected_cash(shift), count(pos.Return)) == (stock, drawer, returns)
    assert db.session.get(pos.OrderLine, order.lines[1].id).returned_quantity == 0


def test_damaged_units_are_refunded_but_stay_off_the_shelf(actor, shift):
    order = sell(actor, [("JKT-M", 1, 0), ("BEA-OS", 1, 0)])
    before_jacket, before_beanie = on_hand("JKT-M"), on_hand("BEA-OS")
    sale_return = pos.create_return(
        order.public_id, [{"sku": "JKT-M", "quantity": 1, "restock": False}, {"sku": "BEA-OS", "quantity": 1, "restock": True}], "torn seam", actor
    )
    db.session.commit()
    assert sale_return.total_refunded == 12900 + 2500
    assert on_hand("JKT-M") == before_jacket and return_movements("JKT-M") == []
    assert on_hand("BEA-OS") == before_beanie + 1 and len(return_movements("BEA-OS")) == 1
    assert [(line.sku, line.restock) for line in sale_return.lines] == [("JKT-M", False), ("BEA-OS", True)]


def test_a_refund_above_the_stores_threshold_needs_a_manager(world, actor, shift):
    pos.configure_store("S1", refund_approval_amount=10000)
    db.session.commit()
    order = sell(actor, [("JKT-M", 1, 0), ("BEA-OS", 1, 0)])
    small = pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor)  # 25.00: below
    assert small.approved_by is None
    db.session.commit()
    jacket = [{"sku": "JKT-M", "quantity": 1, "restock": True}]
    with pytest.raises(pos.ApprovalRequired):
        pos.create_return(order.public_id, jacket, "", actor)
    db.session.rollback()
    with pytest.raises(pos.ApprovalRefused):
        pos.create_return(order.public_id, jacket, "", actor, approval={"pin": "0000"})
    db.session.rollback()
    assert count(pos.Return) == 1
    approved = pos.create_return(order.public_id, jacket, "", actor, approval={"pin": PIN})
    db.session.commit()
    assert approved.approved_by == world["manager"].id
    (entry,) = audit_entries("order", order.public_id, action="refund")[:1]
    assert entry.details["approved_by"] == world["manager"].id and entry.details["amount"] == eur(12900).to_dict()


def test_every_refund_is_audited_emits_order_refunded_and_lands_on_the_customers_timeline(actor, shift):
    register_endpoint("https://shop.example/hooks", ["order.refunded"])
    customer = create_customer("Lea Schäfer", SYSTEM, email="lea@example.com")
    db.session.commit()
    order = sell(actor, [("BEA-OS", 3, 100)], customer_id=customer.public_id)
    sale_return = pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "too small", actor)
    db.session.commit()
    (entry,) = audit_entries(action="refund")
    assert entry.subject_id == order.public_id and entry.details["return_id"] == sale_return.public_id
    assert entry.details["kind"] == "cash" and entry.details["amount"] == eur(2467).to_dict()
    (event,) = db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.refunded")).all()
    assert event.payload["data"]["id"] == sale_return.public_id and event.payload["data"]["order"]["number"] == order.number
    assert event.payload["data"]["total_refunded"] == eur(2467).to_dict()
    timeline = db.session.scalar(select(CustomerEvent).where(CustomerEvent.type == "return_in_store"))
    assert timeline.data["order_id"] == order.public_id and timeline.data["number"] == order.number
    assert timeline.data["total"] == eur(2467).to_dict()
    assert timeline.data["lines"][0]["sku"] == "BEA-OS" and timeline.data["lines"][0]["quantity"] == 1
    assert lifetime_value(customer)["store"] == eur(7400 - 2467)


def test_a_void_of_a_cart_with_lines_is_audited_and_an_empty_one_is_not(actor):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart.public_id, actor, sku="BEA-OS", quantity=2)
    pos.abandon_cart(cart.public_id, actor)
    empty = pos.open_cart("S1", "T1", actor)
    pos.abandon_cart(empty.public_id, actor)
    db.session.commit()
    (entry,) = audit_entries(action="void")
    assert entry.subject_id == cart.public_id
    assert entry.details["lines"] == [{"sku": "BEA-OS", "quantity": 2}] and entry.details["total"] == eur(5000).to_dict()


# --- the drawer ------------------------------------------------------------------------------------


def test_a_cash_refund_without_an_open_shift_is_no_open_shift_and_another_registers_shift_pays_it(actor, shift):
    order = sell(actor, [("BEA-OS", 1, 0)])
    pos.close_shift(shift, eur(100000 + 2500), None, actor)
    db.session.commit()
    line = [{"sku": "BEA-OS", "quantity": 1, "restock": True}]
    with pytest.raises(pos.NoOpenShift):
        pos.create_return(order.public_id, line, "", actor)
    db.session.rollback()
    with pytest.raises(pos.NoOpenShift):
        pos.create_return(order.public_id, line, "", actor, register_code="T2")  # T2 has no open shift either
    db.session.rollback()
    other = pos.open_shift("S1", "T2", eur(5000), actor)
    db.session.commit()
    sale_return = pos.create_return(order.public_id, line, "", actor, register_code="T2")
    db.session.commit()
    assert pos.expected_cash(other) == eur(5000 - 2500)
    assert sale_return.refunds[0].shift_id == other.id


def test_the_cash_leaves_the_drawer_of_the_register_doing_the_return(actor, shift):
    order = sell(actor, [("BEA-OS", 1, 0)])  # sold on T1
    other = pos.open_shift("S1", "T2", eur(5000), actor)
    db.session.commit()
    pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor, register_code="T2")
    db.session.commit()
    assert pos.expected_cash(shift) == eur(100000 + 2500) and pos.expected_cash(other) == eur(5000 - 2500)


def test_without_a_register_the_sales_own_open_shift_pays_the_refund(actor, shift):
    order = sell(actor, [("BEA-OS", 1, 0)])
    pos.open_shift("S1", "T2", eur(5000), actor)
    db.session.commit()
    pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor)
    db.session.commit()
    assert pos.expected_cash(shift) == eur(100000)


def test_a_drawer_short_of_the_refund_refuses_it(actor):
    small = pos.open_shift("S1", "T1", eur(0), actor)
    db.session.commit()
    order = sell(actor, [("BEA-OS", 1, 0)])
    pos.record_cash_movement(small, eur(-2000), "bank run", actor)
    db.session.commit()
    with pytest.raises(pos.InsufficientCash):
        pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor)
    db.session.rollback()
    assert count(pos.Return) == 0 and return_movements("BEA-OS") == []


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines, field",
    [
        ([], "lines"),
        ([{"sku": "NOPE", "quantity": 1, "restock": True}], "lines.0.sku"),
        ([{"sku": "BEA-OS", "quantity": 0, "restock": True}], "lines.0.quantity"),
        ([{"sku": "BEA-OS", "quantity": True, "restock": True}], "lines.0.quantity"),
        ([{"sku": "BEA-OS", "quantity": 1, "restock": "yes"}], "lines.0.restock"),
        ([{"sku": "BEA-OS", "quantity": 1, "restock": True}, {"sku": "BEA-OS", "quantity": 1, "restock": False}], "lines.1.sku"),
    ],
)
def test_bad_lines_name_their_field_and_change_nothing(actor, shift, lines, field):
    order = sell(actor, [("BEA-OS", 2, 0)])
    with pytest.raises(ValidationError) as error:
        pos.create_return(order.public_id, lines, "", actor)
    db.session.rollback()
    assert field in error.value.details
    assert count(pos.Return) == 0


def test_an_order_awaiting_payment_takes_no_return(actor, shift):
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart.public_id, actor, sku="BEA-OS")
    order = pos.checkout(cart.public_id, [{"kind": "card", "amount": eur(2500)}], actor)
    db.session.commit()
    assert order.status == "awaiting_payment"
    with pytest.raises(InvalidTransition):
        pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor)


# --- tenders ---------------------------------------------------------------------------------------


def test_a_split_tender_refunds_the_card_first_then_cash_and_neither_above_what_it_paid(actor, shift, gateway):
    order = sell(actor, [("JKT-M", 1, 0), ("BEA-OS", 2, 0)], card=10000)  # 17900: card 10000, cash 7900
    card, cash = sorted(order.payments, key=lambda p: p.kind != "card")
    first = pos.create_return(order.public_id, [{"sku": "BEA-OS", "quantity": 2, "restock": True}], "", actor)
    db.session.commit()
    assert [(r.kind, r.amount) for r in first.refunds] == [("card", 5000)]
    assert [(c["payment"], c["amount"], c["reference"]) for c in gateway.calls] == [(card.public_id, 5000, f"{first.public_id}-{card.public_id}")]
    assert first.refunds[0].gateway_refund_id == gateway.calls[0]["id"]
    second = pos.create_return(order.public_id, [{"sku": "JKT-M", "quantity": 1, "restock": True}], "", actor)
    db.session.commit()
    assert [(r.kind, r.amount) for r in second.refunds] == [("card", 5000), ("cash", 7900)]
    assert (card.refunded_amount, cash.refunded_amount) == (card.amount, cash.amount)
    assert pos.expected_cash(shift) == eur(100000)
    report = pos.shift_report(shift)["tenders"]
    assert report["card"]["sales"] == eur(10000).to_dict() and report["card"]["refunds"] == eur(10000).to_dict()
    assert report["card"]["sale_count"] == 1 and report["card"]["refund_count"] == 2
    assert report["cash"]["net"] == eur(0).to_dict()
    assert report["qr"]["sales"] == eur(0).to_dict()


def test_a_card_only_refund_needs_no_open_shift(actor, shift, gateway):
    order = sell(actor, [("BEA-OS", 1, 0)], card=2500)
    pos.close_shift(shift, eur(100000), None, actor)
    db.session.commit()
    sale_return = pos.create_return(
        order.public_id, [{"sku": "BEA-OS", "quantity": 1, "restock": True}], "", actor, register_code="T2", gateway_reference="rfd_abc"
    )
    db.session.commit()
    assert [(r.kind, r.amount, r.shift_id) for r in sale_return.refunds] == [("card", 2500, None)]
    assert gateway.calls[0]["reference"] == f"rfd_abc-{order.payments[0].public_id}"


def test_plan_refunds_puts_cards_first_and_never_above_what_a_tender_has_left():
    payments = [
        pos.Payment(kind="cash", status="succeeded", amount=3000, refunded_amount=0, currency="EUR"),
        pos.Payment(kind="card", status="succeeded", amount=5000, refunded_amount=4000, currency="EUR"),
        pos.Payment(kind="qr", status="failed", amount=9000, refunded_amount=0, currency="EUR"),
    ]
    plan = pos.plan_refunds(2500, payments, "EUR")
    assert [(p.kind, amount) for p, amount in plan] == [("card", 1000), ("cash", 1500)]
    with pytest.raises(pos.RefundExceedsPayments):
        pos.plan_refunds(4001, payments, "EUR")


def test_in_swiss_francs_cash_refunds_are_in_coins_and_a_whole_return_pays_back_what_was_paid(actor, create_location, create_product, set_stock):
    create_location("ZH", "Zürich")
    pos.seed_registers(["ZH"])
    pos.configure_store("ZH", currency="CHF", tax_rates={"standard": 810, "reduced": 260, "zero": 0})
    create_product("chf-socks", "Socks", skus=("CHF-SOK",), price=333, currency="CHF")
    set_stock("ZH", "CHF-SOK", 10)
    manager = create_staff("zh@example.com", "Zora", "associate", "correct-horse", ["ZH"])
    db.session.commit()
    zh = manager.actor
    shift = pos.open_shift("ZH", "T1", Money(10000, "CHF"), zh)
    cart = pos.open_cart("ZH", "T1", zh)
    pos.add_line(cart.public_id, zh, sku="CHF-SOK", quantity=3)  # 9.99, paid 10.00 in cash
    order = pos.checkout(cart.public_id, [{"kind": "cash", "amount": Money(1000, "CHF")}], zh)
    db.session.commit()
    assert order.total == 999 and order.payments[0].amount == 1000
    first = pos.create_return(order.public_id, [{"sku": "CHF-SOK", "quantity": 1, "restock": True}], "", zh)
    assert first.total_refunded == 335  # 3.33 in coins
    rest = pos.create_return(order.public_id, [{"sku": "CHF-SOK", "quantity": 2, "restock": True}], "", zh)
    db.session.commit()
    assert first.total_refunded + rest.total_refunded == 1000
    assert pos.expected_cash(shift) == Money(10000, "CHF")


# --- properties ------------------------------------------------------------------------------------

SKUS = ("JKT-M", "JKT-L", "BEA-OS", "SOK-42")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_sequence_of_partial_returns_never_refunds_more_than_was_paid_and_everything_back_refunds_it_all(actor, shift, gateway, data):
    skus = data.draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=4, unique=True), label="skus")
    lines = [(sku, data.draw(st.integers(1, 5), label="quantity"), data.draw(st.integers(0, 150), label="line discount")) for sku in skus]
    basket = data.draw(st.one_of(st.none(), st.integers(1, 15).map(lambda p: {"percent": p})), label="basket discount")
    order = sell(actor, lines, basket_discount=basket)
    card = data.draw(st.integers(0, order.total), label="card part")
    if card:  # the same basket again, part of it paid by card
        order = sell(actor, lines, card=card, basket_discount=basket)
    paid = sum(p.amount for p in order.payments)
    everything = data.draw(st.booleans(), label="bring everything back")
    for _ in range(6):
        left = {line.sku: line.quantity - line.returned_quantity for line in order.lines if line.quantity > line.returned_quantity}
        if not left:
            break
        chosen = data.draw(st.lists(st.sampled_from(sorted(left)), min_size=1, unique=True), label="skus returned")
        request = [{"sku": sku, "quantity": data.draw(st.integers(1, left[sku])), "restock": data.draw(st.booleans())} for sku in chosen]
        pos.create_return(order.public_id, request, "", actor, approval={"pin": PIN})
        db.session.commit()
        refunded = {line.order_line_id: 0 for r in pos.list_returns(order) for line in r.lines}
        for r in pos.list_returns(order):
            for line in r.lines:
                refunded[line.order_line_id] += line.amount
        for line in order.lines:
            assert refunded.get(line.id, 0) <= line.total
        for payment in order.payments:
            assert 0 <= payment.refunded_amount <= payment.amount
        assert sum(r.total_refunded for r in pos.list_returns(order)) <= paid
    if everything:
        rest = [{"sku": line.sku, "quantity": line.quantity - line.returned_quantity, "restock": True} for line in order.lines]
        rest = [item for item in rest if item["quantity"]]
        if rest:
            pos.create_return(order.public_id, rest, "", actor, approval={"pin": PIN})
            db.session.commit()
        returns = pos.list_returns(order)
        assert sum(r.total_refunded for r in returns) == paid == order.total
        per_line = {line.id: 0 for line in order.lines}
        for r in returns:
            for line in r.lines:
                per_line[line.order_line_id] += line.amount
        assert per_line == {line.id: line.total for line in order.lines}
        assert all(p.refunded_amount == p.amount for p in order.payments)


# --- concurrency -----------------------------------------------------------------------------------


def test_two_concurrent_returns_of_the_last_returnable_unit_refund_it_once(app, actor, shift, row_locks):
    order = sell(actor, [("JKT-L", 1, 0)])
    order_id, cash_before = order.public_id, pos.expected_cash(shift)
    line = [{"sku": "JKT-L", "quantity": 1, "restock": True}]
    outcomes = race(app, [lambda: pos.create_return(order_id, line, "", actor).public_id for _ in range(2)])
    assert sorted(o.kind for o in outcomes) == ["ok", "refused"], outcomes
    assert "not_returnable" in next(o.value for o in outcomes if o.kind == "refused")
    db.session.rollback()
    assert count(pos.Return) == 1 and len(return_movements("JKT-L")) == 1
    assert pos.expected_cash(pos.get_shift(shift.public_id)) == cash_before - eur(12900)


def test_a_return_and_a_checkout_meeting_on_one_stock_row_and_one_drawer_queue_instead_of_deadlocking(app, actor, shift, row_locks):
    order = sell(actor, [("SOK-42", 1, 0)])
    cart = pos.open_cart("S1", "T1", actor)
    pos.add_line(cart.public_id, actor, sku="SOK-42")
    db.session.commit()
    order_id, cart_id, drawer = order.public_id, cart.public_id, pos.expected_cash(shift)

    def give_back():
        return pos.create_return(order_id, [{"sku": "SOK-42", "quantity": 1, "restock": True}], "", actor).public_id

    def sell_again():
        return pos.checkout(cart_id, [{"kind": "cash", "amount": eur(999)}], actor).public_id

    # the return holds its order and the stock row (its second and third locking statements) when the checkout comes
    result = interleave(app, give_back, sell_again, pause_after=3)
    assert result.second_blocked, result.statements
    assert [o.kind for o in result.outcomes] == ["ok", "ok"], result.outcomes
    db.session.rollback()
    assert stock_consistency() == []
    assert pos.expected_cash(pos.get_shift(shift.public_id)) == drawer  # 9.99 refunded out, 9.99 sold in
    assert on_hand("SOK-42") == 1000 - 1 + 1 - 1
