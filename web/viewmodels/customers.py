"""Customers as the tablet shows them: search rows, the profile, consent lines, the client book
and the timeline, each event told as a sentence an associate reads at a glance ("Viewed
Ridgeline Trail Jacket online", "Ordered online: 2 items, €189.00") at the store's local time.

Plain functions from clienteling's objects to dicts of strings; the templates hold no rule.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import and_, func, or_, select

from accounts import Staff
from clienteling import ONLINE_CHANNELS, ConsentRecord, Customer, CustomerEvent, consents, has_consent
from core import db
from core.money import Money
from inventory import Location, Product, Variant

CHANNEL_LABELS = {
    "web": "Web",
    "app": "App",
    "store": "Store",
    "kiosk": "Kiosk",
    "email": "Email",
    "sms": "SMS",
    "phone": "Phone",
    "chat": "Chat",
    "social": "Social",
}
TYPE_LABELS = {
    "product_viewed": "Product views",
    "product_searched": "Searches",
    "wishlist_added": "Wishlist adds",
    "wishlist_removed": "Wishlist removals",
    "cart_updated": "Carts",
    "cart_abandoned": "Abandoned carts",
    "order_placed": "Online orders",
    "order_returned": "Online returns",
    "purchase_in_store": "Purchases in store",
    "return_in_store": "Returns in store",
    "appointment_booked": "Appointments booked",
    "appointment_checked_in": "Appointment check-ins",
    "appointment_completed": "Appointments completed",
    "appointment_no_show": "Missed appointments",
    "appointment_cancelled": "Appointments cancelled",
    "message_sent": "Messages sent",
    "message_received": "Messages received",
    "feedback_given": "Feedback",
}
CONSENT_LABELS = {
    "email_marketing": "Email marketing",
    "sms_marketing": "SMS marketing",
    "personalisation": "Personalisation (online activity, recommendations)",
}
SIZE_CATEGORIES = ("tops", "bottoms", "shoes", "dresses")
PREFERENCE_KEYS = (("colours", "Colours"), ("fit", "Fit"), ("activities", "Activities"), ("brands", "Brands"))
SOURCE_LABELS = {
    "store": "in store",
    "web": "on the web shop",
    "app": "in the app",
    "kiosk": "at a kiosk",
    "email": "by email",
    "sms": "by SMS",
    "phone": "by phone",
    "import": "imported",
}
ONLINE_HIDDEN = "online activity hidden: no personalisation consent"
WHERE_ONLINE = {"web": "online", "app": "in the app", "social": "on social media", "chat": "in a chat"}


# --- small words ---------------------------------------------------------------------------------


def zone_of(store) -> ZoneInfo:
    try:
        return ZoneInfo(store.timezone) if store is not None and store.timezone else ZoneInfo("UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """'3 Dec 2026, 14:05' in ``zone``; '' for None."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    return f"{local.day} {local:%b %Y}, {local:%H:%M}"


def customer_name(customer: Customer) -> str:
    """The name, or for a lead known only by an address what we know of them."""
    if customer.name:
        return customer.name
    return customer.email or customer.phone or "Unnamed lead"


def display_phone(value: str) -> str:
    """+4915112345678 → '+49 1511 2345678' (as people read it)."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


def money_text(value) -> str:
    """'€189.00' from a Money dict of an event's data; '' when absent or malformed."""
    if not isinstance(value, dict):
        return ""
    try:
        return Money(int(value["amount"]), str(value["currency"])).format()
    except (KeyError, TypeError, ValueError):
        return ""


def _items(lines) -> int:
    if not isinstance(lines, list):
        return 0
    total = 0
    for line in lines:
        try:
            total += int(line.get("quantity", 1)) if isinstance(line, dict) else 0
        except (TypeError, ValueError):
            total += 1
    return total


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _order_where(where: str) -> str:
    return {"online": "an online order", "in the app": "an order in the app"}.get(where, f"an order {where}")


def product_titles(skus) -> dict[str, dict]:
    """{sku: {"title", "handle", "options"}} for the SKUs the catalogue knows."""
    skus = sorted({sku for sku in skus if sku})
    if not skus:
        return {}
    rows = db.session.execute(
        select(Variant.sku, Product.title, Product.handle, Variant.options)
        .join(Product, Variant.product_id == Product.id)
        .where(Variant.sku.in_(skus))
    )
    return {sku: {"title": title, "handle": handle, "options": options or {}} for sku, title, handle, options in rows}


def _line_skus(event) -> list[str]:
    lines = (event.data or {}).get("lines")
    return [line.get("sku") for line in lines if isinstance(line, dict)] if isinstance(lines, list) else []


# --- the timeline --------------------------------------------------------------------------------


def event_sentence(event, titles: dict, stores: dict) -> str:
    """What happened, in one sentence: 'Viewed Ridgeline Trail Jacket online'."""
    data = event.data or {}
    kind = event.type
    where = WHERE_ONLINE.get(event.channel, f"via {CHANNEL_LABELS.get(event.channel, event.channel)}")
    if event.channel in ("store", "kiosk"):
        where = "on a kiosk" if event.channel == "kiosk" else "in store"
    title = titles.get(event.sku, {}).get("title") or event.sku or "a product"
    store = stores.get(event.store_id, "")
    at_store = f" at {store}" if store else ""
    if kind == "product_viewed":
        return f"Viewed {title} {where}"
    if kind == "product_searched":
        return f"Searched {where} for “{data.get('query', '')}”"
    if kind == "wishlist_added":
        return f"Added {title} to wishlist"
    if kind == "wishlist_removed":
        return f"Removed {title} from wishlist"
    if kind == "cart_updated":
        total = money_text(data.get("total"))
        return f"Cart updated {where}: {_count(_items(data.get('lines')), 'item')}" + (f", {total}" if total else "")
    if kind == "cart_abandoned":
        return f"Left a cart {where} without ordering"
    if kind == "order_placed":
        return f"Ordered {where}: {_count(_items(data.get('lines')), 'item')}, {money_text(data.get('total')) or 'total unknown'}"
    if kind == "order_returned":
        return f"Returned {_count(_items(data.get('lines')), 'item')} from {_order_where(where)}: {money_text(data.get('total')) or 'amount unknown'} refunded"
    if kind == "purchase_in_store":
        return f"Bought in store{at_store}: {_count(_items(data.get('lines')), 'item')}, {money_text(data.get('total')) or 'total unknown'}"
    if kind == "return_in_store":
        return (
            f"Returned in store{at_store}: {_count(_items(data.get('lines')), 'item')}, {money_text(data.get('total')) or 'amount unknown'} refunded"
        )
    if kind == "pickup_collected":
        reference = f": order {data['reference']}" if data.get("reference") else ""
        return f"Collected in store{at_store}{reference}"
    if kind == "pickup_refused":
        reference = f" of order {data['reference']}" if data.get("reference") else ""
        reason = f": “{data['reason']}”" if data.get("reason") else ""
        return f"Refused the pickup{reference}{at_store}{reason}"
    if kind.startswith("appointment_"):
        service = str(data.get("service") or "").replace("_", " ").strip() or "store"
        verb = {
            "appointment_booked": "Booked",
            "appointment_checked_in": "Checked in for",
            "appointment_completed": "Had",
            "appointment_no_show": "Missed",
            "appointment_cancelled": "Cancelled",
        }.get(kind, "Appointment:")
        return f"{verb} {_article(service)} {service} appointment{at_store}"
    if kind == "message_sent":
        channel = {"sms": "an SMS", "email": "an email"}.get(str(data.get("channel") or event.channel), "a message")
        subject = data.get("subject") or data.get("template")
        return f"We sent {channel}" + (f": “{subject}”" if subject else "")
    if kind == "message_received":
        channel = {"sms": "an SMS", "email": "an email"}.get(event.channel, "a message")
        subject = data.get("subject") or data.get("text") or ""
        subject = subject if len(subject) <= 80 else subject[:79] + "…"
        return f"Sent us {channel}" + (f": “{subject}”" if subject else "")
    if kind == "feedback_given":
        parts = []
        if data.get("csat") is not None:
            parts.append(f"satisfaction {data['csat']}/5")
        if data.get("nps") is not None:
            parts.append(f"would recommend {data['nps']}/10")
        return "Gave feedback" + (": " + ", ".join(parts) if parts else "")
    return kind.replace("_", " ").capitalize() + (f": {title}" if event.sku else "")


def _event_detail(event, titles: dict) -> str:
    """The second line: what was in the order or cart, the comment, the appointment's time."""
    data = event.data or {}
    lines = data.get("lines")
    if isinstance(lines, list) and lines:
        parts = []
        for line in lines[:4]:
            if isinstance(line, dict):
                name = titles.get(line.get("sku"), {}).get("title") or line.get("sku") or "?"
                parts.append(f"{name} × {line.get('quantity', 1)}")
        more = len(lines) - 4
        return ", ".join(parts) + (f" and {more} more" if more > 0 else "")
    if event.type == "feedback_given" and data.get("comment"):
        return f"“{data['comment']}”"
    return ""


def timeline_view(events, zone: ZoneInfo) -> list[dict]:
    """The timeline's rows: sentence, detail, channel, local time, the SKU's product link."""
    events = list(events)
    skus = [e.sku for e in events] + [sku for e in events for sku in _line_skus(e)]
    titles = product_titles(skus)
    store_ids = {e.store_id for e in events if e.store_id}
    stores = {id: name for id, name in db.session.execute(select(Location.id, Location.name).where(Location.id.in_(store_ids)))} if store_ids else {}
    rows = []
    for event in events:
        product = titles.get(event.sku) if event.sku else None
        rows.append(
            {
                "id": event.id,
                "type": event.type,
                "channel": event.channel,
                "channel_label": CHANNEL_LABELS.get(event.channel, event.channel),
                "online": event.channel in ONLINE_CHANNELS,
                "text": event_sentence(event, titles, stores),
                "detail": _event_detail(event, titles),
                "when": local_time(event.occurred_at, zone),
                "iso": event.occurred_at.isoformat() if event.occurred_at else "",
                "sku": event.sku,
                "handle": product["handle"] if product else None,
            }
        )
    return rows


# --- the profile ---------------------------------------------------------------------------------


def consent_view(customer: Customer, zone: ZoneInfo) -> list[dict]:
    """One row per purpose: granted?, how and when it was last recorded, and its history."""
    state = consents(customer)
    history: dict[str, list] = {purpose: [] for purpose in state}
    for record in db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == customer.id).order_by(ConsentRecord.id.desc())):
        history.setdefault(record.purpose, []).append(
            {"granted": record.granted, "source": SOURCE_LABELS.get(record.source, record.source), "when": local_time(record.recorded_at, zone)}
        )
    rows = []
    for purpose, now in state.items():
        rows.append(
            {
                "purpose": purpose,
                "label": CONSENT_LABELS.get(purpose, purpose),
                "granted": now["granted"],
                "asked": now["source"] is not None,
                "source": SOURCE_LABELS.get(now["source"], now["source"]) if now["source"] else None,
                "when": local_time(now["recorded_at"], zone),
                "history": history.get(purpose, [])[1:],
            }
        )
    return rows


def profile_view(customer: Customer, zone: ZoneInfo) -> dict:
    """What the profile page shows about who the customer is (the timeline and notes apart)."""
    sizes = dict(customer.sizes or {})
    ordered_sizes = [(c, sizes.pop(c)) for c in SIZE_CATEGORIES if c in sizes] + sorted(sizes.items())
    preferences = dict(customer.preferences or {})
    known = [(label, preferences.pop(key)) for key, label in PREFERENCE_KEYS if key in preferences]
    return {
        "id": customer.public_id,
        "name": customer_name(customer),
        "has_name": bool(customer.name),
        "lead": customer.kind == "lead",
        "emails": customer.identity_values("email"),
        "phones": [display_phone(p) for p in customer.identity_values("phone")],
        "loyalty_code": customer.loyalty_code,
        "home_store": customer.home_store.name if customer.home_store else None,
        "home_store_code": customer.home_store.code if customer.home_store else "",
        "preferred_associate": customer.preferred_associate.name if customer.preferred_associate else None,
        "preferred_associate_id": customer.preferred_associate_id or "",
        "sizes": ordered_sizes,
        "size_fields": [(c, (customer.sizes or {}).get(c, "")) for c in SIZE_CATEGORIES],
        "preferences": known + sorted((k.replace("_", " ").capitalize(), v) for k, v in preferences.items()),
        "preference_fields": [(key, label, (customer.preferences or {}).get(key, "")) for key, label in PREFERENCE_KEYS],
        "tags": list(customer.tags or []),
        "since": local_time(customer.created_at, zone),
    }


def note_views(notes, zone: ZoneInfo) -> list[dict]:
    return [
        {"id": n.id, "text": n.text, "pinned": n.pinned, "author": n.author.name if n.author else "Someone", "when": local_time(n.created_at, zone)}
        for n in notes
    ]


def search_rows(customers) -> list[dict]:
    """Search results: who, how to reach them, their card, their store."""
    return [
        {
            "id": c.public_id,
            "name": customer_name(c),
            "lead": c.kind == "lead",
            "email": c.email,
            "phone": display_phone(c.phone) if c.phone else None,
            "loyalty_code": c.loyalty_code,
            "home_store": c.home_store.name if c.home_store else None,
        }
        for c in customers
    ]


def staff_choices() -> list[dict]:
    """Active staff for the preferred-associate picker, by name, with their stores."""
    staff = db.session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name, Staff.id))
    return [{"id": s.id, "label": f"{s.name} ({', '.join(x.code for x in s.stores) or 'all stores'})"} for s in staff]


def shows_online(customer: Customer) -> bool:
    """Whether staff may see the customer's online activity (a granted personalisation consent)."""
    return has_consent(customer, "personalisation")


# --- the client book ---------------------------------------------------------------------------


def client_book_page(staff_id: int, store_id: int | None, cursor: tuple[str, int] | None = None, limit: int = 50, only_mine: bool = False):
    """One page of the associate's clients — customers whose preferred associate they are, or (unless
    ``only_mine``) whose home store is ``store_id`` — by name (keyset on search_name, id).  Answers
    (customers, next cursor)."""
    mine = Customer.preferred_associate_id == staff_id
    if store_id is not None and not only_mine:
        mine = or_(mine, Customer.home_store_id == store_id)
    query = select(Customer).where(mine, Customer.merged_into_id.is_(None), Customer.erased_at.is_(None), Customer.kind == "customer")
    if cursor is not None:
        name, last_id = cursor
        query = query.where(or_(Customer.search_name > name, and_(Customer.search_name == name, Customer.id > last_id)))
    rows = list(db.session.scalars(query.order_by(Customer.search_name, Customer.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = (rows[-1].search_name, rows[-1].id)
    return rows, next_cursor


def last_activity(customers) -> dict[int, CustomerEvent]:
    """{customer id: their newest timeline entry staff may see} — online entries count only with
    a granted personalisation consent."""
    ids = [c.id for c in customers]
    if not ids:
        return {}
    granted = _personalised(ids)
    newest: dict[int, CustomerEvent] = {}
    for online_too, group in ((True, [i for i in ids if i in granted]), (False, [i for i in ids if i not in granted])):
        if not group:
            continue
        inner = select(CustomerEvent.customer_id, func.max(CustomerEvent.occurred_at).label("at")).where(CustomerEvent.customer_id.in_(group))
        if not online_too:
            inner = inner.where(CustomerEvent.channel.not_in(ONLINE_CHANNELS))
        inner = inner.group_by(CustomerEvent.customer_id).subquery()
        query = select(CustomerEvent).join(inner, and_(CustomerEvent.customer_id == inner.c.customer_id, CustomerEvent.occurred_at == inner.c.at))
        if not online_too:
            query = query.where(CustomerEvent.channel.not_in(ONLINE_CHANNELS))
        for event in db.session.scalars(query.order_by(CustomerEvent.id)):
            newest[event.customer_id] = event
    return newest


def _personalised(ids: list[int]) -> set[int]:
    """The customers among ``ids`` whose newest personalisation record is a grant."""
    state: dict[int, bool] = {}
    records = db.session.execute(
        select(ConsentRecord.customer_id, ConsentRecord.granted)
        .where(ConsentRecord.customer_id.in_(ids), ConsentRecord.purpose == "personalisation")
        .order_by(ConsentRecord.id)
    )
    for customer_id, granted in records:
        state[customer_id] = granted
    return {customer_id for customer_id, granted in state.items() if granted}


def client_rows(customers, zone: ZoneInfo, staff_id: int) -> list[dict]:
    newest = last_activity(customers)
    rows = timeline_view(list(newest.values()), zone)
    by_customer = {event.customer_id: row for event, row in zip(newest.values(), rows, strict=True)}
    return [
        {
            **search_rows([c])[0],
            "mine": c.preferred_associate_id == staff_id,
            "last": by_customer.get(c.id),
        }
        for c in customers
    ]
