"""The e-commerce site's customer events, ingested in batches (``POST /api/v1/events``).

A batch of up to 1,000 events is validated event by event (an invalid one is rejected on its own,
with its index and the field at fault), then written in bulk: one query resolves every identity the
batch names, leads are created in bulk for unknown emails, phones and external ids, SKUs are resolved
to variants in one query, and the events go in with one multi-row ``INSERT … ON CONFLICT (event_id)
DO NOTHING RETURNING``.  An event id seen before is a duplicate, never a second timeline entry —
exactly, also when the same batch is retried concurrently on PostgreSQL: the unique index makes the
second writer wait for the first and skip what it inserted.

Purchase lines (``order_placed`` here, ``purchase_in_store`` through ``record_activity``) are also
kept one row per line in ``purchased_item``, which is what "often bought together" is computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, JSON, ForeignKey, Index, String, Text, and_, any_, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from core import clock
from core.actor import Actor
from core.db import db, is_postgresql, upsert_insert
from core.errors import ValidationError
from core.outbox import new_id
from inventory import Variant

from .customers import new_loyalty_code, normalise_email, normalise_phone
from .models import CHANNELS, Customer, CustomerEvent, CustomerIdentity

MAX_EVENTS = 1000
MAX_LINES = 500
MAX_DATA_BYTES = 16 * 1024
EVENT_TYPES = (
    "product_viewed",
    "product_searched",
    "wishlist_added",
    "wishlist_removed",
    "cart_updated",
    "cart_abandoned",
    "order_placed",
    "order_returned",
    "message_received",
    "feedback_given",
)
# the product's own, store-side entries (record_activity); with EVENT_TYPES, what a timeline may hold
STORE_EVENT_TYPES = (
    "appointment_booked",
    "appointment_checked_in",
    "appointment_completed",
    "appointment_no_show",
    "appointment_cancelled",
    "message_sent",
    "purchase_in_store",
    "return_in_store",
    "pickup_collected",
    "pickup_refused",
)
TIMELINE_TYPES = EVENT_TYPES + STORE_EVENT_TYPES
# the types whose lines are purchases: what "often bought together" counts
PURCHASE_TYPES = ("order_placed", "purchase_in_store")
EVENT_FIELDS = ("id", "type", "occurred_at", "customer", "channel", "sku", "data")
CUSTOMER_FIELDS = ("email", "phone", "external_id")
# which identity decides the customer when an event names several: the e-commerce id, then email, then phone
IDENTITY_ORDER = (("external_id", "external"), ("email", "email"), ("phone", "phone"))
FUTURE_TOLERANCE = timedelta(days=1)


class PurchasedItem(db.Model):
    """One line of a purchase on the timeline (an online order or a sale in store): the product it
    was, for "often bought together".  The customer is the event's (so a merge moves it too)."""

    __tablename__ = "purchased_item"
    __table_args__ = (Index("ix_purchased_item_product_event", "product_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("customer_event.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(default=1)


class _Invalid(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class _Event:
    index: int
    event_id: str
    type: str
    occurred_at: datetime
    channel: str
    sku: str | None
    data: dict
    identities: list[tuple[str, str]]  # (kind, normalised value), in IDENTITY_ORDER
    data_json: str = "{}"  # data as JSON text (measured once, sent as is on PostgreSQL)
    customer_key: tuple | None = None
    skus: list[str] = field(default_factory=list)  # every SKU it names (the event's and its lines')


# --- validation ----------------------------------------------------------------------------


def _text(value, where: str, max_length: int, required: bool = True, ids: bool = False) -> str | None:
    """A trimmed string; ``ids``: an integer is taken too (an order or cart number), as its digits."""
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int) if ids else str):
        raise _Invalid(where, "must be a string")
    text = str(value).strip()
    if not text:
        if not required:
            return None
        raise _Invalid(where, "must not be empty")
    if len(text) > max_length:
        raise _Invalid(where, f"at most {max_length} characters")
    return text


def _integer(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(where, "must be an integer")
    if not low <= value <= high:
        raise _Invalid(where, f"must be between {low} and {high}")
    return value


def _money(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(where, 'must be Money: {"amount": <int minor units>, "currency": "EUR"}')
    extra = set(value) - {"amount", "currency"}
    if extra:
        raise _Invalid(f"{where}.{sorted(extra)[0]}", "unknown field (Money is amount and currency)")
    amount = value.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise _Invalid(f"{where}.amount", "must be an integer of minor units (1290 for 12.90)")
    if not 0 <= amount <= 10**12:
        raise _Invalid(f"{where}.amount", "must be between 0 and 10^12")
    currency = value.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isalpha() and currency.isupper()):
        raise _Invalid(f"{where}.currency", "a three-letter ISO 4217 code in capitals, like EUR")
    return {"amount": amount, "currency": currency}


def _lines(value, where: str, *, price: str, min_quantity: int, allow_empty: bool) -> list[dict]:
    """price: "required", "optional" or "none" (unit_price on each line)."""
    if not isinstance(value, list):
        raise _Invalid(where, "must be a list of lines")
    if not value and not allow_empty:
        raise _Invalid(where, "needs at least one line")
    if len(value) > MAX_LINES:
        raise _Invalid(where, f"at most {MAX_LINES} lines")
    lines = []
    for number, line in enumerate(value):
        at = f"{where}.{number}"
        if not isinstance(line, dict):
            raise _Invalid(at, "a line is an object with sku and quantity")
        out = dict(line)
        out["sku"] = _text(line.get("sku"), f"{at}.sku", 100, ids=True)
        if "quantity" not in line:
            raise _Invalid(f"{at}.quantity", "is required")
        out["quantity"] = _integer(line["quantity"], f"{at}.quantity", min_quantity, 100_000)
        if price == "required" or (price == "optional" and line.get("unit_price") is not None):
            if "unit_price" not in line:
                raise _Invalid(f"{at}.unit_price", "is required (Money)")
            out["unit_price"] = _money(line["unit_price"], f"{at}.unit_price")
        lines.append(out)
    return lines


def _data(type: str, data: dict, sku: str | None) -> dict:
    """The event's data checked against its type's shape (see the module docstring of the timeline);
    fields beyond the shape are kept as sent."""
    out = dict(data)
    if type in ("product_viewed", "wishlist_added", "wishlist_removed"):
        if sku is None:
            raise _Invalid("sku", f"a {type} event names the product's sku")
        if "url" in data:
            out["url"] = _text(data["url"], "data.url", 2000)
    elif type == "product_searched":
        if "query" not in data:
            raise _Invalid("data.query", "is required (what the customer searched for)")
        out["query"] = _text(data["query"], "data.query", 500)
    elif type in ("cart_updated", "cart_abandoned"):
        if "cart_id" not in data:
            raise _Invalid("data.cart_id", "is required")
        out["cart_id"] = _text(data["cart_id"], "data.cart_id", 100, ids=True)
        if type == "cart_updated":
            if "lines" not in data:
                raise _Invalid("data.lines", "is required (the cart's lines, empty for an emptied cart)")
            out["lines"] = _lines(data["lines"], "data.lines", price="optional", min_quantity=0, allow_empty=True)
            if data.get("total") is not None:
                out["total"] = _money(data["total"], "data.total")
    elif type in ("order_placed", "order_returned"):
        if "order_id" not in data:
            raise _Invalid("data.order_id", "is required")
        out["order_id"] = _text(data["order_id"], "data.order_id", 100, ids=True)
        if "lines" not in data:
            raise _Invalid("data.lines", "is required")
        price = "required" if type == "order_placed" else "optional"
        out["lines"] = _lines(data["lines"], "data.lines", price=price, min_quantity=1, allow_empty=False)
        if "total" not in data:
            raise _Invalid("data.total", "is required (Money)" + (" refunded" if type == "order_returned" else ""))
        out["total"] = _money(data["total"], "data.total")
    elif type == "message_received":
        for name in ("message_id", "subject", "text", "channel"):
            if name in data:
                out[name] = _text(data[name], f"data.{name}", 10_000 if name == "text" else 200, ids=name == "message_id")
        if not out.get("text") and not out.get("subject"):
            raise _Invalid("data.text", "a message_received event carries its text or subject")
    elif type == "feedback_given":
        if data.get("csat") is not None:
            out["csat"] = _integer(data["csat"], "data.csat", 1, 5)
        if data.get("nps") is not None:
            out["nps"] = _integer(data["nps"], "data.nps", 0, 10)
        if data.get("comment") is not None:
            out["comment"] = _text(data["comment"], "data.comment", 2000)
        if data.get("appointment_id") is not None:
            out["appointment_id"] = _text(data["appointment_id"], "data.appointment_id", 100, ids=True)
        if out.get("csat") is None and out.get("nps") is None and not out.get("comment"):
            raise _Invalid("data.csat", "feedback carries a csat (1–5), an nps (0–10) or a comment")
    return out


def _identities(customer) -> list[tuple[str, str]]:
    if not isinstance(customer, dict):
        raise _Invalid("customer", "must be an object with email, phone or external_id")
    extra = set(customer) - set(CUSTOMER_FIELDS)
    if extra:
        raise _Invalid(f"customer.{sorted(extra)[0]}", "unknown field (use email, phone or external_id)")
    found = []
    for name, kind in IDENTITY_ORDER:
        value = customer.get(name)
        if value is None:
            continue
        where = f"customer.{name}"
        if kind == "external":
            found.append((kind, _text(value, where, 320, ids=True)))
            continue
        if not isinstance(value, str):
            raise _Invalid(where, "must be a string")
        try:
            found.append((kind, normalise_email(value) if kind == "email" else normalise_phone(value)))
        except ValidationError as error:
            raise _Invalid(where, error.message) from None
    if not found:
        raise _Invalid("customer", "needs an email, a phone or an external_id")
    return found


def _occurred_at(value, now: datetime) -> datetime:
    if not isinstance(value, str):
        raise _Invalid("occurred_at", "must be an ISO 8601 time with an offset, like 2024-11-12T14:03:00+01:00")
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid("occurred_at", "not an ISO 8601 time (like 2024-11-12T14:03:00+01:00)") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _Invalid("occurred_at", "needs an offset (like +01:00 or Z)")
    if at - now > FUTURE_TOLERANCE:
        raise _Invalid("occurred_at", "is more than a day in the future")
    return at


def parse_event(index: int, raw, now: datetime | None = None) -> _Event:
    """One event checked and normalised; raises ValidationError naming ``events.<index>.<field>``."""
    try:
        return _parse(index, raw, now or clock.now())
    except _Invalid as error:
        where = f"events.{index}" + (f".{error.field}" if error.field else "")
        raise ValidationError(f"{where}: {error.message}", field=where) from None


def _parse(index: int, raw, now: datetime) -> _Event:
    if not isinstance(raw, dict):
        raise _Invalid("", "an event is an object with id, type, occurred_at and customer")
    extra = set(raw) - set(EVENT_FIELDS)
    if extra:
        raise _Invalid(sorted(extra)[0], f"unknown field (an event has {', '.join(EVENT_FIELDS)})")
    for name in ("id", "type", "occurred_at", "customer"):
        if raw.get(name) is None:
            raise _Invalid(name, "is required")
    event_id = _text(raw["id"], "id", 100, ids=True)
    type = raw["type"]
    if type not in EVENT_TYPES:
        raise _Invalid("type", f"unknown event type; one of {', '.join(EVENT_TYPES)}")
    occurred_at = _occurred_at(raw["occurred_at"], now)
    identities = _identities(raw["customer"])
    channel = raw.get("channel")
    if channel is None:
        channel = "web"
    elif channel not in CHANNELS:
        raise _Invalid("channel", f"one of {', '.join(CHANNELS)}")
    sku = _text(raw.get("sku"), "sku", 100, required=False, ids=True)
    data = raw.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, dict):
        raise _Invalid("data", "must be an object")
    data = _data(type, data, sku)
    data_json = json.dumps(data, separators=(",", ":")) if data else "{}"
    if len(data_json) > MAX_DATA_BYTES:
        raise _Invalid("data", f"at most {MAX_DATA_BYTES // 1024} KB")
    skus = ([sku] if sku else []) + [line["sku"] for line in data.get("lines", ())]
    return _Event(index, event_id, type, occurred_at, channel, sku, data, identities, data_json=data_json, skus=skus)


# --- bulk statements -----------------------------------------------------------------------
#
# On PostgreSQL a batch travels as one array per column, unnested server-side: the SQL text is the
# same for every batch (psycopg caches its parsing and prepares it) instead of a 1,000-row VALUES
# list to build, send and parse each time.  SQLite takes the same rows through executemany (which
# SQLAlchemy turns into multi-row INSERTs).


def _array(values: list, type_):
    return cast(bindparam(None, values, type_=ARRAY(type_)), ARRAY(type_))


def _among(column, values):
    """``column IN values``: one array parameter on PostgreSQL."""
    values = list(values)
    if is_postgresql():
        return column == any_(_array(values, column.type))
    return column.in_(values)


def _insert_rows(table, rows: list[dict], conflict=None, returning=(), json_texts: dict | None = None):
    """INSERT the rows (``conflict``: None, "any" or the unique columns to DO NOTHING on) RETURNING
    ``returning``; answers the returned rows.  ``json_texts``: a JSON column's values already
    serialised, one per row (used on PostgreSQL)."""
    if not rows:
        return []
    columns = list(rows[0])
    if is_postgresql():
        from sqlalchemy.dialects import postgresql

        def values(name):
            if not isinstance(table.c[name].type, JSON):
                return _array([row[name] for row in rows], table.c[name].type)
            texts = (json_texts or {}).get(name) or [json.dumps(row[name]) for row in rows]
            return _array(texts, Text)

        source = func.unnest(*(values(name) for name in columns)).table_valued(*columns).render_derived()
        chosen = select(*(cast(source.c[name], table.c[name].type) if isinstance(table.c[name].type, JSON) else source.c[name] for name in columns))
        statement = postgresql.insert(table).from_select(columns, chosen)
        many = False
    else:
        statement = upsert_insert(table)
        many = True
    if conflict == "any":
        statement = statement.on_conflict_do_nothing()
    elif conflict:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    result = db.session.execute(statement, rows) if many else db.session.execute(statement)
    return result.all() if returning else []


# --- ingestion -----------------------------------------------------------------------------


def ingest_events(events: list[dict], actor: Actor) -> dict:
    """Write a batch of the e-commerce site's events to their customers' timelines.

    Answers ``{"accepted", "duplicates", "rejected": [{"index", "error"}]}``: an invalid event is
    rejected on its own (``error`` names ``events.<index>.<field>``), the others are written.  An
    event id stored before (or earlier in the batch) is counted as a duplicate and written nowhere,
    exactly, under any concurrency.  An unknown email, phone or external id becomes a lead; an event
    naming several identities attaches the unknown ones to its customer; a merged profile's events
    land on the survivor; an erased profile's are rejected.  Raises ValidationError on ``events``
    when the batch is not a list of at most 1,000.  Flushes nothing through the ORM: it writes with
    Core statements in the session's transaction (the caller commits)."""
    if not isinstance(events, list):
        raise ValidationError("events must be a list", field="events")
    if len(events) > MAX_EVENTS:
        raise ValidationError(f"at most {MAX_EVENTS} events per batch (got {len(events)})", field="events")
    now = clock.now()
    rejected: list[dict] = []
    parsed: list[_Event] = []
    for index, raw in enumerate(events):
        try:
            parsed.append(_parse(index, raw, now))
        except _Invalid as error:
            where = f"events.{index}" + (f".{error.field}" if error.field else "")
            rejected.append({"index": index, "error": f"{where}: {error.message}"})
    if not parsed:
        return {"accepted": 0, "duplicates": 0, "rejected": rejected}

    kept = _assign_customers(parsed, rejected)
    variants = _variants({sku for event in kept for sku in event.skus})
    inserted = _insert_events(kept, variants, actor, now)
    rejected.sort(key=lambda item: item["index"])
    return {"accepted": len(inserted), "duplicates": len(kept) - len(inserted), "rejected": rejected}


def _assign_customers(events: list[_Event], rejected: list[dict]) -> list[_Event]:
    """Give every event its customer id (creating leads in bulk); answers the events kept (an
    erased customer's are moved to ``rejected``)."""
    wanted = {pair for event in events for pair in event.identities}
    owners = _owners(wanted)
    states = _customer_states(set(owners.values()))
    erased = {survivor for survivor, is_erased in states.values() if is_erased}

    key_of: dict[tuple[str, str], tuple] = {}
    new_leads: list[list[tuple[str, str]]] = []
    attach: list[tuple[tuple[str, str], int]] = []
    kept = []
    for event in events:
        key = None
        for pair in event.identities:
            if pair in key_of:
                key = key_of[pair]
                break
            if pair in owners:
                key = ("customer", states[owners[pair]][0])
                break
        if key is not None and key[0] == "customer" and key[1] in erased:
            rejected.append({"index": event.index, "error": f"events.{event.index}.customer: this customer's data was erased at their request"})
            continue
        if key is None:
            key = ("lead", len(new_leads))
            new_leads.append([])
        for pair in event.identities:
            if pair in key_of or pair in owners:
                continue  # known (perhaps another customer's: never moved by an event)
            key_of[pair] = key
            if key[0] == "lead":
                new_leads[key[1]].append(pair)
            else:
                attach.append((pair, key[1]))
        event.customer_key = key
        kept.append(event)
    lead_ids = _create_leads(new_leads, attach) if (new_leads or attach) else []
    for event in kept:
        kind, value = event.customer_key
        event.customer_key = lead_ids[value] if kind == "lead" else value
    return kept


def _owners(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(kind, value) → customer id for the identities that exist: one query."""
    if not pairs:
        return {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    condition = or_(*(and_(CustomerIdentity.kind == kind, _among(CustomerIdentity.value, values)) for kind, values in by_kind.items()))
    rows = db.session.execute(select(CustomerIdentity.kind, CustomerIdentity.value, CustomerIdentity.customer_id).where(condition))
    return {(kind, value): customer_id for kind, value, customer_id in rows}


def _customer_states(ids: set[int]) -> dict[int, tuple[int, bool]]:
    """customer id → (its survivor's id after merges, whether that survivor is erased)."""
    known: dict[int, tuple[int | None, bool]] = {}
    pending = set(ids)
    for _ in range(20):  # merge chains are short; bounded like find_customer
        if not pending:
            break
        rows = db.session.execute(select(Customer.id, Customer.merged_into_id, Customer.erased_at).where(_among(Customer.id, pending)))
        for id, merged_into, erased_at in rows:
            known[id] = (merged_into, erased_at is not None)
        pending = {merged for merged, _ in known.values() if merged is not None and merged not in known}
    answer = {}
    for id in ids:
        current, seen = id, 0
        while known.get(current, (None, False))[0] is not None and seen < 20:
            current, seen = known[current][0], seen + 1
        answer[id] = (current, known.get(current, (None, False))[1])
    return answer


def _insert_customers(count: int, now: datetime) -> list[tuple[int, str]]:
    """``count`` new lead rows in one statement (retrying the rare loyalty-code clash); answers
    (id, loyalty code) per lead, in order."""
    table = Customer.__table__
    rows = [_lead_row(now) for _ in range(count)]
    done: dict[str, tuple[int, str]] = {}
    for _ in range(5):
        missing = [row for row in rows if row["public_id"] not in done]
        if not missing:
            break
        for id, public_id, code in _insert_rows(table, missing, "any", ("id", "public_id", "loyalty_code")):
            done[public_id] = (id, code)
        for row in rows:
            if row["public_id"] not in done:
                row.update(public_id=new_id("cus"), loyalty_code=new_loyalty_code())
    if len(done) != count:
        raise RuntimeError("could not give new leads unique loyalty codes")
    return [done[row["public_id"]] for row in rows]


def _lead_row(now: datetime) -> dict:
    return {
        "public_id": new_id("cus"),
        "name": "",
        "kind": "lead",
        "loyalty_code": new_loyalty_code(),
        "sizes": {},
        "preferences": {},
        "tags": [],
        "search_name": "",
        "created_at": now,
        "updated_at": now,
    }


def _create_leads(new_leads: list[list[tuple[str, str]]], attach: list[tuple[tuple[str, str], int]]) -> list[int]:
    """Insert the batch's new leads with their identities, and the unknown identities of known
    customers; answers each lead's customer id.  A concurrent request that took one of a new lead's
    identities first wins: that lead is dropped and its events go to the winner's customer."""
    now = clock.now()
    created = _insert_customers(len(new_leads), now)
    lead_ids = [id for id, _ in created]
    rows = []
    for number, pairs in enumerate(new_leads):
        rows.extend({"customer_id": lead_ids[number], "kind": kind, "value": value, "created_at": now} for kind, value in pairs)
        rows.append({"customer_id": lead_ids[number], "kind": "loyalty", "value": created[number][1], "created_at": now})
    rows.extend({"customer_id": customer_id, "kind": kind, "value": value, "created_at": now} for (kind, value), customer_id in attach)
    rows.sort(key=lambda row: (row["kind"], row["value"]))  # one lock order for every writer: no deadlock
    table = CustomerIdentity.__table__
    inserted = {tuple(row) for row in _insert_rows(table, rows, ("kind", "value"), ("kind", "value"))}
    lost = [row for row in rows if (row["kind"], row["value"]) not in inserted]
    if not lost:
        return lead_ids
    # identities a concurrent request stored first (attached identities simply stay with their owner)
    index_of = {id: number for number, id in enumerate(lead_ids)}
    taken = {(row["kind"], row["value"]): row["customer_id"] for row in lost if row["customer_id"] in index_of and row["kind"] != "loyalty"}
    for row in lost:
        if row["kind"] == "loyalty" and row["customer_id"] in index_of:
            _renew_loyalty_code(row["customer_id"], now)
    if taken:
        owners = _owners(set(taken))
        states = _customer_states(set(owners.values()))
        winners: dict[int, int] = {}
        for number, pairs in enumerate(new_leads):
            for pair in pairs:
                if pair in taken and pair in owners:
                    winners[lead_ids[number]] = states[owners[pair]][0]
                    break
        for lead, winner in winners.items():
            db.session.execute(
                update(CustomerIdentity).where(CustomerIdentity.customer_id == lead, CustomerIdentity.kind != "loyalty").values(customer_id=winner)
            )
            db.session.execute(delete(CustomerIdentity).where(CustomerIdentity.customer_id == lead))
            db.session.execute(delete(Customer.__table__).where(Customer.__table__.c.id == lead))
            lead_ids[index_of[lead]] = winner
    return lead_ids


def _renew_loyalty_code(customer_id: int, now: datetime) -> None:
    table = CustomerIdentity.__table__
    for _ in range(5):
        code = new_loyalty_code()
        if _insert_rows(table, [{"customer_id": customer_id, "kind": "loyalty", "value": code, "created_at": now}], "any", ("id",)):
            db.session.execute(update(Customer.__table__).where(Customer.__table__.c.id == customer_id).values(loyalty_code=code))
            return
    raise RuntimeError("could not give a new lead a unique loyalty code")


def _variants(skus: set[str]) -> dict[str, tuple[int, int]]:
    """sku → (variant id, product id) for the known SKUs: one query."""
    if not skus:
        return {}
    rows = db.session.execute(select(Variant.sku, Variant.id, Variant.product_id).where(_among(Variant.sku, skus)))
    return {sku: (id, product_id) for sku, id, product_id in rows}


def _insert_events(events: list[_Event], variants: dict, actor: Actor, now: datetime) -> dict[str, int]:
    """One multi-row INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING; answers event id → row id
    of what was inserted (the rest were duplicates).  Rows go in event-id order, so two writers of
    overlapping batches take the unique index's locks in one order."""
    first: dict[str, _Event] = {}
    for event in events:
        first.setdefault(event.event_id, event)
    columns = actor.columns()
    rows = [
        {
            "event_id": event.event_id,
            "customer_id": event.customer_key,
            "type": event.type,
            "channel": event.channel,
            "occurred_at": event.occurred_at,
            "received_at": now,
            "sku": event.sku,
            "variant_id": variants[event.sku][0] if event.sku in variants else None,
            "store_id": None,
            "staff_id": None,
            "data": event.data,
            **columns,
        }
        for event_id, event in sorted(first.items())
    ]
    table = CustomerEvent.__table__
    texts = [first[row["event_id"]].data_json for row in rows]
    inserted = {event_id: id for id, event_id in _insert_rows(table, rows, ("event_id",), ("id", "event_id"), json_texts={"data": texts})}
    purchases = [(inserted[event_id], event) for event_id, event in first.items() if event_id in inserted and event.type in PURCHASE_TYPES]
    if purchases:
        record_purchased_items([(id, event.data.get("lines", ())) for id, event in purchases], variants)
    return inserted


def record_purchased_items(purchases: list[tuple[int, list[dict]]], variants: dict[str, tuple[int, int]] | None = None) -> None:
    """Index the lines of purchase events (``(customer_event.id, lines)``) for "often bought together"."""
    if variants is None:
        variants = _variants({line["sku"] for _, lines in purchases for line in lines if line.get("sku")})
    rows = [
        {
            "event_id": event_row,
            "sku": line["sku"],
            "product_id": variants[line["sku"]][1] if line["sku"] in variants else None,
            "quantity": int(line.get("quantity") or 1),
        }
        for event_row, lines in purchases
        for line in lines
        if line.get("sku")
    ]
    if rows:
        _insert_rows(PurchasedItem.__table__, rows)
