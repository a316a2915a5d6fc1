"""Tasks and follow-ups: the to-dos of an associate's client book.

Associates make tasks by hand (``create_task``); the product makes two kinds itself
(``create_follow_ups``, run by ``flask --app web follow-ups`` and by the outbox dispatcher's loop):

* ``wishlist_back_in_stock``: an item on a customer's wishlist (added online and not removed since)
  is available at their home store now.  Only for customers who agreed to ``personalisation``:
  without it staff see none of their online activity, a wishlist included.
* ``thank_you``: ``follow_up_days`` after a purchase (``purchase_in_store``, or an online
  ``order_placed`` — that one only with ``personalisation``), when the customer agreed to be
  contacted by email or SMS (``email_marketing`` or ``sms_marketing``).

Each automatic task carries a unique ``dedupe_key`` and is inserted with ``ON CONFLICT DO
NOTHING``: a second run, or two runs at once in different processes, make each task once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, or_, select

import inventory
from accounts import Staff, staff_store
from core import clock
from core.actor import SYSTEM, Actor
from core.db import db, upsert_insert
from core.errors import InvalidTransition, NotFound, ValidationError
from core.outbox import new_id
from inventory import Location

from .customers import has_consent, optional_store
from .models import Customer, CustomerEvent
from .outreach_models import TASK_KINDS, TASK_STATUSES, Task
from .timeline import ONLINE_CHANNELS

# set by the composition root from its configuration (FOLLOW_UP_DAYS)
settings = {"follow_up_days": 3}

MAX_REASON = 500
PURCHASE_TYPES = ("order_placed", "purchase_in_store")
THANK_YOU_WINDOW_DAYS = 7  # a purchase older than follow_up_days + this gets no thank-you any more (a first run on old data)


def find_task(public_id: str) -> Task:
    task = db.session.scalar(select(Task).where(Task.public_id == public_id))
    if task is None:
        raise NotFound(f"no task {public_id}", {"id": public_id})
    return task


def _store(code: str | None) -> Location | None:
    return optional_store(code, "store")


def _local(moment: datetime, store: Location | None) -> datetime:
    try:
        zone = ZoneInfo(store.timezone) if store is not None and store.timezone else ZoneInfo("UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone)


def local_today(store: Location | None, now: datetime | None = None) -> date:
    """The date at ``store`` (its time zone) at ``now``."""
    return _local(now or clock.now(), store).date()


def create_task(
    customer: Customer,
    reason: str,
    due_on: date,
    actor: Actor,
    assignee_id: int | None = None,
    store_code: str | None = None,
    kind: str = "manual",
) -> Task:
    """A to-do for ``assignee_id`` (default: the staff member who makes it, else the customer's
    preferred associate) about ``customer``, at ``store_code`` (default: the customer's home store).
    Raises ValidationError naming the field: empty or long ``reason``, unknown ``store``, an
    ``assignee_id`` who is no active staff member of that store.  Flushes."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a task needs a reason", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"a reason has at most {MAX_REASON} characters", field="reason")
    if kind not in TASK_KINDS:
        raise ValidationError(f"a task kind is one of {', '.join(TASK_KINDS)}", field="kind")
    if not isinstance(due_on, date):
        raise ValidationError("a due date is YYYY-MM-DD", field="due_on")
    if not customer.active:
        raise NotFound("no such customer", {"id": customer.public_id})
    store = _store(store_code) if store_code else customer.home_store
    if assignee_id is None:
        assignee_id = actor.id if actor.kind == "staff" else customer.preferred_associate_id
    if assignee_id is not None:
        assignee = db.session.get(Staff, assignee_id)
        if assignee is None or not assignee.active:
            raise ValidationError(f"no active staff member {assignee_id}", field="assignee_id")
        if store is not None and assignee.role != "admin" and not any(s.id == store.id for s in assignee.stores):
            raise ValidationError(f"{assignee.name} doesn't work at {store.code}", field="assignee_id")
    task = Task(
        public_id=new_id("tsk"),
        customer_id=customer.id,
        assignee_id=assignee_id,
        store_id=store.id if store else None,
        kind=kind,
        reason=reason,
        due_on=due_on,
        status="open",
        **actor.columns(),
    )
    db.session.add(task)
    db.session.flush()
    return task


def _close(task: Task, status: str) -> Task:
    if task.status == status:
        return task  # a retry (a double tap) changes nothing
    if task.status != "open":
        raise InvalidTransition(f"the task is already {task.status}", {"status": task.status})
    task.status = status
    task.done_at = clock.now()
    db.session.flush()
    return task


def complete_task(task: Task, actor: Actor = SYSTEM) -> Task:
    """Mark an open task done (again: nothing changes).  Raises InvalidTransition for a dismissed one."""
    return _close(task, "done")


def dismiss_task(task: Task, actor: Actor = SYSTEM) -> Task:
    """Dismiss an open task (again: nothing changes).  Raises InvalidTransition for a done one."""
    return _close(task, "dismissed")


def tasks_for(staff, store=None, status: str | None = "open", limit: int = 100, after: tuple[str, int] | None = None) -> list[Task]:
    """The tasks assigned to ``staff`` (a Staff or its id), at ``store`` (a Location or code; None:
    every store), with ``status`` (None: any), due first: by due date, then oldest first.
    ``after`` is the (due_on ISO date, id) of the last task of the previous page."""
    staff_id = staff if isinstance(staff, int) else staff.id
    if status is not None and status not in TASK_STATUSES:
        raise ValidationError(f"a task status is one of {', '.join(TASK_STATUSES)}", field="status")
    query = select(Task).join(Customer, Customer.id == Task.customer_id).where(Task.assignee_id == staff_id, Customer.erased_at.is_(None))
    if status is not None:
        query = query.where(Task.status == status)
    if store is not None:
        location = _store(store) if isinstance(store, str) else store
        query = query.where(Task.store_id == location.id)
    if after is not None:
        due, last_id = date.fromisoformat(after[0]), int(after[1])
        query = query.where(or_(Task.due_on > due, and_(Task.due_on == due, Task.id > last_id)))
    return list(db.session.scalars(query.order_by(Task.due_on, Task.id).limit(limit)))


# --- automatic follow-ups ----------------------------------------------------------------------


def store_contact(store: Location, *preferred_ids: int | None) -> int | None:
    """Who gets an automatic task at ``store``: the first of ``preferred_ids`` (the associate who
    made the sale, the customer's preferred associate) who is active and works there, else the
    store's first active manager, else its first active associate (by id)."""
    members = select(staff_store.c.staff_id).where(staff_store.c.location_id == store.id)
    for preferred_id in preferred_ids:
        if preferred_id is None:
            continue
        found = db.session.scalar(select(Staff.id).where(Staff.id == preferred_id, Staff.active.is_(True), Staff.id.in_(members)))
        if found is not None:
            return found
    order = case((Staff.role == "manager", 0), (Staff.role == "associate", 1), else_=2)
    return db.session.scalar(
        select(Staff.id)
        .where(Staff.active.is_(True), Staff.role.in_(("manager", "associate")), Staff.id.in_(members))
        .order_by(order, Staff.id)
        .limit(1)
    )


def _insert(values: dict) -> bool:
    """Insert an automatic task unless its dedupe key exists (also one a concurrent run is
    inserting: the unique index makes this one wait for that one, then do nothing)."""
    table = Task.__table__
    statement = upsert_insert(table).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    return db.session.execute(statement).scalar() is not None


def _task_values(
    customer_id: int, assignee_id: int | None, store: Location, kind: str, reason: str, due_on: date, dedupe_key: str, now: datetime
) -> dict:
    return {
        "public_id": new_id("tsk"),
        "customer_id": customer_id,
        "assignee_id": assignee_id,
        "store_id": store.id,
        "kind": kind,
        "reason": reason[:MAX_REASON],
        "due_on": due_on,
        "status": "open",
        "dedupe_key": dedupe_key,
        "created_at": now,
        "actor_kind": "system",
        "actor_id": None,
    }


def current_wishlists(customer_ids: list[int] | None = None) -> dict[int, dict[str, CustomerEvent]]:
    """Per customer, the SKUs on their wishlist now and the ``wishlist_added`` event that put each
    there: the newest wishlist event per (customer, sku) is an add."""
    query = select(CustomerEvent).where(CustomerEvent.type.in_(("wishlist_added", "wishlist_removed")), CustomerEvent.sku.is_not(None))
    if customer_ids is not None:
        query = query.where(CustomerEvent.customer_id.in_(customer_ids))
    latest: dict[tuple[int, str], CustomerEvent] = {}
    for event in db.session.scalars(query.order_by(CustomerEvent.occurred_at, CustomerEvent.id)):
        latest[(event.customer_id, event.sku)] = event
    wishlists: dict[int, dict[str, CustomerEvent]] = {}
    for (customer_id, sku), event in latest.items():
        if event.type == "wishlist_added":
            wishlists.setdefault(customer_id, {})[sku] = event
    return wishlists


def _wishlist_follow_ups(now: datetime) -> int:
    customers = {
        c.id: c
        for c in db.session.scalars(
            select(Customer).where(
                Customer.kind == "customer",
                Customer.merged_into_id.is_(None),
                Customer.erased_at.is_(None),
                Customer.home_store_id.is_not(None),
                Customer.id.in_(select(CustomerEvent.customer_id).where(CustomerEvent.type == "wishlist_added")),
            )
        )
    }
    wishlists = current_wishlists(list(customers)) if customers else {}
    by_store: dict[int, list[tuple[Customer, str, CustomerEvent]]] = {}
    for customer_id, items in wishlists.items():
        customer = customers[customer_id]
        if not has_consent(customer, "personalisation"):
            continue  # their online activity, a wishlist included, is not shown to staff
        for sku, event in items.items():
            by_store.setdefault(customer.home_store_id, []).append((customer, sku, event))
    created = 0
    for store_id, wanted in by_store.items():
        store = db.session.get(Location, store_id)
        if store is None or not store.active or store.kind != "store":
            continue
        skus = sorted({sku for _, sku, _ in wanted})
        items, _unknown = inventory.availability(skus, store.code)
        available = {item["sku"] for item in items if item["available"] > 0}
        for customer, sku, event in wanted:
            if sku not in available:
                continue
            variant = inventory.find_variant_by_sku(sku)
            title = variant.product.title if variant is not None else sku
            reason = f"{title} ({sku}) from their wishlist is back in stock at {store.name}"
            key = f"wishlist:{customer.id}:{sku}:{event.id}"
            values = _task_values(
                customer.id,
                store_contact(store, customer.preferred_associate_id),
                store,
                "wishlist_back_in_stock",
                reason,
                local_today(store, now),
                key,
                now,
            )
            created += _insert(values)
    return created


def _thank_you_follow_ups(now: datetime) -> int:
    days = int(settings["follow_up_days"])
    newest, oldest = now - timedelta(days=days), now - timedelta(days=days + THANK_YOU_WINDOW_DAYS)
    events = db.session.execute(
        select(CustomerEvent, Customer)
        .join(Customer, Customer.id == CustomerEvent.customer_id)
        .where(
            CustomerEvent.type.in_(PURCHASE_TYPES),
            CustomerEvent.occurred_at <= newest,
            CustomerEvent.occurred_at > oldest,
            Customer.kind == "customer",
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
        )
        .order_by(CustomerEvent.occurred_at, CustomerEvent.id)
    ).all()
    created = 0
    for event, customer in events:
        if not (has_consent(customer, "email_marketing") or has_consent(customer, "sms_marketing")):
            continue
        if event.channel in ONLINE_CHANNELS and not has_consent(customer, "personalisation"):
            continue
        store = db.session.get(Location, event.store_id) if event.store_id else customer.home_store
        if store is None or store.kind != "store" or not store.active:
            continue  # an online order from someone without a home store: no store to follow it up
        assignee = store_contact(store, event.staff_id, customer.preferred_associate_id)
        day = _local(event.occurred_at, store)
        when = f"{day.day} {day:%b}"
        if event.type == "purchase_in_store":
            reason = f"Say thank you for their purchase on {when} at {store.name}"
        else:
            reason = f"Say thank you for their online order of {when}"
        values = _task_values(customer.id, assignee, store, "thank_you", reason, local_today(store, now), f"thank_you:{event.event_id}", now)
        created += _insert(values)
    return created


def create_follow_ups(now: datetime | None = None) -> dict[str, int]:
    """Make the automatic tasks due at ``now`` (default: the current time): wishlist items back in
    stock at the customer's home store, and thank-yous ``follow_up_days`` after a purchase.  Answers
    how many of each were made.  Idempotent and safe to run concurrently (``dedupe_key``); runs in
    the caller's transaction (which commits)."""
    now = now or clock.now()
    return {"wishlist_back_in_stock": _wishlist_follow_ups(now), "thank_you": _thank_you_follow_ups(now)}


def tasks_about(customer: Customer, status: str | None = "open", limit: int = 50) -> list[Task]:
    """The tasks about one customer (every assignee), due first."""
    query = select(Task).where(Task.customer_id == customer.id)
    if status:
        query = query.where(Task.status == status)
    return list(db.session.scalars(query.order_by(Task.due_on, Task.id).limit(limit)))
