"""The demo brand's client book: a few hundred customers with months of history.

``seed_customers(catalogue, stock)`` is called by ``web.demo.seed`` once the catalogue, stock and
staff exist.  Everything comes from one fixed random seed (names, emails, phones, loyalty codes,
sizes, tags, consents, which products each customer looked at, carted, ordered and returned), so
every clone gets the same client book; only the dates follow the day it is loaded, so the history
always ends "recently".  Customers, identities, consents, events and notes go in with bulk inserts
(a few statements, not one per row), and a second run finds the demo customers and adds nothing.

One customer tells the whole story (``SHOWCASE``): Lea Schäfer of Berlin Mitte, with recent views,
a wishlist and an abandoned cart of things in stock there in her sizes, an online order, notes by
her associate and every kind of consent, one of them withdrawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from sqlalchemy import func, insert, select

from accounts import Staff
from clienteling import ConsentRecord, Customer, CustomerEvent, CustomerIdentity, CustomerNote, find_customer_by_identity, fold
from core import clock, db
from core.outbox import new_id
from inventory import Location, Variant

RANDOM_SEED = 20241203
CUSTOMERS = 320  # with the showcase customer; about one in eight is a lead known only by email
HISTORY_DAYS = 200
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")  # reserved for examples: no demo mail reaches anyone

SHOWCASE_NAME = "Lea Schäfer"
SHOWCASE_EMAIL = "lea.schaefer@example.com"
SHOWCASE_PHONE = "+4915112345678"
SHOWCASE_CODE = "SH1000000017"
SHOWCASE_ASSOCIATE = "ana@northwind.example"

# first names, last names, the phone country a customer from there most likely has
NAMES = {
    "de": (
        (
            "Jürgen",
            "Sören",
            "Lea",
            "Jonas",
            "Hannah",
            "Lukas",
            "Käthe",
            "Felix",
            "Anna",
            "Maximilian",
            "Björn",
            "Lena",
            "Paul",
            "Mia",
            "Jörg",
            "Marie",
        ),
        ("Müller", "Schäfer", "Köhler", "Weiß", "Schröder", "Groß", "Becker", "Hoffmann", "Wagner", "Krüger", "Löwe", "Fuchs", "Neumann", "Bäcker"),
        "DE",
    ),
    "nl": (
        ("Daan", "Sanne", "Anouk", "Bram", "Femke", "Joris", "Lotte", "Sem", "Noor", "Thijs", "Eline", "Ruben", "Fenna", "Gijs"),
        ("de Vries", "van den Berg", "Bakker", "Janssen", "Visser", "Smit", "de Jong", "van Dijk", "Mulder", "Peeters", "van Leeuwen", "Dekker"),
        "NL",
    ),
    "fr": (
        ("Élodie", "François", "Chloé", "Théo", "Zoé", "Jérôme", "Léa", "Gaël", "Inès", "Benoît", "Noémie", "Mathéo"),
        ("Lefèvre", "Dubois", "Moreau", "Girard", "Léger", "Bérénger", "Durand", "Rousseau", "Mercier", "Faure"),
        "DE",
    ),
    "es": (
        ("José", "Lucía", "Martín", "Sofía", "Álvaro", "Inés", "Andrés", "María José", "Íñigo", "Begoña"),
        ("Núñez", "Peña", "García", "Martínez", "Fernández", "Gómez", "Ibáñez", "Muñoz", "Álvarez", "Sánchez"),
        "DE",
    ),
    "pt": (
        ("João", "Inês", "Tomás", "Conceição", "Gonçalo", "Mariana", "Simão", "Leonor"),
        ("Gonçalves", "Conceição", "Araújo", "Simões", "Magalhães", "Sousa", "Pereira", "Brandão"),
        "DE",
    ),
    "pl": (
        ("Łukasz", "Zofia", "Paweł", "Małgorzata", "Krzysztof", "Agnieszka", "Michał", "Wiktoria"),
        ("Wójcik", "Kowalczyk", "Łukaszewicz", "Zieliński", "Dąbrowska", "Wiśniewski", "Kamińska", "Lewandowski"),
        "DE",
    ),
    "nordic": (
        ("Åsa", "Søren", "Bjørn", "Ingrid", "Mikael", "Astrid", "Freja", "Jørgen", "Linnéa", "Ole"),
        ("Öberg", "Sørensen", "Åkesson", "Lindqvist", "Nørgaard", "Bjørnstad", "Ångström", "Holm"),
        "NL",
    ),
    "cz": (("Jiří", "Tereza", "Tomáš", "Kateřina", "Ondřej", "Lucie"), ("Dvořák", "Novák", "Černá", "Procházka", "Kučerová", "Hájek"), "DE"),
    "it": (("Niccolò", "Giulia", "Matteo", "Chiara", "Lorenzo", "Francesca"), ("Ricci", "Esposito", "Bianchi", "Romano", "Colombo", "De Luca"), "DE"),
}
COUNTRY_WEIGHTS = {
    "BER-MITTE": "de de de de fr es pl cz it nordic pt",
    "MUC-MAX": "de de de de it cz fr es pl",
    "AMS-CENTRUM": "nl nl nl nl de fr nordic pt es",
}
DE_MOBILE = ("151", "152", "157", "160", "162", "163", "170", "171", "172", "173", "174", "175", "176", "177", "178", "179")
HOME_STORE_WEIGHTS = (("BER-MITTE", 5), ("MUC-MAX", 3), ("AMS-CENTRUM", 3))

SIZE_KEYS = {
    "Jackets": "tops",
    "Fleeces": "tops",
    "Base layers": "tops",
    "T-shirts": "tops",
    "Shorts": "bottoms",
    "Leggings": "bottoms",
    "Running shoes": "shoes",
    "Trail shoes": "shoes",
    "Socks": "socks",
}
TOPS = ("XS", "S", "S", "M", "M", "M", "L", "L", "XL", "XXL")
SHOES = tuple(str(size) for size in range(38, 47))
DRESSES = ("34", "36", "38", "40", "42", "44")
PREFERENCES = {
    "colours": ("earth tones", "bright colours", "black and grey", "blues and greens", "anything but orange"),
    "fit": ("relaxed", "slim", "regular", "room for a layer underneath"),
    "activities": ("trail running", "hiking", "city commuting", "yoga", "ski touring", "road running", "camping with kids"),
    "brands": ("Northwind Outfitters", "Kestrel Athletic", "Alpenglow", "Fjellsti"),
}
NOTE_TEXTS = (
    "Training for the Berlin Marathon in September; wants shoes with more cushioning for long runs.",
    "Prefers to try everything on in store before buying online. Call ahead when new sizes arrive.",
    "Allergic to wool: avoid merino suggestions.",
    "Buys presents for her partner (men's L tops, shoes 44).",
    "Asked to be told when the Ridgeline comes back in Slate.",
    "Walks the Camino next spring: needs a light pack and a rain shell.",
    "Likes a relaxed fit; sizes up in jackets.",
    "Corporate order contact for a team of 12: prefers invoices by email.",
    "Returned shoes twice for being too narrow: suggest the wide fit first.",
    "Very happy with the last fitting; wants an appointment before the ski season.",
    "Runs with a club on Saturdays; interested in reflective gear for winter.",
    "Second-hand and repaired gear matters to them: mention the repair service.",
)
MESSAGES_EMAIL = (
    "Is the Ridgeline Trail Jacket coming back in Slate?",
    "Can I exchange my order in store?",
    "Question about my online order",
    "Do you have the Tempo 3 in a wide fit?",
    "Unsubscribe me from the weekly emails, please",
)
MESSAGES_SMS = ("Thanks, I'll pick it up on Saturday", "Can you hold it until 6pm?", "Is the shop open on Sunday?", "Great, see you at 3")


@dataclass
class Person:
    name: str
    email: str | None
    phone: str | None
    code: str
    home: str | None
    kind: str
    sizes: dict
    tags: list
    preferences: dict
    associate: str | None
    since_days: int
    country: str


def _phone(rng: random.Random, country: str, taken: set[str]) -> str:
    """A mobile number that phonenumbers accepts, in E.164: German (+49 15x/16x/17x) or Dutch (+31 6)."""
    while True:
        if country == "NL":
            number = "+316" + "".join(rng.choice("0123456789") for _ in range(8))
        else:
            prefix = rng.choice(DE_MOBILE)
            digits = 8 if prefix.startswith("15") or prefix in ("176", "160", "162") and rng.random() < 0.5 else 7
            number = "+49" + prefix + str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(digits - 1))
        parsed = phonenumbers.parse(number, None)
        if phonenumbers.is_valid_number(parsed) and number not in taken:
            taken.add(number)
            return number


def _email(rng: random.Random, name: str, taken: set[str]) -> str:
    parts = fold(name).replace("'", "").split()
    first, last = parts[0], "".join(parts[1:]) or "x"
    style = rng.choice(("{f}.{l}", "{f}{l}", "{f}.{l}{n}", "{fi}{l}", "{f}_{l}"))
    domain = rng.choice(EMAIL_DOMAINS)
    n = 0
    while True:
        local = style.format(f=first, l=last, fi=first[0], n=rng.randint(1, 99))
        email = f"{local if n == 0 else local + str(n)}@{domain}"
        if email not in taken:
            taken.add(email)
            return email
        n += 1


def plan_people(rng: random.Random, staff_by_store: dict[str, list[str]]) -> list[Person]:
    """The demo customers after the showcase one, the same on every call with a fresh ``rng``."""
    people: list[Person] = []
    emails, phones, codes = {SHOWCASE_EMAIL}, {SHOWCASE_PHONE}, {SHOWCASE_CODE}
    stores = [code for code, weight in HOME_STORE_WEIGHTS for _ in range(weight)]
    names_taken = {SHOWCASE_NAME}
    for _ in range(CUSTOMERS - 1):
        home = rng.choice(stores) if rng.random() < 0.92 else None
        country_key = rng.choice(COUNTRY_WEIGHTS[home or "BER-MITTE"].split())
        firsts, lasts, phone_country = NAMES[country_key]
        name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
        while name in names_taken and rng.random() < 0.9:
            name = f"{rng.choice(firsts)} {rng.choice(lasts)}"
        names_taken.add(name)
        code = "SH" + f"{rng.randrange(10**10):010d}"
        while code in codes:
            code = "SH" + f"{rng.randrange(10**10):010d}"
        codes.add(code)
        lead = rng.random() < 0.12
        email = _email(rng, name, emails)
        if lead:
            people.append(Person("", email, None, code, None, "lead", {}, [], {}, None, rng.randint(3, 150), country_key))
            continue
        phone = _phone(rng, "NL" if home == "AMS-CENTRUM" and rng.random() < 0.85 else phone_country, phones) if rng.random() < 0.75 else None
        if rng.random() < 0.1:
            email = None  # known by phone and card only
        tops = rng.choice(TOPS)
        sizes = {}
        if rng.random() < 0.85:
            sizes["tops"] = tops
        if rng.random() < 0.7:
            sizes["bottoms"] = TOPS[min(max(TOPS.index(tops) + rng.choice((-1, 0, 0, 1)), 0), len(TOPS) - 1)]
        if rng.random() < 0.8:
            sizes["shoes"] = rng.choice(SHOES)
        if rng.random() < 0.35:
            sizes["dresses"] = rng.choice(DRESSES)
        tags = set()
        if rng.random() < 0.08:
            tags.add("vip")
        if rng.random() < 0.16:
            tags.add("sustainability")
        for tag, chance in (("runner", 0.2), ("hiker", 0.18), ("family", 0.08), ("corporate", 0.03), ("marathon", 0.05)):
            if rng.random() < chance:
                tags.add(tag)
        preferences = {key: rng.choice(values) for key, values in PREFERENCES.items() if rng.random() < 0.35}
        associates = staff_by_store.get(home or "", [])
        associate = rng.choice(associates) if associates and rng.random() < 0.4 else None
        people.append(
            Person(name, email, phone, code, home, "customer", sizes, sorted(tags), preferences, associate, rng.randint(20, 900), country_key)
        )
    return people


def _showcase() -> Person:
    return Person(
        SHOWCASE_NAME,
        SHOWCASE_EMAIL,
        SHOWCASE_PHONE,
        SHOWCASE_CODE,
        "BER-MITTE",
        "customer",
        {"tops": "M", "bottoms": "M", "shoes": "42", "dresses": "38"},
        ["newsletter", "runner", "sustainability", "vip"],
        {"colours": "earth tones", "fit": "regular", "activities": "trail running and the odd marathon"},
        SHOWCASE_ASSOCIATE,
        640,
        "de",
    )


# --- what they did -------------------------------------------------------------------------------------


class History:
    """Collects the rows to bulk-insert: events, consents, notes."""

    def __init__(self, now, variant_ids: dict[str, int], prices: dict[str, int]):
        self.now, self.variant_ids, self.prices = now, variant_ids, prices
        self.events: list[dict] = []
        self.consents: list[dict] = []
        self.notes: list[dict] = []
        self.orders = 0
        self.carts = 0

    def event(self, customer_id, type, channel, at, sku=None, data=None):
        at = min(at, self.now)  # a session planned late this evening has happened by now, not later
        self.events.append(
            {
                "event_id": f"demo-{new_id('evt')}",
                "customer_id": customer_id,
                "type": type,
                "channel": channel,
                "occurred_at": at,
                "received_at": at,
                "sku": sku,
                "variant_id": self.variant_ids.get(sku) if sku else None,
                "store_id": None,
                "staff_id": None,
                "data": data or {},
                "actor_kind": "system",
                "actor_id": None,
            }
        )

    def consent(self, customer_id, purpose, granted, source, at, actor_id=None):
        self.consents.append(
            {
                "customer_id": customer_id,
                "purpose": purpose,
                "granted": granted,
                "source": source,
                "recorded_at": at,
                "actor_kind": "staff" if actor_id else "system",
                "actor_id": actor_id,
            }
        )

    def note(self, customer_id, author_id, text, pinned, at):
        self.notes.append({"customer_id": customer_id, "author_id": author_id, "text": text, "pinned": pinned, "created_at": at})

    def money(self, cents: int) -> dict:
        return {"amount": cents, "currency": "EUR"}

    def cart(self, customer_id, channel, at, lines: list[tuple[str, int]]):
        self.carts += 1
        cart_id = f"cart_demo_{self.carts:05d}"
        total = sum(self.prices[sku] * q for sku, q in lines)
        self.event(
            customer_id,
            "cart_updated",
            channel,
            at,
            data={"cart_id": cart_id, "lines": [{"sku": sku, "quantity": q} for sku, q in lines], "total": self.money(total)},
        )
        return cart_id

    def order(self, customer_id, channel, at, lines: list[tuple[str, int]]):
        self.orders += 1
        order_id = f"WEB-{40000 + self.orders}"
        total = sum(self.prices[sku] * q for sku, q in lines)
        self.event(
            customer_id,
            "order_placed",
            channel,
            at,
            data={
                "order_id": order_id,
                "lines": [{"sku": sku, "quantity": q, "unit_price": self.money(self.prices[sku])} for sku, q in lines],
                "total": self.money(total),
            },
        )
        return order_id

    def returned(self, customer_id, channel, at, order_id, sku, quantity=1):
        self.event(
            customer_id,
            "order_returned",
            channel,
            at,
            data={
                "order_id": order_id,
                "lines": [{"sku": sku, "quantity": quantity, "unit_price": self.money(self.prices[sku])}],
                "total": self.money(self.prices[sku] * quantity),
            },
        )


def _fits(person: Person, catalogue_by_size: dict, rng: random.Random) -> str | None:
    """A SKU in one of the customer's sizes (or one size), or any SKU when nothing fits."""
    key = rng.choice(list(catalogue_by_size))
    pool = catalogue_by_size[key]
    wanted = person.sizes.get(key)
    if key == "socks" and person.sizes.get("shoes"):
        shoe = int(person.sizes["shoes"])
        wanted = "35-38" if shoe <= 38 else "39-42" if shoe <= 42 else "43-46"
    if wanted and wanted in pool:
        return rng.choice(pool[wanted])
    every = [sku for skus in pool.values() for sku in skus]
    return rng.choice(every) if every else None


def _random_history(history: History, customer_id: int, person: Person, catalogue_by_size, rng: random.Random):
    """Browsing sessions over the last months: views, wishlist, carts (bought or left), returns, messages."""
    sessions = rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 10, 14)) if person.kind == "customer" else rng.choice((1, 1, 2, 3))
    now = history.now
    starts = sorted(rng.randint(30 * 60, min(person.since_days, HISTORY_DAYS) * 86400 + 3600) for _ in range(sessions))
    for seconds_ago in starts:
        at = now - timedelta(seconds=seconds_ago)
        at = at.replace(hour=rng.choice((7, 8, 12, 13, 18, 19, 20, 21, 22)), minute=rng.randint(0, 59))
        if at > now:
            at = now - timedelta(minutes=rng.randint(5, 600))
        channel = "app" if rng.random() < 0.3 else "web"
        viewed = []
        if rng.random() < 0.15:
            history.event(
                customer_id,
                "product_searched",
                channel,
                at,
                data={"query": rng.choice(("rain jacket", "trail shoes", "merino", "backpack 28", "gift"))},
            )
        for _ in range(rng.randint(1, 4)):
            sku = _fits(person, catalogue_by_size, rng)
            if sku is None:
                continue
            at += timedelta(minutes=rng.randint(1, 6))
            history.event(customer_id, "product_viewed", channel, at, sku=sku)
            viewed.append(sku)
        if viewed and rng.random() < 0.2:
            at += timedelta(minutes=1)
            history.event(customer_id, "wishlist_added", channel, at, sku=viewed[-1])
        if viewed and rng.random() < 0.35:
            lines = [(sku, 1) for sku in dict.fromkeys(viewed[: rng.randint(1, len(viewed))])]
            at += timedelta(minutes=rng.randint(2, 8))
            cart_id = history.cart(customer_id, channel, at, lines)
            if rng.random() < 0.55:
                at += timedelta(minutes=rng.randint(3, 15))
                order_id = history.order(customer_id, channel, at, lines)
                back = at + timedelta(days=rng.randint(3, 20))
                if rng.random() < 0.15 and back < now:
                    history.returned(customer_id, channel, back, order_id, lines[0][0])
            else:
                abandoned = at + timedelta(hours=rng.randint(1, 20))
                if abandoned < now:  # a cart left this evening is not abandoned yet
                    history.event(customer_id, "cart_abandoned", channel, abandoned, data={"cart_id": cart_id})
        if rng.random() < 0.06:
            when = at + timedelta(hours=rng.randint(1, 48))
            if when < now:
                if person.phone and rng.random() < 0.4:
                    history.event(customer_id, "message_received", "sms", when, data={"text": rng.choice(MESSAGES_SMS)})
                elif person.email:
                    history.event(customer_id, "message_received", "email", when, data={"subject": rng.choice(MESSAGES_EMAIL)})


def _random_consents(history: History, customer_id: int, person: Person, created, rng: random.Random, staff_ids: list[int]):
    now = history.now

    def later(after):
        span = max(int((now - after).total_seconds()), 3600)
        return after + timedelta(seconds=rng.randint(600, span))

    def grant(purpose, chance, sources, withdraw_chance, withdraw_source):
        if rng.random() >= chance:
            if rng.random() < 0.15:  # asked and said no
                history.consent(customer_id, purpose, False, rng.choice(sources), created + timedelta(minutes=5))
            return False
        source = rng.choice(sources)
        granted_at = created + timedelta(minutes=rng.randint(1, 60))
        history.consent(customer_id, purpose, True, source, granted_at, rng.choice(staff_ids) if source == "store" and staff_ids else None)
        if rng.random() < withdraw_chance:
            history.consent(customer_id, purpose, False, withdraw_source, later(granted_at))
            return False
        return True

    if person.kind == "lead":
        newsletter = grant("email_marketing", 0.5, ("web",), 0.1, "email")
        grant("personalisation", 0.35, ("web",), 0.1, "web")
        return newsletter
    newsletter = grant("email_marketing", 0.55, ("web", "store", "app"), 0.15, "email")
    grant("sms_marketing", 0.25, ("store", "app"), 0.2, "sms")
    grant("personalisation", 0.68, ("web", "app", "store"), 0.12, rng.choice(("web", "store")))
    return newsletter


def _showcase_history(history: History, customer_id: int, stock: dict, catalogue_by_size, rng: random.Random, ana: int | None, created):
    """Lea's story: recent online interest in things Berlin Mitte has in her sizes, an order, notes."""
    now = history.now
    in_stock_here = lambda sku: stock.get(("BER-MITTE", sku), 0) >= 2  # noqa: E731
    history.consent(customer_id, "personalisation", True, "web", created + timedelta(minutes=3))
    history.consent(customer_id, "email_marketing", True, "store", created + timedelta(minutes=4), ana)
    history.consent(customer_id, "sms_marketing", True, "store", created + timedelta(minutes=4), ana)
    history.consent(customer_id, "sms_marketing", False, "sms", now - timedelta(days=41))

    def days_ago(days, hour, minute=0):
        return (now - timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)

    jacket, shoe, pack = "RTJ-MOSS-M", "T3RS-GLACIER-42", "C28B-MOSS-OS"
    known = history.prices
    extras = [sku for size in ("M", "42", "39-42", "One size") for pool in catalogue_by_size.values() for sku in pool.get(size, [])]
    extras = [sku for sku in dict.fromkeys(extras) if in_stock_here(sku) and sku not in (jacket, shoe, pack)]
    rng.shuffle(extras)
    # months ago: an order, one item sent back
    if extras:
        first = extras[:2]
        order_id = history.order(customer_id, "web", days_ago(96, 20, 14), [(sku, 1) for sku in first])
        if len(first) > 1:
            history.returned(customer_id, "web", days_ago(88, 11, 2), order_id, first[1])
    for index, sku in enumerate(extras[2:8]):
        history.event(customer_id, "product_viewed", "app" if index % 2 else "web", days_ago(60 - index * 7, 21, 5 + index), sku=sku)
    history.event(
        customer_id, "message_received", "email", days_ago(35, 9, 40), data={"subject": "Do you have the Tempo 3 in Glacier, size 42, in Berlin?"}
    )
    # the last two weeks: the jacket three times, the shoe, a cart left behind
    if jacket in known:
        history.event(customer_id, "product_viewed", "web", days_ago(12, 21, 10), sku=jacket)
        history.event(customer_id, "product_viewed", "app", days_ago(6, 7, 45), sku=jacket)
        history.event(customer_id, "wishlist_added", "app", days_ago(6, 7, 47), sku=jacket)
        history.event(customer_id, "product_viewed", "web", days_ago(2, 20, 30), sku=jacket)
    if shoe in known:
        history.event(customer_id, "product_searched", "web", days_ago(4, 19, 58), data={"query": "tempo 3"})
        history.event(customer_id, "product_viewed", "web", days_ago(4, 20, 1), sku=shoe)
        history.event(customer_id, "product_viewed", "web", days_ago(1, 22, 15), sku=shoe)
        lines = [(shoe, 1)] + ([(pack, 1)] if pack in known else [])
        cart_id = history.cart(customer_id, "web", days_ago(1, 22, 20), lines)
        history.event(
            customer_id, "cart_abandoned", "web", days_ago(0, 6, 0) if now.hour >= 7 else now - timedelta(hours=1), data={"cart_id": cart_id}
        )
    if ana is not None:
        history.note(
            customer_id,
            ana,
            "Training for the Berlin Marathon in September; wants more cushioning for her long runs. Shoes 42, tops M.",
            True,
            days_ago(70, 15, 20),
        )
        history.note(
            customer_id, ana, "Tried the Ridgeline Trail Jacket in M: fits well, wants it in Moss. Prefers earth tones.", False, days_ago(20, 16, 45)
        )


def seed_customers(catalogue, stock: dict) -> str:
    """Load the demo client book into the current transaction (flushed; the caller commits) and answer
    a summary ("320 customers (39 leads), 6,512 timeline events, 143 notes").  Idempotent: when the
    showcase customer exists already, nothing is added."""
    if find_customer_by_identity("email", SHOWCASE_EMAIL) is not None:
        return "demo customers already loaded"
    rng = random.Random(RANDOM_SEED)
    now = clock.now().replace(microsecond=0)
    staff = {s.email: s for s in db.session.scalars(select(Staff).where(Staff.active.is_(True)))}
    staff_by_store: dict[str, list[str]] = {}
    for member in staff.values():
        if member.email.endswith("@northwind.example") and member.role in ("associate", "manager"):
            for store in member.stores:
                staff_by_store.setdefault(store.code, []).append(member.email)
    for emails in staff_by_store.values():
        emails.sort()
    stores = {loc.code: loc.id for loc in db.session.scalars(select(Location).where(Location.kind == "store"))}
    people = [_showcase(), *plan_people(rng, staff_by_store)]
    taken = set(db.session.scalars(select(CustomerIdentity.value).where(CustomerIdentity.kind.in_(("email", "phone", "loyalty")))))
    people = [p for p in people if not ({p.email, p.phone, p.code} - {None}) & taken]

    # customers and their identities: the ORM batches the inserts (one statement per table)
    customers = []
    for person in people:
        created = now - timedelta(days=person.since_days, hours=rng.randint(0, 20))
        customer = Customer(
            public_id=new_id("cus"),
            name=person.name,
            kind=person.kind,
            loyalty_code=person.code,
            home_store_id=stores.get(person.home) if person.home else None,
            preferred_associate_id=staff[person.associate].id if person.associate in staff else None,
            sizes=person.sizes,
            preferences=person.preferences,
            tags=person.tags,
            search_name=fold(person.name)[:400],
            created_at=created,
            updated_at=created,
        )
        for kind, value in (("email", person.email), ("phone", person.phone), ("loyalty", person.code)):
            if value:
                customer.identities.append(CustomerIdentity(kind=kind, value=value, created_at=created))
        customers.append(customer)
    db.session.add_all(customers)
    db.session.flush()

    # what they did: rows collected in memory, then one bulk INSERT per table
    variant_ids = {sku: id for sku, id in db.session.execute(select(Variant.sku, Variant.id))}
    prices, catalogue_by_size = {}, {}
    for item in catalogue:
        if item.status != "active":
            continue
        key = SIZE_KEYS.get(item.line.category, "one size")
        for variant in item.variants:
            prices[variant.sku] = item.price
            catalogue_by_size.setdefault(key, {}).setdefault(variant.size, []).append(variant.sku)
    history = History(now, variant_ids, prices)
    ana = staff[SHOWCASE_ASSOCIATE].id if SHOWCASE_ASSOCIATE in staff else None
    for person, customer in zip(people, customers, strict=True):
        if person.code == SHOWCASE_CODE:
            _showcase_history(history, customer.id, stock, catalogue_by_size, rng, ana, customer.created_at)
            continue
        store_staff = [staff[email].id for email in staff_by_store.get(person.home or "", []) if email in staff]
        newsletter = _random_consents(history, customer.id, person, customer.created_at, rng, store_staff)
        if newsletter and person.kind == "customer" and rng.random() < 0.6:
            customer.tags = sorted({*customer.tags, "newsletter"})
        if catalogue_by_size:
            _random_history(history, customer.id, person, catalogue_by_size, rng)
        if person.kind == "customer" and store_staff and rng.random() < 0.35:
            for index in range(rng.randint(1, 3)):
                at = now - timedelta(days=rng.randint(1, min(person.since_days, HISTORY_DAYS)), hours=rng.randint(0, 8))
                history.note(customer.id, rng.choice(store_staff), rng.choice(NOTE_TEXTS), index == 0 and rng.random() < 0.25, at)
    for table, rows in ((CustomerEvent, history.events), (ConsentRecord, history.consents), (CustomerNote, history.notes)):
        for start in range(0, len(rows), 2000):
            db.session.execute(insert(table), rows[start : start + 2000])
    db.session.flush()
    leads = sum(p.kind == "lead" for p in people)
    return f"{len(people)} customers ({leads} leads), {len(history.events):,} timeline events, {len(history.notes)} notes"


def demo_customer_line(base: str) -> str | None:
    """The banner's line naming the demo customer to try, or None when the client book is not loaded."""
    customer = find_customer_by_identity("loyalty", SHOWCASE_CODE)
    if customer is None or not customer.active:
        return None
    total = db.session.scalar(select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None), Customer.erased_at.is_(None)))
    return f"  Demo customers: {total}. Try {customer.name}, loyalty code {customer.loyalty_code}: {base}/tablet/c/{customer.loyalty_code}"
