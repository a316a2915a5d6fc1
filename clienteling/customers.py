"""Customer profiles and their identities: normalising what people type, finding a customer by
any identity, creating profiles (staff) and leads (events about an unknown email or phone),
sizes, preferences, tags and consent.

Identity values are unique per kind (``customer_identity (kind, value)``): of two concurrent
requests that bring one new email, one creates the profile and the other finds it
(``find_or_create_lead``) or is told it exists (``create_customer`` raises ``Conflict``).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

import phonenumbers
from sqlalchemy import Index, and_, or_, select
from sqlalchemy.exc import IntegrityError

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db, is_postgresql
from core.errors import Conflict, NotFound, ValidationError
from core.outbox import new_id
from inventory import Location, get_location

from .models import CONSENT_PURPOSES, ConsentRecord, Customer, CustomerIdentity

# Name search at 200,000 customers: a trigram index on the folded name answers both patterns of
# ``search_page`` (``word%`` and ``% word%``) on PostgreSQL (extension pg_trgm, created by the
# migration).  Declared here, next to the query it serves; on SQLite it is a plain index (the
# same migration creates it there, so that models and migrations agree on every database).
Index(
    "ix_customer_search_name_trgm",
    Customer.search_name,
    postgresql_using="gin",
    postgresql_ops={"search_name": "gin_trgm_ops"},
)

# set by the composition root from its configuration: how a phone number without a country code is read
settings = {"phone_region": "DE"}

LOYALTY_ALPHABET = "0123456789"
LOYALTY_PREFIX = "SH"  # SH + 10 digits: short enough to read out at a till, typed on a number pad


def normalise_email(value: str, field: str = "email") -> str:
    """The email as stored and compared: trimmed, lower-cased.  Raises ValidationError naming
    ``field`` for something that is not an address."""
    email = (value or "").strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith(".") or any(ch.isspace() for ch in email):
        raise ValidationError("not an email address", field=field)
    if len(email) > 320:
        raise ValidationError("an email address has at most 320 characters", field=field)
    return email


def normalise_phone(value: str, field: str = "phone", region: str | None = None) -> str:
    """The phone number in E.164 (``+4930123456``), parsed with the ``phonenumbers`` library; a
    number without a country code is read in ``region`` (the configured default).  Raises
    ValidationError naming ``field`` for a number that is not possible."""
    text = (value or "").strip()
    try:
        number = phonenumbers.parse(text, region or settings["phone_region"])
    except phonenumbers.NumberParseException:
        raise ValidationError("not a phone number (use the international form, such as +49 30 1234567)", field=field) from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationError("not a valid phone number", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_loyalty_code(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


# letters that carry no combining accent to strip, spelt as a keyboard without them types them
UNACCENTED = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ħ": "h", "ŧ": "t"})


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name for search (``Zoë Müller`` → ``zoe muller``,
    ``Kılıç`` → ``kilic``, ``Søren`` → ``soren``, ``Łukasz`` → ``lukasz``)."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold()).translate(UNACCENTED)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(kept.split())


NAME_SEPARATORS = re.compile(r"[\s\-‐‑–'’.,/]+")


def search_words(text: str) -> list[str]:
    """The words of a name or query as search compares them: folded, split at spaces, hyphens,
    apostrophes and dots (``Müller-Lang`` → ``muller``, ``lang``)."""
    return [word for word in NAME_SEPARATORS.split(fold(text)) if word]


def _refresh_search_name(customer: Customer) -> None:
    customer.search_name = " ".join(search_words(customer.name))[:400]


def new_loyalty_code() -> str:
    return LOYALTY_PREFIX + "".join(secrets.choice(LOYALTY_ALPHABET) for _ in range(10))


def _add_identity(customer: Customer, kind: str, value: str) -> None:
    customer.identities.append(CustomerIdentity(kind=kind, value=value))


def find_customer(public_id: str, include_inactive: bool = False) -> Customer:
    """The customer with this public id; a merged profile resolves to its survivor.  Raises
    NotFound (also for an erased profile, unless ``include_inactive``)."""
    customer = db.session.scalar(select(Customer).where(Customer.public_id == public_id))
    seen = 0
    while customer is not None and customer.merged_into_id is not None and seen < 20 and not include_inactive:
        customer = db.session.get(Customer, customer.merged_into_id)
        seen += 1
    if customer is None or (customer.erased_at is not None and not include_inactive):
        raise NotFound(f"no customer {public_id}", {"id": public_id})
    return customer


def find_customer_by_identity(kind: str, value: str) -> Customer | None:
    """The customer an identity belongs to (``value`` already normalised), or None."""
    return db.session.scalar(select(Customer).join(CustomerIdentity).where(CustomerIdentity.kind == kind, CustomerIdentity.value == value))


def find_customer_by_loyalty_code(code: str) -> Customer | None:
    """The customer a scanned loyalty code (or a card from a merged profile) belongs to."""
    return find_customer_by_identity("loyalty", normalise_loyalty_code(code))


def optional_store(code: str | None, field: str = "store") -> Location | None:
    """The active store with this code, None for no code; a ValidationError on ``field`` for an
    unknown one (or a warehouse)."""
    if not code:
        return None
    return get_location(code, field=field, kinds=("store",))


def _store(code: str | None, field: str = "home_store") -> Location | None:
    return optional_store(code, field)


def create_customer(
    name: str,
    actor: Actor,
    email: str | None = None,
    phone: str | None = None,
    home_store: str | None = None,
    consents: dict | None = None,
    external_id: str | None = None,
    sizes: dict | None = None,
    tags: list | None = None,
    consent_source: str = "store",
) -> Customer:
    """A new customer profile with a loyalty code.  Raises ValidationError for a bad field and
    Conflict (``details.field``) when the email, phone or external id already belongs to a
    profile — also when a concurrent request took it first.  Flushes."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("a customer needs a name", field="name")
    if len(name) > 200:
        raise ValidationError("a name has at most 200 characters", field="name")
    wanted = []
    if email:
        wanted.append(("email", normalise_email(email)))
    if phone:
        wanted.append(("phone", normalise_phone(phone)))
    if external_id:
        wanted.append(("external", str(external_id).strip()))
    for kind, value in wanted:
        other = find_customer_by_identity(kind, value)
        if other is not None:
            raise Conflict(f"that {kind} already belongs to a customer", {"field": kind, "customer_id": other.public_id})
    customer = Customer(
        public_id=new_id("cus"),
        name=name,
        kind="customer",
        home_store=_store(home_store),
        sizes=dict(sizes or {}),
        tags=list(tags or []),
    )
    _refresh_search_name(customer)
    for kind, value in wanted:
        _add_identity(customer, kind, value)
    _give_loyalty_code(customer)
    _flush_identities(customer, wanted)
    for purpose, granted in (consents or {}).items():
        record_consent(customer, purpose, bool(granted), consent_source, actor)
    return customer


def _give_loyalty_code(customer: Customer) -> None:
    code = new_loyalty_code()
    customer.loyalty_code = code
    _add_identity(customer, "loyalty", code)


def _flush_identities(customer: Customer, wanted: list[tuple[str, str]], attach=None) -> None:
    """Insert the customer with its identities in a savepoint: a unique violation (a concurrent
    request took the email first) becomes a Conflict instead of a 500, and the transaction can
    go on.  The new rows join the session inside the savepoint (``begin_nested`` first flushes
    what is pending, outside it); ``attach()`` adds an identity to a customer already stored."""
    try:
        with db.session.begin_nested():
            if attach is not None:
                attach()
            db.session.add(customer)
            db.session.flush()
    except IntegrityError:
        _drop_pending(customer)
        taken = next(
            ((kind, value) for kind, value in wanted if find_customer_by_identity(kind, value) is not None),
            ("identity", None),
        )
        raise Conflict(f"that {taken[0]} already belongs to a customer", {"field": taken[0]}) from None


def _drop_pending(customer: Customer) -> None:
    """After a flush refused in its savepoint: take the customer (when new) and its new identities
    out of the session, so that no later autoflush tries to insert them again (on PostgreSQL that
    would abort the whole transaction) and the transaction can go on."""
    with db.session.no_autoflush:
        if customer in db.session.new:
            db.session.expunge(customer)  # cascades to its identities
            return
        for identity in list(customer.identities):
            if identity in db.session.new:
                customer.identities.remove(identity)
                if identity in db.session:
                    db.session.expunge(identity)


def find_or_create_lead(kind: str, value: str, name: str = "") -> tuple[Customer, bool]:
    """The customer this identity (normalised) belongs to, or a new lead profile holding it;
    answers (customer, created).  Safe under concurrency: of two requests bringing one new email,
    one creates the lead and the other finds it."""
    existing = find_customer_by_identity(kind, value)
    if existing is not None:
        return _survivor(existing), False
    customer = Customer(public_id=new_id("cus"), name=name or "", kind="lead")
    _refresh_search_name(customer)
    _add_identity(customer, kind, value)
    _give_loyalty_code(customer)
    try:
        with db.session.begin_nested():  # the lead joins the session inside the savepoint (see _flush_identities)
            db.session.add(customer)
            db.session.flush()
    except IntegrityError:
        _drop_pending(customer)
        existing = find_customer_by_identity(kind, value)
        if existing is None:
            raise
        return _survivor(existing), False
    return customer, True


def _survivor(customer: Customer) -> Customer:
    while customer.merged_into_id is not None:
        customer = db.session.get(Customer, customer.merged_into_id)
    return customer


def add_identity(customer: Customer, kind: str, value: str) -> CustomerIdentity:
    """Give a customer one more email, phone or external id (normalised).  Raises Conflict when it
    belongs to another profile; adding one it already has does nothing."""
    if kind == "email":
        value = normalise_email(value)
    elif kind == "phone":
        value = normalise_phone(value)
    elif kind == "external":
        value = str(value).strip()
    else:
        raise ValidationError("an identity is an email, a phone or an external id", field="kind")
    owner = find_customer_by_identity(kind, value)
    if owner is not None:
        if owner.id == customer.id:
            return next(i for i in customer.identities if i.kind == kind and i.value == value)
        raise Conflict(f"that {kind} already belongs to a customer", {"field": kind, "customer_id": owner.public_id})
    identity = CustomerIdentity(kind=kind, value=value)
    _flush_identities(customer, [(kind, value)], attach=lambda: customer.identities.append(identity))
    if customer.kind == "lead" and customer.name:
        customer.kind = "customer"
    return identity


def update_profile(
    customer: Customer,
    name: str | None = None,
    sizes: dict | None = None,
    preferences: dict | None = None,
    tags: list | None = None,
    home_store: str | None = None,
    preferred_associate_id: int | None = None,
) -> Customer:
    """Change what associates keep about a customer; only the given fields change.  A lead that
    gets a name becomes a customer."""
    if name is not None:
        name = name.strip()
        if not name:
            raise ValidationError("a customer needs a name", field="name")
        customer.name = name[:200]
        _refresh_search_name(customer)
        customer.kind = "customer"
    if sizes is not None:
        customer.sizes = {str(k).strip().lower(): str(v).strip() for k, v in sizes.items() if str(v).strip()}
    if preferences is not None:
        customer.preferences = {str(k).strip(): str(v).strip() for k, v in preferences.items() if str(v).strip()}
    if tags is not None:
        customer.tags = sorted({str(tag).strip().lower() for tag in tags if str(tag).strip()})
    if home_store is not None:
        customer.home_store = _store(home_store)
    if preferred_associate_id is not None:
        customer.preferred_associate_id = preferred_associate_id or None
    db.session.flush()
    return customer


def record_consent(customer: Customer, purpose: str, granted: bool, source: str, actor: Actor = SYSTEM, at=None) -> ConsentRecord:
    """Append a grant or withdrawal of one purpose (``email_marketing``, ``sms_marketing``,
    ``personalisation``) with where it was given; the newest record per purpose holds."""
    if purpose not in CONSENT_PURPOSES:
        raise ValidationError(f"a consent purpose is one of {', '.join(CONSENT_PURPOSES)}", field=f"consents.{purpose}")
    record = ConsentRecord(customer_id=customer.id, purpose=purpose, granted=granted, source=source, recorded_at=at or clock.now(), **actor.columns())
    db.session.add(record)
    db.session.flush()
    return record


def consents(customer: Customer) -> dict[str, dict]:
    """The consent that holds now per purpose: ``{"email_marketing": {"granted", "source",
    "recorded_at"}, ...}``; a purpose never asked is not granted (``source`` None)."""
    state = {purpose: {"granted": False, "source": None, "recorded_at": None} for purpose in CONSENT_PURPOSES}
    records = db.session.scalars(select(ConsentRecord).where(ConsentRecord.customer_id == customer.id).order_by(ConsentRecord.id))
    for record in records:
        state[record.purpose] = {"granted": record.granted, "source": record.source, "recorded_at": record.recorded_at}
    return state


def has_consent(customer: Customer, purpose: str) -> bool:
    record = db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.customer_id == customer.id, ConsentRecord.purpose == purpose)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )
    return bool(record and record.granted)


def search_page(q: str, limit: int = 25, cursor: tuple[str, int] | None = None) -> tuple[list[Customer], tuple[str, int] | None]:
    """One page of active customers (and leads) matching ``q``, keyset-paged on (search_name, id);
    answers the page and the cursor of the next one (or None).

    What ``q`` looks like decides how it is read: with an ``@`` it is an email (exact match);
    digits and phone punctuation only (six digits or more) a phone number, loyalty code or
    external id (exact); anything else names whose words start with the query's words (accent-
    and case-insensitive, through the trigram index on PostgreSQL), or a loyalty code or external
    id typed in full.  An empty ``q`` lists everyone by name."""
    text = (q or "").strip()
    # the page's keys first (narrow rows: no joined store or associate to carry through a sort),
    # then its customers
    base = select(Customer.id, Customer.search_name).where(Customer.merged_into_id.is_(None), Customer.erased_at.is_(None))
    order = Customer.search_name
    if text:
        exact_ids = _identity_matches(text)
        if _looks_like_identity(text):
            condition = Customer.id.in_(exact_ids) if exact_ids else Customer.id.is_(None)
        else:
            words = search_words(text) or [fold(text)]  # punctuation only: searched as typed
            if is_postgresql() and max(map(len, words), default=0) >= 3:
                # (a word of 3 letters or more holds a trigram) the same order, but as an expression: the planner cannot walk the btree on
                # search_name in order (filtering row by row, all 200,000 for a name nobody has)
                # and takes the trigram index instead, whose cost follows the number of matches
                order = Customer.search_name.concat("")
            name_conditions = [
                or_(Customer.search_name.like(f"{_escape(word)}%", escape="\\"), Customer.search_name.like(f"% {_escape(word)}%", escape="\\"))
                for word in words
            ]
            condition = name_conditions[0] if len(name_conditions) == 1 else and_(*name_conditions)
            if exact_ids:
                condition = or_(condition, Customer.id.in_(exact_ids))
        base = base.where(condition)
    if cursor is not None:
        name, last_id = cursor
        base = base.where(or_(Customer.search_name > name, and_(Customer.search_name == name, Customer.id > last_id)))
    keys = db.session.execute(base.order_by(order, Customer.id).limit(limit + 1)).all()
    next_cursor = None
    if len(keys) > limit:
        keys = keys[:limit]
        next_cursor = (keys[-1].search_name, keys[-1].id)
    found = (
        {customer.id: customer for customer in db.session.scalars(select(Customer).where(Customer.id.in_([key.id for key in keys])))} if keys else {}
    )
    return [found[key.id] for key in keys if key.id in found], next_cursor


PHONE_CHARACTERS = set("0123456789+()-./ ")


def _looks_like_identity(text: str) -> bool:
    """An email, or a number (phone, loyalty card typed without letters): never part of a name."""
    return "@" in text or (set(text) <= PHONE_CHARACTERS and sum(ch.isdigit() for ch in text) >= 6)


def _identity_matches(text: str) -> list[int]:
    candidates = []
    if "@" in text:
        candidates.append(("email", text.strip().lower()))
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 6:
        try:
            candidates.append(("phone", normalise_phone(text)))
        except ValidationError:
            pass
    candidates.append(("loyalty", normalise_loyalty_code(text)))
    candidates.append(("external", text.strip()))
    wanted = [(kind, value) for kind, value in candidates if value]
    if not wanted:
        return []
    condition = or_(*(and_(CustomerIdentity.kind == kind, CustomerIdentity.value == value) for kind, value in wanted))
    return list(db.session.scalars(select(CustomerIdentity.customer_id).where(condition)))


def _escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
