"""Tasks by hand and follow-ups made by the product: wishlist items back in stock, thank-yous after a
purchase; idempotent, and safe when several runs meet on PostgreSQL."""

# ruff: noqa: F811

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

import clienteling
from clienteling import Task
from core import clock, db
from core.errors import InvalidTransition, ValidationError
from tests.concurrency import race

from .outreach_world import make_customer, record, world  # noqa: F401  (fixtures, used as arguments: F811 off in this file)

PERSONAL = {"personalisation": True}


def task_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Task))


def all_tasks() -> list[Task]:
    db.session.expire_all()
    return list(db.session.scalars(select(Task).order_by(Task.id)))


# --- by hand ------------------------------------------------------------------------------------


def test_a_task_made_by_an_associate_is_theirs_at_the_customers_home_store(world, make_customer):
    customer = make_customer()
    task = clienteling.create_task(customer, "  Call about the hemming  ", date(2026, 12, 5), world["ana"].actor)
    db.session.commit()
    assert task.public_id.startswith("tsk_")
    assert (task.assignee_id, task.store.code, task.kind, task.status, task.reason) == (
        world["ana"].id,
        "BER-MITTE",
        "manual",
        "open",
        "Call about the hemming",
    )
    assert task.created_by.is_("staff", world["ana"].id) and task.dedupe_key is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"reason": " "}, "reason"), ({"reason": "x" * 501}, "reason"), ({"store_code": "NOWHERE"}, "store"), ({"assignee": "mia"}, "assignee_id")],
)
def test_a_bad_task_names_the_field_and_is_not_made(world, make_customer, kwargs, field):
    customer = make_customer()
    assignee = world[kwargs.pop("assignee")].id if "assignee" in kwargs else None  # Mia works in Munich, not Berlin
    arguments = {"reason": "Call back", "due_on": date(2026, 12, 5), "actor": world["ana"].actor, "assignee_id": assignee, **kwargs}
    with pytest.raises(ValidationError) as refused:
        clienteling.create_task(customer, **arguments)
    assert field in refused.value.details
    db.session.rollback()
    assert task_count() == 0


def test_completing_twice_is_a_no_op_and_a_done_task_cannot_be_dismissed(world, make_customer):
    task = clienteling.create_task(make_customer(), "Call back", date(2026, 12, 5), world["ana"].actor)
    clienteling.complete_task(task)
    first_done_at = task.done_at
    clienteling.complete_task(task)
    assert task.status == "done" and task.done_at == first_done_at
    with pytest.raises(InvalidTransition):
        clienteling.dismiss_task(task)


def test_my_tasks_are_due_first_and_filtered_by_store_and_status(world, make_customer):
    zoe = make_customer()
    ben = make_customer("Ben Ortiz", email="ben@example.com", phone=None)
    later = clienteling.create_task(zoe, "Later", date(2026, 12, 9), world["ana"].actor)
    soon = clienteling.create_task(ben, "Soon", date(2026, 12, 4), world["ana"].actor)
    same_day = clienteling.create_task(zoe, "Same day, made after", date(2026, 12, 4), world["ana"].actor)
    clienteling.create_task(zoe, "Max's", date(2026, 12, 1), world["max"].actor)
    done = clienteling.create_task(zoe, "Done already", date(2026, 12, 2), world["ana"].actor)
    clienteling.complete_task(done)
    db.session.commit()
    assert [t.reason for t in clienteling.tasks_for(world["ana"])] == [soon.reason, same_day.reason, later.reason]
    assert [t.reason for t in clienteling.tasks_for(world["ana"], "MUC-MAX")] == []
    assert [t.reason for t in clienteling.tasks_for(world["ana"], status="done")] == ["Done already"]
    page = clienteling.tasks_for(world["ana"], limit=1, after=(soon.due_on.isoformat(), soon.id))
    assert [t.reason for t in page] == [same_day.reason]


# --- follow-ups: wishlist items back in stock ---------------------------------------------------------


def test_a_wishlist_item_back_in_stock_at_home_makes_one_task_for_the_preferred_associate(world, make_customer, set_stock):
    zoe = make_customer(consents=PERSONAL, preferred="ana")
    record(zoe, "wishlist_added", days_ago=10, sku="JKT-M")
    assert clienteling.create_follow_ups() == {"wishlist_back_in_stock": 0, "thank_you": 0}, "none of it at Berlin Mitte yet"
    set_stock("BER-MITTE", "JKT-M", 2)
    assert clienteling.create_follow_ups()["wishlist_back_in_stock"] == 1
    db.session.commit()
    assert clienteling.create_follow_ups()["wishlist_back_in_stock"] == 0, "a second run makes none twice"
    db.session.commit()
    [task] = all_tasks()
    assert (task.kind, task.assignee_id, task.store.code, task.customer_id) == ("wishlist_back_in_stock", world["ana"].id, "BER-MITTE", zoe.id)
    assert task.reason == "Trail Jacket (JKT-M) from their wishlist is back in stock at Berlin Mitte"
    assert task.due_on == clienteling.local_today(task.store) and task.created_by.kind == "system"


def test_without_a_preferred_associate_the_stores_manager_gets_it(world, make_customer):
    zoe = make_customer(consents=PERSONAL)
    record(zoe, "wishlist_added", days_ago=1, sku="JKT-L")  # 3 in stock at Berlin Mitte
    clienteling.create_follow_ups()
    db.session.commit()
    assert [t.assignee_id for t in all_tasks()] == [world["max"].id]


def test_a_removed_wishlist_item_or_no_personalisation_consent_makes_no_task(world, make_customer):
    removed = make_customer(consents=PERSONAL)
    record(removed, "wishlist_added", days_ago=3, sku="JKT-L")
    record(removed, "wishlist_removed", days_ago=2, sku="JKT-L")
    private = make_customer("Ben Ortiz", email="ben@example.com", phone=None, consents={"personalisation": False, "email_marketing": True})
    record(private, "wishlist_added", days_ago=1, sku="JKT-L")
    assert clienteling.create_follow_ups()["wishlist_back_in_stock"] == 0
    readded = clienteling.current_wishlists()
    assert removed.id not in readded and set(readded[private.id]) == {"JKT-L"}


def test_stock_held_for_orders_is_not_back_in_stock(world, make_customer):
    import inventory

    zoe = make_customer(consents=PERSONAL)
    record(zoe, "wishlist_added", days_ago=1, sku="JKT-L")
    inventory.reserve("BER-MITTE", [{"sku": "JKT-L", "quantity": 3}], "pickup")
    db.session.commit()
    assert clienteling.create_follow_ups()["wishlist_back_in_stock"] == 0


# --- follow-ups: thank-yous after a purchase -------------------------------------------------------


def test_a_thank_you_is_due_three_days_after_a_store_purchase_with_marketing_consent(world, make_customer):
    zoe = make_customer(consents={"sms_marketing": True}, preferred="max")
    store = db.session.scalar(select(clienteling.Customer).where(clienteling.Customer.id == zoe.id)).home_store
    data = {
        "order_id": "ord_1",
        "lines": [{"sku": "JKT-L", "quantity": 1, "unit_price": {"amount": 12900, "currency": "EUR"}}],
        "total": {"amount": 12900, "currency": "EUR"},
    }
    recent = record(zoe, "purchase_in_store", days_ago=1, channel="store", store_id=store.id, staff_id=world["ana"].id, data=data)
    older = record(zoe, "purchase_in_store", days_ago=3.2, channel="store", store_id=store.id, staff_id=world["ana"].id, data=data)
    record(zoe, "purchase_in_store", days_ago=40, channel="store", store_id=store.id, data=data)  # long ago: no thank-you any more
    assert clienteling.create_follow_ups()["thank_you"] == 1
    assert clienteling.create_follow_ups()["thank_you"] == 0
    db.session.commit()
    [task] = all_tasks()
    assert (task.kind, task.assignee_id, task.dedupe_key) == ("thank_you", world["ana"].id, f"thank_you:{older.event_id}"), (
        "the associate who sold it"
    )
    assert task.reason.startswith("Say thank you for their purchase on ") and task.reason.endswith(" at Berlin Mitte")
    later = clock.now() + timedelta(days=2.5)
    assert clienteling.create_follow_ups(now=later)["thank_you"] == 1, "the recent purchase's turn comes"
    db.session.commit()
    assert {t.dedupe_key for t in all_tasks()} == {f"thank_you:{older.event_id}", f"thank_you:{recent.event_id}"}


def test_no_thank_you_without_email_or_sms_consent_nor_for_an_online_order_without_personalisation(world, make_customer):
    silent = make_customer(consents={"personalisation": True})
    record(silent, "purchase_in_store", days_ago=4, channel="store", store_id=silent.home_store_id)
    online_only = make_customer("Ben Ortiz", email="ben@example.com", phone=None, consents={"email_marketing": True})
    record(
        online_only, "order_placed", days_ago=4, channel="web", data={"order_id": "W-1001", "lines": [], "total": {"amount": 0, "currency": "EUR"}}
    )
    assert clienteling.create_follow_ups()["thank_you"] == 0
    clienteling.record_consent(online_only, "personalisation", True, "web")
    made = clienteling.create_follow_ups()
    db.session.commit()
    assert made["thank_you"] == 1
    [task] = all_tasks()
    assert task.customer_id == online_only.id and task.store.code == "BER-MITTE" and task.assignee_id == world["max"].id
    assert task.reason.startswith("Say thank you for their online order of ")


def test_follow_up_days_come_from_the_settings(world, make_customer, monkeypatch):
    zoe = make_customer(consents={"email_marketing": True})
    record(zoe, "purchase_in_store", days_ago=1.5, channel="store", store_id=zoe.home_store_id)
    assert clienteling.create_follow_ups()["thank_you"] == 0
    monkeypatch.setitem(clienteling.task_settings, "follow_up_days", 1)
    assert clienteling.create_follow_ups()["thank_you"] == 1


def test_the_follow_ups_command_makes_them_and_says_how_many(app, world, make_customer, set_stock):
    zoe = make_customer(consents={**PERSONAL, "email_marketing": True})
    record(zoe, "wishlist_added", days_ago=1, sku="JKT-L")
    record(zoe, "purchase_in_store", days_ago=4, channel="store", store_id=zoe.home_store_id)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["follow-ups"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "follow-ups: 1 wishlist item(s) back in stock, 1 thank-you(s)"
    again = app.test_cli_runner().invoke(args=["follow-ups"])
    assert again.output.strip() == "follow-ups: 0 wishlist item(s) back in stock, 0 thank-you(s)"
    assert task_count() == 2


def test_concurrent_follow_up_runs_make_each_task_once(app, row_locks, world, make_customer):
    customers = []
    for index in range(6):
        customer = make_customer(f"Kunde {index}", email=f"k{index}@example.com", phone=None, consents={**PERSONAL, "email_marketing": True})
        record(customer, "wishlist_added", days_ago=1, sku="JKT-L")
        record(customer, "purchase_in_store", days_ago=4, channel="store", store_id=customer.home_store_id)
        customers.append(customer)
    db.session.remove()
    outcomes = race(app, [clienteling.create_follow_ups] * 4)
    assert [o.kind for o in outcomes] == ["ok"] * 4, outcomes
    made = [o.value for o in outcomes]
    assert sum(m["wishlist_back_in_stock"] for m in made) == 6 and sum(m["thank_you"] for m in made) == 6, made
    tasks = all_tasks()
    assert len(tasks) == 12 and len({t.dedupe_key for t in tasks}) == 12


def test_the_dispatcher_round_runs_follow_ups_and_survives_a_failure(world, make_customer, monkeypatch, caplog):
    import logging

    from web.cli_clienteling import run_follow_ups_quietly

    zoe = make_customer(consents={"email_marketing": True})
    record(zoe, "purchase_in_store", days_ago=4, channel="store", store_id=zoe.home_store_id)
    log = logging.getLogger("shelfside.webhooks")
    run_follow_ups_quietly(log)
    db.session.remove()
    assert task_count() == 1, "committed by the round itself"

    def broken(now=None):
        raise RuntimeError("database went away")

    monkeypatch.setattr(clienteling, "create_follow_ups", broken)
    run_follow_ups_quietly(log)  # logged, not raised: the dispatcher goes on delivering webhooks
    assert "follow-ups failed" in caplog.text
