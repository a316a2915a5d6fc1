"""Demo appointments for Northwind Outfitters: opening hours for each store, when the demo associates
work, and a day of appointments at each store with real-looking questionnaires for demo customers.

Called by ``web.demo.seed`` after the catalogue, stock and staff exist.  Customers are looked up by
email first, so profiles seeded by other demo data are used rather than doubled.  Deterministic
apart from the day: appointments are booked for the store's local today (or its next open day), and
those already over are completed (one a no-show), the one under way checked in.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

import clienteling
import inventory
from accounts import Staff
from core import clock, db
from core.actor import Actor
from core.errors import InsufficientStock, ValidationError
from inventory import Category, Location, Product, StockLevel, Variant

DEMO = Actor.system("demo data")
RANDOM_SEED = 20240918

# The demo stores keep long hours, every day, so that booking on the public page and checking in at
# the kiosk can be tried at almost any time of day (a real store sets its own with set_store_hours)
HOURS = {
    "BER-MITTE": {day: [("08:00", "23:00")] for day in range(7)},
    "MUC-MAX": {day: [("08:00", "23:00")] for day in range(7)},
    "AMS-CENTRUM": {day: [("08:00", "23:00")] for day in range(7)},
}
SHIFTS = {
    "associate": {day: [("08:00", "23:00")] for day in range(7)},  # the store's hours bound it
    "manager": {day: [("09:00", "18:00")] for day in range(6)},
}

# email, name, phone, sizes, consents to personalisation
CUSTOMERS = (
    ("lena.vogel@example.com", "Lena Vogel", "+49 151 23456701", {"tops": "M", "bottoms": "M", "shoes": "39"}, True),
    ("felix.hartmann@example.com", "Felix Hartmann", "+49 160 98765020", {"tops": "L", "bottoms": "L", "shoes": "44"}, True),
    ("amira.haddad@example.com", "Amira Haddad", None, {"tops": "S", "bottoms": "S", "shoes": "38"}, False),
    ("tobias.wagner@example.com", "Tobias Wagner", "+49 176 55501030", {"tops": "XL", "bottoms": "L", "shoes": "45"}, True),
    ("sophie.dekker@example.com", "Sophie Dekker", "+31 6 12345604", {"tops": "M", "bottoms": "S", "shoes": "40"}, True),
    ("daan.visser@example.com", "Daan Visser", None, {"tops": "L", "bottoms": "M", "shoes": "43"}, False),
    # the client book's showcase customer (web.demo_clienteling): her 16:30 styling session at Berlin Mitte
    ("lea.schaefer@example.com", "Lea Schäfer", "+49 152 77701050", {"tops": "M", "bottoms": "M", "shoes": "42"}, True),
    ("jan.kowalski@example.com", "Jan Kowalski", None, {"tops": "M", "bottoms": "M", "shoes": "42"}, True),
    ("noor.bakker@example.com", "Noor Bakker", "+31 6 12345606", {"tops": "S", "bottoms": "M", "shoes": "39"}, True),
)
# (local start, service, occasion, budget in euros, what to show, notes)
DAY = (
    ("10:30", "styling", "A week of hiking in the Dolomites in July", 450, ("Jackets", "Trail shoes"), "Wants something that also works in town."),
    ("12:00", "fitting", "Running my first half marathon", 180, ("Running shoes",), ""),
    (
        "14:00",
        "personal_shopping",
        "New job — outdoor guide, needs a full kit",
        900,
        ("Jackets", "Fleeces", "Base layers"),
        "Prefers earth tones, no neon.",
    ),
    ("16:30", "styling", "Weekend city trip to Copenhagen", 300, ("Jackets", "T-shirts"), ""),
    ("18:00", "repair", "Zip on a rain jacket sticks", None, (), "Bought two years ago in this store."),
)


def _store_staff(location: Location) -> list[Staff]:
    return [
        s
        for s in db.session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))
        if s.role != "admin" and any(st.id == location.id for st in s.stores)
    ]


def _customer(email: str, name: str, phone: str | None, sizes: dict, personalised: bool) -> clienteling.Customer:
    found = clienteling.find_customer_by_identity("email", email)
    if found is not None:
        return found
    return clienteling.create_customer(
        name, DEMO, email=email, phone=phone, sizes=sizes, consents={"email_marketing": True, "personalisation": personalised}, consent_source="web"
    )


def _in_stock(location: Location, categories: tuple[str, ...], rng: random.Random, count: int) -> list[str]:
    """SKUs of products in these categories with stock at the store, drawn deterministically."""
    if not categories:
        return []
    rows = db.session.execute(
        select(Variant.sku, Product.id)
        .join(Product, Product.id == Variant.product_id)
        .join(StockLevel, (StockLevel.variant_id == Variant.id) & (StockLevel.location_id == location.id))
        .where(Product.status == "active", StockLevel.on_hand > StockLevel.reserved)
        .where(Product.category_id.in_(select(Category.id).where(Category.name.in_(categories))))
        .order_by(Variant.id)
    ).all()
    by_product: dict[int, str] = {}
    for sku, product_id in rows:
        by_product.setdefault(product_id, sku)
    picks = sorted(by_product.values())
    rng.shuffle(picks)
    return picks[:count]


def _demo_day(location: Location) -> date:
    """The store's local today, or its next open day."""
    today = clienteling.local_today(location)
    open_days = set(HOURS.get(location.code, {}))
    for offset in range(7):
        day = today + timedelta(days=offset)
        if day.weekday() in open_days:
            return day
    return today


def seed_appointments() -> str:
    """Opening hours, availability and a day of appointments at each demo store (flushed, the caller
    commits).  Answers a summary for the seed-demo message."""
    rng = random.Random(RANDOM_SEED)
    now = clock.now()
    booked: list[clienteling.Appointment] = []
    # customers the client book already holds keep the history it gave them (no views added below)
    known = {spec[0] for spec in CUSTOMERS if clienteling.find_customer_by_identity("email", spec[0]) is not None}
    customers = [_customer(*spec) for spec in CUSTOMERS]
    stores = [location for location in db.session.scalars(select(Location).where(Location.code.in_(list(HOURS))).order_by(Location.code))]
    for location in stores:
        clienteling.set_store_hours(location.code, HOURS[location.code])
        for person in _store_staff(location):
            clienteling.set_associate_availability(person, location.code, SHIFTS.get(person.role, SHIFTS["associate"]))
    db.session.flush()

    # 1. every booking first: a check-in or a hold publishes live after the commit, and a savepoint
    # taken after one would run that early
    for offset, location in enumerate(stores):
        day = _demo_day(location)
        zone = clienteling.store_zone(location)
        start_of_day = clienteling.local_day_bounds(location, day)[0]
        for slot_index, (at, service, occasion, euros, categories, notes) in enumerate(DAY):
            customer = customers[(offset * 3 + slot_index) % len(customers)]
            hours, minutes = (int(part) for part in at.split(":"))
            starts_at = datetime.combine(day, time(hours, minutes), tzinfo=zone)
            questionnaire = {"occasion": occasion, "sizes": dict(customer.sizes or {}), "skus": _in_stock(location, categories, rng, 3)}
            if notes:
                questionnaire["notes"] = notes
            if euros:
                questionnaire["budget"] = {"amount": euros * 100, "currency": "EUR"}
            try:
                appointment = clienteling.book_appointment(
                    location.code,
                    service,
                    starts_at,
                    {"email": customer.email, "name": customer.name},
                    questionnaire,
                    actor=DEMO,
                    channel="web" if slot_index % 2 == 0 else "store",
                    now=start_of_day - timedelta(minutes=1),
                )
            except (clienteling.SlotUnavailable, ValidationError):
                continue  # a store with no associate that day
            booked.append(appointment)

    # 2. online activity of the customers who agreed to personalisation, for the prep view
    for index, customer in enumerate(customers):
        if not CUSTOMERS[index][4] or CUSTOMERS[index][0] in known:
            continue
        skus = [sku for appointment in booked if appointment.customer_id == customer.id for sku in appointment.questionnaire.get("skus", [])[:1]]
        for days_ago, sku in enumerate(skus[:2], start=1):
            for view in range(1 + days_ago % 2):
                clienteling.record_activity(
                    customer, "product_viewed", channel="web", sku=sku, occurred_at=now - timedelta(days=days_ago, hours=view)
                )

    # 3. what already happened today: over → completed (the first repair a no-show), under way → checked in
    for appointment in booked:
        if appointment.ends_at <= now:
            if appointment.service == "repair":
                clienteling.mark_no_show(appointment, DEMO)
            else:
                clienteling.check_in(appointment, DEMO, now=appointment.starts_at - timedelta(minutes=5))
                clienteling.complete(appointment, DEMO)
        elif appointment.starts_at - timedelta(minutes=15) <= now:
            clienteling.check_in(appointment, DEMO, now=now)
    # 4. items held for the next appointment at each store
    holds = 0
    for location in stores:
        upcoming = [a for a in booked if a.location_id == location.id and a.status == "booked" and a.questionnaire.get("skus")]
        if not upcoming:
            continue
        stock = {item["sku"]: item["available"] for item in inventory.availability(upcoming[0].questionnaire["skus"], location.code)[0]}
        plenty = [sku for sku in upcoming[0].questionnaire["skus"] if stock.get(sku, 0) >= 3]  # never the last units: seed's own holds follow
        if plenty:
            try:
                clienteling.hold_items_for_appointment(upcoming[0], [{"sku": plenty[0], "quantity": 1}], DEMO)
                holds += 1
            except InsufficientStock:
                pass
    db.session.flush()
    return f"{len(booked)} appointments at {len(stores)} stores ({holds} with items held)"
