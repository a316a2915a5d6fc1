"""A customer's data as a whole: merging two profiles of one person, exporting everything stored
about a customer, erasing a customer's personal data while the financial records stay.

All three find the rows that belong to a customer by walking the foreign keys to ``customer.id``
in the metadata, so a table added later (appointments, tasks, messages, feedback, orders) is
moved by a merge and listed by an export without a change here.  What an erasure must remove
from such a table only its module knows: it registers an eraser (``register_eraser``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError

from core import clock
from core.actor import Actor
from core.audit import AuditEntry, record_audit
from core.db import db
from core.errors import InvalidTransition, ValidationError

from .models import ConsentRecord, Customer, CustomerEvent, CustomerIdentity, CustomerNote, ProfileView

ERASED_NAME = "Erased customer"
EXPORT_FORMAT = "shelfside.customer-export/1"

# what an erased customer's timeline keeps in ``data``: references and money, never free text
# (a search query, a comment, a URL, a message subject)
KEPT_DATA_KEYS = {
    "order_id",
    "cart_id",
    "appointment_id",
    "message_id",
    "lines",
    "total",
    "csat",
    "nps",
    "service",
    "starts_at",
    "channel",
    "template",
}
KEPT_LINE_KEYS = {"sku", "quantity", "unit_price", "total", "discount", "tax"}

# the tables this module knows by name (the others are handled generically)
KNOWN_TABLES = {"customer", "customer_identity", "consent_record", "customer_event", "customer_note", "profile_view"}

_erasers: list[Callable[[list[int]], None]] = []


def register_eraser(eraser: Callable[[list[int]], None]) -> Callable[[list[int]], None]:
    """Register ``eraser(customer_ids)``, called by ``erase_customer`` in its transaction with the
    ids of the erased profile and of every profile merged into it: a module whose tables keep
    personal data about a customer (a questionnaire's notes, a message's address) removes it
    there.  Usable as a decorator."""
    if eraser not in _erasers:
        _erasers.append(eraser)
    return eraser


def customer_references() -> list[tuple[Table, object]]:
    """(table, column) of every single-column foreign key to ``customer.id`` in the metadata."""
    target = Customer.__table__.c.id
    found = []
    for table in db.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if len(fk.constraint.elements) == 1 and fk.column is target:
                found.append((table, fk.parent))
    return found


def _lock(*customers: Customer) -> None:
    """Lock the customers' rows in id order (PostgreSQL; SQLite's write transaction holds the whole
    database) and read their state afresh."""
    ids = sorted({customer.id for customer in customers})
    db.session.execute(select(Customer.id).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update())
    for customer in customers:
        db.session.refresh(customer)


# --- merge ----------------------------------------------------------------------------------


def merge_customers(survivor: Customer, duplicate: Customer, actor: Actor) -> Customer:
    """Merge ``duplicate`` into ``survivor``: every row referring to the duplicate (identities,
    timeline events, notes, consent history, profile views, and any table with a foreign key to
    ``customer.id``) moves to the survivor; sizes, preferences and tags the survivor lacks, its
    home store, preferred associate and name (when it has none) are copied; the duplicate
    records ``merged_into_id``, so its public id and loyalty card resolve to the survivor.
    Audited ``customer.merged``.  Both rows are locked in id order first.

    Raises ValidationError (``duplicate_id``) for a merge of a profile into itself, and
    InvalidTransition when either profile is erased or already merged.  A row that cannot move
    because of a unique constraint of its table (the survivor already has its equivalent) stays
    with the duplicate and is counted in the audit entry's ``kept_on_duplicate``.  Flushes."""
    if survivor.id == duplicate.id:
        raise ValidationError("a profile cannot be merged into itself", field="duplicate_id")
    db.session.flush()
    _lock(survivor, duplicate)
    for customer, role in ((survivor, "surviving"), (duplicate, "duplicate")):
        if customer.erased_at is not None:
            raise InvalidTransition(f"the {role} profile {customer.public_id} is erased", {"id": customer.public_id})
        if customer.merged_into_id is not None:
            raise InvalidTransition(f"the {role} profile {customer.public_id} is already merged into another", {"id": customer.public_id})
    _copy_profile(survivor, duplicate)
    db.session.flush()
    moved, kept = {}, {}
    for table, column in customer_references():
        if table.name == "customer":
            condition = (column == duplicate.id) & (table.c.id != survivor.id)  # profiles merged into the duplicate before
        else:
            condition = column == duplicate.id
        count, left = _move_rows(table, column, condition, survivor.id)
        if count:
            moved[f"{table.name}.{column.name}"] = count
        if left:
            kept[f"{table.name}.{column.name}"] = left
    duplicate_id = duplicate.id
    db.session.execute(update(Customer).where(Customer.id == duplicate_id).values(merged_into_id=survivor.id))
    db.session.expire_all()  # collections and rows changed under the ORM
    record_audit(
        "customer.merged",
        actor,
        "customer",
        survivor.public_id,
        {"duplicate": db.session.get(Customer, duplicate_id).public_id, "moved": moved, "kept_on_duplicate": kept},
    )
    return survivor


def _copy_profile(survivor: Customer, duplicate: Customer) -> None:
    survivor.sizes = {**(duplicate.sizes or {}), **(survivor.sizes or {})}
    survivor.preferences = {**(duplicate.preferences or {}), **(survivor.preferences or {})}
    survivor.tags = sorted({*(survivor.tags or []), *(duplicate.tags or [])})
    if survivor.home_store_id is None:
        survivor.home_store_id = duplicate.home_store_id
    if survivor.preferred_associate_id is None:
        survivor.preferred_associate_id = duplicate.preferred_associate_id
    if not survivor.name.strip() and duplicate.name.strip():
        survivor.name = duplicate.name
        survivor.search_name = duplicate.search_name
    if "customer" in (survivor.kind, duplicate.kind) and survivor.name.strip():
        survivor.kind = "customer"


def _move_rows(table: Table, column, condition, survivor_id: int) -> tuple[int, int]:
    """Point ``column`` of the matching rows at the survivor: in one statement, or row by row when
    a unique constraint refuses some (those stay).  Answers (moved, left)."""
    try:
        with db.session.begin_nested():
            result = db.session.execute(update(table).where(condition).values({column.name: survivor_id}))
        return result.rowcount or 0, 0
    except IntegrityError:
        pass
    keys = list(table.primary_key.columns)
    if not keys:
        return 0, db.session.execute(select(table).where(condition)).rowcount or 0
    moved = left = 0
    for row in db.session.execute(select(*keys).where(condition)).all():
        where = [key == value for key, value in zip(keys, row, strict=True)]
        try:
            with db.session.begin_nested():
                db.session.execute(update(table).where(*where).values({column.name: survivor_id}))
            moved += 1
        except IntegrityError:
            left += 1
    return moved, left


# --- export ---------------------------------------------------------------------------------


def export_customer(customer: Customer, actor: Actor) -> dict:
    """Everything stored about ``customer`` as one JSON-ready document: the profile, every
    identity, the whole consent history, every timeline event, the notes, who opened the
    profile, the audit entries about it, the profiles merged into it, and the rows of every
    other table with a foreign key to the customer (under ``other``, by table).  Audited
    ``customer.exported`` (the entry is part of the export).  Flushes."""
    record_audit("customer.exported", actor, "customer", customer.public_id, {})
    cid = customer.id
    merged = list(db.session.scalars(select(Customer).where(Customer.merged_into_id == cid).order_by(Customer.id)))
    subjects = [customer.public_id, *(profile.public_id for profile in merged)]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": clock.isoformat(clock.now()),
        "profile": _profile(customer),
        "identities": [
            {"kind": i.kind, "value": i.value, "created_at": clock.isoformat(i.created_at)}
            for i in db.session.scalars(select(CustomerIdentity).where(CustomerIdentity.customer_id == cid).order_by(CustomerIdentity.id))
        ],
        "consents": [
            {"purpose": r.purpose, "granted": r.granted, "source": r.source, "recorded_at": clock.isoformat(r.recorded_at), "actor": r.actor.ref}
            for r in db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == cid).order_by(ConsentRecord.id))
        ],
        "events": [
            {
                "id": e.event_id,
                "type": e.type,
                "channel": e.channel,
                "occurred_at": clock.isoformat(e.occurred_at),
                "received_at": clock.isoformat(e.received_at),
                "sku": e.sku,
                "store_id": e.store_id,
                "staff_id": e.staff_id,
                "data": e.data or {},
            }
            for e in db.session.scalars(
                select(CustomerEvent).where(CustomerEvent.customer_id == cid).order_by(CustomerEvent.occurred_at, CustomerEvent.id)
            )
        ],
        "notes": [
            {
                "text": n.text,
                "pinned": n.pinned,
                "author": n.author.name if n.author else None,
                "created_at": clock.isoformat(n.created_at),
            }
            for n in db.session.scalars(select(CustomerNote).where(CustomerNote.customer_id == cid).order_by(CustomerNote.id))
        ],
        "profile_views": [
            {"staff": v.staff.name if v.staff else None, "via": v.via, "viewed_at": clock.isoformat(v.viewed_at)}
            for v in db.session.scalars(select(ProfileView).where(ProfileView.customer_id == cid).order_by(ProfileView.id))
        ],
        "merged_profiles": [_profile(profile) for profile in merged],
        "audit": [
            {
                "action": a.action,
                "actor": a.actor_name or a.actor.ref,
                "subject_id": a.subject_id,
                "details": a.details,
                "at": clock.isoformat(a.created_at),
            }
            for a in db.session.scalars(
                select(AuditEntry).where(AuditEntry.subject_type == "customer", AuditEntry.subject_id.in_(subjects)).order_by(AuditEntry.id)
            )
        ],
        "other": _other_rows(cid),
    }


def _profile(customer: Customer) -> dict:
    return {
        "id": customer.public_id,
        "kind": customer.kind,
        "name": customer.name,
        "loyalty_code": customer.loyalty_code,
        "home_store": customer.home_store.code if customer.home_store else None,
        "preferred_associate": customer.preferred_associate.name if customer.preferred_associate else None,
        "sizes": customer.sizes or {},
        "preferences": customer.preferences or {},
        "tags": customer.tags or [],
        "created_at": clock.isoformat(customer.created_at),
        "updated_at": clock.isoformat(customer.updated_at),
        "erased_at": clock.isoformat(customer.erased_at),
    }


def _other_rows(customer_id: int) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for table, column in customer_references():
        if table.name in KNOWN_TABLES:
            continue
        rows = db.session.execute(select(table).where(column == customer_id).order_by(*table.primary_key.columns)).mappings().all()
        if rows:
            found.setdefault(table.name, []).extend({key: _plain(value) for key, value in row.items()} for row in rows)
    return found


def _plain(value):
    """A column value as JSON: times in ISO 8601, decimals and ids as strings, bytes left out."""
    if isinstance(value, dt.datetime):
        return clock.isoformat(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    return value


# --- erase ----------------------------------------------------------------------------------


def erase_customer(customer: Customer, actor: Actor) -> Customer:
    """Erase ``customer``'s personal data, and that of every profile merged into it: identities
    (email, phone, loyalty card, external id) deleted, the name replaced by "Erased customer",
    sizes, preferences, tags, home store, preferred associate and search name cleared, notes and
    consent history deleted; timeline events keep their type, channel, time, SKU, store and
    staff and, in ``data``, only references and money (order and cart ids, lines, totals,
    scores), never free text; modules' erasers (``register_eraser``) run.  Financial records
    stay, attached to the anonymous profile.  The profile is no longer found by name, email,
    phone or card.  The log of who opened the profile and the audit log stay (they record staff
    actions, with no personal data).  Audited ``customer.erased``.

    Idempotent: erasing an erased profile changes nothing and answers it as it is.  Raises
    InvalidTransition for a profile merged into another (erase the survivor).  Locks the row."""
    if customer.erased_at is not None:
        return customer
    db.session.flush()
    _lock(customer)
    if customer.erased_at is not None:
        return customer
    if customer.merged_into_id is not None:
        raise InvalidTransition(f"{customer.public_id} is merged into another profile: erase that one", {"id": customer.public_id})
    profiles = _with_merged(customer)
    ids = [profile.id for profile in profiles]
    now = clock.now()
    db.session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id.in_(ids)))
    notes = db.session.execute(delete(CustomerNote).where(CustomerNote.customer_id.in_(ids))).rowcount
    db.session.execute(delete(ConsentRecord).where(ConsentRecord.customer_id.in_(ids)))
    db.session.execute(
        update(Customer)
        .where(Customer.id.in_(ids))
        .values(
            name=ERASED_NAME,
            search_name="",
            sizes={},
            preferences={},
            tags=[],
            loyalty_code=None,
            home_store_id=None,
            preferred_associate_id=None,
            erased_at=now,
            updated_at=now,
        )
    )
    events = _deidentify_events(ids)
    for eraser in list(_erasers):
        eraser(ids)
    db.session.expire_all()
    record_audit("customer.erased", actor, "customer", customer.public_id, {"profiles": len(ids), "notes_deleted": notes, "events_kept": events})
    return customer


def _with_merged(customer: Customer) -> list[Customer]:
    """The customer and every profile merged into it, directly or through another."""
    found, frontier = [customer], [customer.id]
    while frontier:
        more = list(db.session.scalars(select(Customer).where(Customer.merged_into_id.in_(frontier))))
        found.extend(more)
        frontier = [profile.id for profile in more]
    return found


def _deidentify_events(customer_ids: list[int]) -> int:
    rows = db.session.execute(select(CustomerEvent.id, CustomerEvent.data).where(CustomerEvent.customer_id.in_(customer_ids))).all()
    changes = []
    for event_id, data in rows:
        kept = _kept_data(data or {})
        if kept != (data or {}):
            changes.append({"id": event_id, "data": kept})
    for start in range(0, len(changes), 1000):
        db.session.execute(update(CustomerEvent), changes[start : start + 1000])
    return len(rows)


def _kept_data(data: dict) -> dict:
    kept = {}
    for key, value in data.items():
        if key not in KEPT_DATA_KEYS:
            continue
        if key == "lines" and isinstance(value, list):
            value = [{k: v for k, v in line.items() if k in KEPT_LINE_KEYS} for line in value if isinstance(line, dict)]
        kept[key] = value
    return kept


# --- the logs admins read ---------------------------------------------------------------------


def profile_view_page(
    customer: Customer | None = None, before_id: int | None = None, limit: int = 100
) -> tuple[list[tuple[ProfileView, str]], int | None]:
    """Who opened which profile, newest first: (view, the customer's public id) pairs, of one
    customer or of all, keyset-paged on the view id; answers the page and the next page's cursor."""
    query = select(ProfileView, Customer.public_id).join(Customer, Customer.id == ProfileView.customer_id)
    if customer is not None:
        query = query.where(ProfileView.customer_id == customer.id)
    if before_id is not None:
        query = query.where(ProfileView.id < before_id)
    rows = [tuple(row) for row in db.session.execute(query.order_by(ProfileView.id.desc()).limit(limit + 1))]
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1][0].id
    return rows, None


def audit_page(
    subject_type: str | None = None, subject_id: str | None = None, action: str | None = None, before_id: int | None = None, limit: int = 100
) -> tuple[list[AuditEntry], int | None]:
    """The audit log, newest first, optionally of one subject or one action, keyset-paged on the
    entry id; answers the page and the next page's cursor."""
    query = select(AuditEntry)
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEntry.subject_id == subject_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = list(db.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


@register_eraser
def _erase_messages_feedback_and_questionnaires(customer_ids: list[int]) -> None:
    """What this package's other tables keep about a person: the address and text of each message
    sent to them, their feedback comments (scores stay: they are the store's figures), and the
    free text of their appointment questionnaires (occasion and notes; sizes, budget and SKUs stay
    as the appointment's facts, no longer tied to a person)."""
    from .appointment_models import Appointment
    from .outreach_models import Feedback, Message

    db.session.execute(update(Message).where(Message.customer_id.in_(customer_ids)).values(to_address="", subject="", body=""))
    db.session.execute(update(Feedback).where(Feedback.customer_id.in_(customer_ids)).values(comment=""))
    for appointment in db.session.scalars(select(Appointment).where(Appointment.customer_id.in_(customer_ids))):
        answers = dict(appointment.questionnaire or {})
        answers.pop("occasion", None)
        answers.pop("notes", None)
        appointment.questionnaire = answers
    db.session.flush()
