"""Appointments: bookable slots from a store's opening hours and its associates' availability,
booking with a pre-appointment questionnaire, check-in, completion, no-shows, cancellation, items
held for an appointment, and the associate's prep view.

Times are UTC in the database; a store's day and its opening hours are local to the store
(``Location.timezone``).  Slots start on a 30-minute grid of the store's local day; a service takes
one or more grid slots.  An appointment claims each grid slot it occupies for its associate
(``AppointmentSlotClaim``, unique on (staff_id, starts_at)): that constraint, not a check in Python,
is what keeps an associate from being booked twice, under any concurrency, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError

import inventory
from accounts import Staff, staff_store
from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.errors import Conflict, InvalidTransition, NotFound, ValidationError
from core.outbox import declare_event_types, emit, new_id
from inventory import Location, Reservation

from .appointment_models import BOOKING_CHANNELS, Appointment, AppointmentSlotClaim, AssociateAvailability, StoreHours
from .customers import (
    add_identity,
    create_customer,
    find_customer_by_identity,
    has_consent,
    normalise_email,
    normalise_phone,
    record_consent,
    update_profile,
)
from .models import Customer
from .timeline import ONLINE_CHANNELS, record_activity, timeline_page

APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_CHECKED_IN = "appointment.checked_in"
declare_event_types("clienteling", APPOINTMENT_BOOKED, APPOINTMENT_CHECKED_IN)

# minutes each service takes; every one is a whole number of grid slots
SERVICES = {"styling": 60, "fitting": 30, "repair": 30, "personal_shopping": 90}
SERVICE_NAMES = {"styling": "Styling session", "fitting": "Fitting", "repair": "Repair", "personal_shopping": "Personal shopping"}
GRID_MINUTES = 30
GRID = timedelta(minutes=GRID_MINUTES)
BOOKING_DAYS_AHEAD = 90  # how far ahead a slot can be booked
HOLD_AFTER_END = timedelta(hours=2)  # items held for an appointment stay held this long after it ends
HOLD_MAX_SECONDS = 30 * 24 * 3600  # the longest hold inventory takes
MAX_QUESTIONNAIRE_SKUS = 10
SIZE_CATEGORIES = ("tops", "bottoms", "shoes")
# a code to read out or type at a kiosk: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V look-alikes
CODE_ALPHABET = "ACDEFGHJKMNPQRTWXY34679"
CODE_LENGTH = 6


class SlotUnavailable(Conflict):
    """That slot is no longer available."""

    code = "slot_unavailable"


# --- the store's day ----------------------------------------------------------------------------


def store_zone(location: Location) -> ZoneInfo:
    try:
        return ZoneInfo(location.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_instant(local_date: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``minute`` minutes after midnight on ``local_date`` in ``zone``, reading the
    wall clock: a wall time skipped by a DST change moves forward by the length of the gap (02:00 on
    the spring-forward night is 03:00); a repeated one is its first occurrence.  Minute 1440 is the next day's midnight."""
    day = local_date + timedelta(days=minute // 1440)
    minute %= 1440
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):  # a time that does not exist here
        after = wall.replace(fold=1).astimezone(UTC)
        instant = max(instant, after)
    return instant


def local_day_bounds(location: Location, local_date: date) -> tuple[datetime, datetime]:
    """The UTC instants the store's local day begins and ends (23, 24 or 25 hours apart)."""
    zone = store_zone(location)
    return local_instant(local_date, 0, zone), local_instant(local_date, 1440, zone)


def local_today(location: Location, now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(store_zone(location)).date()


def _intervals(rows, local_date: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    return sorted((local_instant(local_date, a, zone), local_instant(local_date, b, zone)) for a, b in rows)


def opening_intervals(location: Location, local_date: date) -> list[tuple[datetime, datetime]]:
    """The store's opening hours on ``local_date`` as UTC intervals."""
    rows = db.session.execute(
        select(StoreHours.opens_minute, StoreHours.closes_minute).where(
            StoreHours.location_id == location.id, StoreHours.weekday == local_date.weekday()
        )
    ).all()
    return _intervals(rows, local_date, store_zone(location))


def _grid_starts(location: Location, local_date: date, minutes: int) -> list[datetime]:
    """Every start on the 30-minute grid inside an opening interval such that the service fits before
    it closes.  The grid is counted in real time from the opening instant, so a DST change inside the
    opening hours neither drops nor doubles a slot."""
    length = timedelta(minutes=minutes)
    starts = []
    for opens, closes in opening_intervals(location, local_date):
        start = opens
        while start + length <= closes:
            starts.append(start)
            start += GRID
    return sorted(set(starts))


def _store(store_code: str, field: str = "store") -> Location:
    return inventory.get_location(store_code, field=field, kinds=("store",))


def _service(service: str) -> int:
    if service not in SERVICES:
        raise ValidationError(f"service must be one of {', '.join(SERVICES)}", field="service")
    return SERVICES[service]


# --- who is free --------------------------------------------------------------------------------


def _associates(location: Location, local_date: date) -> dict[int, list[tuple[datetime, datetime]]]:
    """Active staff of the store with their working intervals on ``local_date`` (UTC)."""
    rows = db.session.execute(
        select(AssociateAvailability.staff_id, AssociateAvailability.starts_minute, AssociateAvailability.ends_minute)
        .join(Staff, Staff.id == AssociateAvailability.staff_id)
        .join(staff_store, (staff_store.c.staff_id == Staff.id) & (staff_store.c.location_id == location.id))
        .where(
            AssociateAvailability.location_id == location.id,
            AssociateAvailability.weekday == local_date.weekday(),
            Staff.active.is_(True),
        )
    ).all()
    zone = store_zone(location)
    by_staff: dict[int, list[tuple[datetime, datetime]]] = {}
    for staff_id, a, b in rows:
        by_staff.setdefault(staff_id, []).append((local_instant(local_date, a, zone), local_instant(local_date, b, zone)))
    return {staff_id: _merge(intervals) for staff_id, intervals in by_staff.items()}


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covers(intervals, start: datetime, end: datetime) -> bool:
    return any(a <= start and end <= b for a, b in intervals)


def _claimed(staff_ids, start: datetime, end: datetime) -> set[tuple[int, datetime]]:
    if not staff_ids:
        return set()
    rows = db.session.execute(
        select(AppointmentSlotClaim.staff_id, AppointmentSlotClaim.starts_at).where(
            AppointmentSlotClaim.staff_id.in_(list(staff_ids)),
            AppointmentSlotClaim.starts_at >= start - GRID,
            AppointmentSlotClaim.starts_at < end,
        )
    ).all()
    return {(staff_id, at) for staff_id, at in rows}


def _grid_of(start: datetime, minutes: int) -> list[datetime]:
    return [start + GRID * k for k in range(max(1, minutes // GRID_MINUTES))]


def _free_associates(location, local_date, start: datetime, minutes: int, claimed=None, working=None) -> list[int]:
    working = _associates(location, local_date) if working is None else working
    end = start + timedelta(minutes=minutes)
    candidates = [staff_id for staff_id, intervals in working.items() if _covers(intervals, start, end)]
    claimed = _claimed(candidates, start, end) if claimed is None else claimed
    return sorted(staff_id for staff_id in candidates if not any((staff_id, slot) in claimed for slot in _grid_of(start, minutes)))


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    associates: int  # how many associates could take it


def available_slots(store_code: str, local_date: date, service: str, now: datetime | None = None) -> list[Slot]:
    """The bookable slots at a store on its local day ``local_date`` for ``service``: starts on the
    30-minute grid inside the opening hours where the service fits before closing and at least one
    associate of the store works the whole duration with none of its grid slots claimed.  Slots that
    have begun are left out.  ValidationError on ``store`` or ``service``."""
    location = _store(store_code)
    minutes = _service(service)
    now = now or clock.now()
    starts = [start for start in _grid_starts(location, local_date, minutes) if start > now]
    if not starts:
        return []
    working = _associates(location, local_date)
    day_start, day_end = local_day_bounds(location, local_date)
    claimed = _claimed(working.keys(), day_start, day_end + timedelta(minutes=minutes))
    slots = []
    length = timedelta(minutes=minutes)
    for start in starts:
        free = _free_associates(location, local_date, start, minutes, claimed=claimed, working=working)
        if free:
            slots.append(Slot(start, start + length, len(free)))
    return slots


# --- the questionnaire -------------------------------------------------------------------------


def validate_questionnaire(data: dict | None, field: str = "questionnaire") -> dict:
    """The questionnaire as stored: ``occasion`` (text), ``sizes`` ({category: size}), ``budget``
    (Money as {"amount", "currency"}), ``skus`` (known SKUs, at most 10) and ``notes``; only the
    answers given.  ValidationError naming each bad field (``questionnaire.budget``,
    ``questionnaire.skus.0``)."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError("the questionnaire is an object", field=field)
    errors: dict[str, list[str]] = {}
    out: dict = {}
    for key in data:
        if key not in ("occasion", "sizes", "budget", "skus", "notes"):
            errors[f"{field}.{key}"] = ["not a questionnaire field (occasion, sizes, budget, skus, notes)"]
    for key, limit in (("occasion", 200), ("notes", 2000)):
        value = data.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            errors[f"{field}.{key}"] = ["must be text"]
        elif len(value.strip()) > limit:
            errors[f"{field}.{key}"] = [f"at most {limit} characters"]
        elif value.strip():
            out[key] = value.strip()
    sizes = data.get("sizes")
    if sizes:
        if not isinstance(sizes, dict):
            errors[f"{field}.sizes"] = ["must map a category (tops, bottoms, shoes…) to a size"]
        else:
            clean = {}
            for category, size in sizes.items():
                name = str(category).strip().lower()
                if not isinstance(size, str | int) or isinstance(size, bool) or not name or len(name) > 40 or len(str(size)) > 20:
                    errors[f"{field}.sizes.{category}"] = ["a size is short text, such as M or 42"]
                elif str(size).strip():
                    clean[name] = str(size).strip()
            if clean:
                out["sizes"] = clean
    budget = data.get("budget")
    if budget is not None:
        amount = budget.get("amount") if isinstance(budget, dict) else getattr(budget, "amount", None)
        currency = budget.get("currency") if isinstance(budget, dict) else getattr(budget, "currency", None)
        if (
            not isinstance(amount, int)
            or isinstance(amount, bool)
            or amount < 0
            or amount > 100_000_000
            or not isinstance(currency, str)
            or len(currency) != 3
            or not currency.isalpha()
        ):
            errors[f"{field}.budget"] = ['money is {"amount": whole minor units, not negative, "currency": "EUR"}']
        else:
            out["budget"] = {"amount": amount, "currency": currency.upper()}
    skus = data.get("skus")
    if skus:
        if not isinstance(skus, list):
            errors[f"{field}.skus"] = ["a list of SKUs"]
        elif len(skus) > MAX_QUESTIONNAIRE_SKUS:
            errors[f"{field}.skus"] = [f"at most {MAX_QUESTIONNAIRE_SKUS} products"]
        else:
            known = []
            for index, sku in enumerate(skus):
                if not isinstance(sku, str) or not sku.strip() or inventory.find_variant_by_sku(sku.strip()) is None:
                    errors[f"{field}.skus.{index}"] = [f"unknown SKU {sku!r}"]
                elif sku.strip() not in known:
                    known.append(sku.strip())
            if known:
                out["skus"] = known
    if errors:
        raise ValidationError("some questionnaire answers are not valid", details=errors)
    return out


# --- booking ------------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """A booking code as typed or scanned: case, spaces and dashes ignored."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:20]


def _check_start(location: Location, starts_at, minutes: int, now: datetime) -> tuple[datetime, date]:
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationError("starts_at is a time with an offset, such as 2025-03-29T10:00:00+01:00", field="starts_at")
    start = starts_at.astimezone(UTC)
    local_date = start.astimezone(store_zone(location)).date()
    if start not in _grid_starts(location, local_date, minutes):
        raise ValidationError("starts_at is not the start of a slot: see GET /stores/{code}/slots", field="starts_at")
    if start <= now:
        raise ValidationError("that time has passed", field="starts_at")
    if start > now + timedelta(days=BOOKING_DAYS_AHEAD):
        raise ValidationError(f"appointments can be booked up to {BOOKING_DAYS_AHEAD} days ahead", field="starts_at")
    return start, local_date


def _customer_for(info: dict, actor: Actor, channel: str, consents: dict | None) -> Customer:
    """The customer with this email (following merges; a lead gets the name), or a new profile."""
    if not isinstance(info, dict):
        raise ValidationError("the customer is an object with email and name", field="customer")
    email = normalise_email(info.get("email") or "", field="customer.email")
    name = (info.get("name") or "").strip() if isinstance(info.get("name"), str) else ""
    if not name:
        raise ValidationError("the customer's name is needed", field="customer.name")
    if len(name) > 200:
        raise ValidationError("a name has at most 200 characters", field="customer.name")
    phone = normalise_phone(info["phone"], field="customer.phone") if info.get("phone") else None
    source = "web" if channel in ("web", "partner") else "store"
    customer = find_customer_by_identity("email", email)
    created = False
    if customer is None:
        customer, created = _new_customer(name, actor, email, phone, consents, source)
    while customer.merged_into_id is not None:
        customer = db.session.get(Customer, customer.merged_into_id)
    if customer.erased_at is not None:
        raise ValidationError("this email cannot be used for a booking", field="customer.email")
    if not created:
        if customer.kind == "lead" or not customer.name:
            update_profile(customer, name=name)
        if phone and phone not in customer.identity_values("phone") and find_customer_by_identity("phone", phone) is None:
            try:
                with db.session.begin_nested(), db.session.no_autoflush:  # a concurrent request may take the phone: keep the booking
                    add_identity(customer, "phone", phone)
            except (Conflict, IntegrityError, InvalidRequestError):
                pass
        for purpose, granted in (consents or {}).items():
            if granted:  # a form that was not ticked withdraws nothing given before
                record_consent(customer, purpose, True, source, actor)
    return customer


def _new_customer(name, actor, email, phone, consents, source) -> tuple[Customer, bool]:
    """A new profile for the booking, in a savepoint of its own: when a concurrent request created the
    email meanwhile, that profile; when the phone belongs to someone else, a profile without it."""
    for with_phone in ((phone,) if phone else ()) + (None,):
        try:
            # no autoflush: create_customer looks the identity up after its own savepoint failed, with the
            # refused profile still pending; an autoflush would insert it again outside any savepoint
            with db.session.begin_nested(), db.session.no_autoflush:
                customer = create_customer(name, actor, email=email, phone=with_phone, consents=consents, consent_source=source)
            return customer, True
        except (Conflict, IntegrityError, InvalidRequestError):
            # InvalidRequestError: create_customer adds the profile before its own begin_nested(), whose
            # flush then fails in our savepoint, and its look-up afterwards finds our savepoint closed
            pass
        existing = find_customer_by_identity("email", email)
        if existing is not None:  # a concurrent booking created it first
            return existing, False
    raise Conflict("could not create the customer's profile; try again", {"field": "customer.email"})


def _bookings_that_day(staff_ids, location, local_date) -> dict[int, int]:
    start, end = local_day_bounds(location, local_date)
    rows = db.session.execute(
        select(Appointment.associate_id, func.count())
        .where(
            Appointment.associate_id.in_(list(staff_ids)),
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status != "cancelled",
        )
        .group_by(Appointment.associate_id)
    ).all()
    return dict(rows)


def _claim(appointment: Appointment, staff_id: int, start: datetime, minutes: int) -> bool:
    """Insert the grid slots for ``staff_id`` in a savepoint; False when one is taken (the unique
    constraint refused it: on PostgreSQL after the transaction holding it committed)."""
    try:
        with db.session.begin_nested():
            db.session.execute(
                AppointmentSlotClaim.__table__.insert(),
                [{"staff_id": staff_id, "starts_at": slot, "appointment_id": appointment.id} for slot in _grid_of(start, minutes)],
            )
    except IntegrityError:
        return False
    appointment.associate_id = staff_id
    return True


def _release_claims(appointment: Appointment) -> None:
    db.session.execute(delete(AppointmentSlotClaim).where(AppointmentSlotClaim.appointment_id == appointment.id))


def _order_candidates(free: list[int], preferred: int | None, location, local_date) -> list[int]:
    load = _bookings_that_day(free, location, local_date)
    ordered = sorted(free, key=lambda staff_id: (load.get(staff_id, 0), staff_id))
    if preferred in ordered:
        ordered.remove(preferred)
        ordered.insert(0, preferred)
    return ordered


def _insert_appointment(values: dict) -> Appointment:
    for _ in range(5):
        appointment = Appointment(code=_new_code(), **values)
        try:
            with db.session.begin_nested():  # added inside: begin_nested() flushes what is pending before its SAVEPOINT
                db.session.add(appointment)
                db.session.flush()
            return appointment
        except IntegrityError:  # the code was taken (one in millions): draw another
            continue
    raise Conflict("could not give the appointment a code; try again")


def book_appointment(
    store_code: str,
    service: str,
    starts_at: datetime,
    customer_info: dict,
    questionnaire: dict | None = None,
    actor: Actor = SYSTEM,
    channel: str = "web",
    associate_id: int | None = None,
    consents: dict | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book ``service`` at ``store_code`` starting at ``starts_at`` (a grid start of the store's
    opening hours) for the customer with ``customer_info["email"]`` (found, or created with its name
    and optional phone; ``consents`` {purpose: bool} recorded with the booking's channel as source).

    The associate is ``associate_id`` when given, else the customer's preferred associate when free,
    else the least booked free one that day.  Its grid slots are claimed in a savepoint; when a
    concurrent booking took one first, the next free associate is tried, and with none left the
    answer is SlotUnavailable (409 ``slot_unavailable``).  ValidationError names the field for a bad
    store, service, starts_at (not a slot start, passed), customer or questionnaire.  Records
    ``appointment_booked`` on the timeline and emits ``appointment.booked``.  Flushes."""
    if channel not in BOOKING_CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(BOOKING_CHANNELS)}")
    location = _store(store_code)
    minutes = _service(service)
    now = now or clock.now()
    start, local_date = _check_start(location, starts_at, minutes, now)
    answers = validate_questionnaire(questionnaire)
    customer = _customer_for(customer_info, actor, channel, consents)

    free = _free_associates(location, local_date, start, minutes)
    if associate_id is not None:
        if associate_id not in free:
            raise SlotUnavailable("that associate is not free at that time", {"starts_at": clock.isoformat(start), "associate_id": associate_id})
        candidates = [associate_id]
    else:
        candidates = _order_candidates(free, customer.preferred_associate_id, location, local_date)
    if not candidates:
        raise SlotUnavailable("that slot is no longer available; choose another", {"starts_at": clock.isoformat(start)})
    appointment = _insert_appointment(
        {
            "public_id": new_id("apt"),
            "location_id": location.id,
            "service": service,
            "starts_at": start,
            "ends_at": start + timedelta(minutes=minutes),
            "customer_id": customer.id,
            "status": "booked",
            "questionnaire": answers,
            "channel": channel,
            "created_at": now,
            **actor.columns(),
        }
    )
    if not any(_claim(appointment, staff_id, start, minutes) for staff_id in candidates):
        raise SlotUnavailable("that slot was just taken; choose another", {"starts_at": clock.isoformat(start)})
    db.session.flush()
    _record(appointment, "appointment_booked", actor, channel="web" if channel in ("web", "partner") else "store")
    emit(APPOINTMENT_BOOKED, appointment_payload(appointment))
    return appointment


def reschedule(appointment: Appointment, starts_at: datetime, actor: Actor = SYSTEM, now: datetime | None = None) -> Appointment:
    """Move a booked appointment to another slot of its store: its claims are released and the new
    slots claimed (the same associate when free, else another; SlotUnavailable when none is)."""
    if appointment.status != "booked":
        raise InvalidTransition(f"a {appointment.status.replace('_', ' ')} appointment cannot be moved")
    location = appointment.location
    minutes = SERVICES[appointment.service]
    start, local_date = _check_start(location, starts_at, minutes, now or clock.now())
    _release_claims(appointment)
    db.session.flush()
    free = _free_associates(location, local_date, start, minutes)
    candidates = _order_candidates(free, appointment.associate_id, location, local_date)
    if not any(_claim(appointment, staff_id, start, minutes) for staff_id in candidates):
        raise SlotUnavailable("that slot is not available; choose another", {"starts_at": clock.isoformat(start)})
    appointment.starts_at, appointment.ends_at = start, start + timedelta(minutes=minutes)
    db.session.flush()
    return appointment


# --- after booking ------------------------------------------------------------------------------


def _record(appointment: Appointment, type: str, actor: Actor, channel: str = "store") -> None:
    record_activity(
        appointment.customer,
        type,
        channel=channel,
        actor=actor,
        store_id=appointment.location_id,
        staff_id=appointment.associate_id,
        data={
            "appointment_id": appointment.public_id,
            "code": appointment.code,
            "service": appointment.service,
            "starts_at": clock.isoformat(appointment.starts_at),
        },
    )


def check_in(appointment: Appointment, actor: Actor = SYSTEM, now: datetime | None = None) -> Appointment:
    """The customer has arrived: booked → checked_in, on the appointment's local day only.  Checking in
    a checked-in appointment answers it unchanged (a second scan at the kiosk); any other state, or
    another day, is InvalidTransition (422).  Records ``appointment_checked_in`` and emits
    ``appointment.checked_in`` (the web layer routes it live to the associate and the store)."""
    if appointment.status == "checked_in":
        return appointment
    if appointment.status != "booked":
        raise InvalidTransition(f"a {appointment.status.replace('_', ' ')} appointment cannot be checked in")
    now = now or clock.now()
    day = appointment.starts_at.astimezone(store_zone(appointment.location)).date()
    if local_today(appointment.location, now) != day:
        raise InvalidTransition(f"this appointment is on {day.isoformat()}; check in on the day")
    appointment.status = "checked_in"
    appointment.checked_in_at = now
    db.session.flush()
    _record(appointment, "appointment_checked_in", actor, channel="kiosk" if actor.kind == "kiosk" else "store")
    payload = appointment_payload(appointment)
    payload["customer_name"] = appointment.customer.name
    payload["associate_name"] = appointment.associate.name if appointment.associate else None
    payload["starts_at_local"] = appointment.starts_at.astimezone(store_zone(appointment.location)).isoformat(timespec="seconds")
    emit(APPOINTMENT_CHECKED_IN, payload)
    return appointment


def _close(appointment: Appointment, status: str, allowed: tuple[str, ...], timeline_type: str, actor: Actor) -> Appointment:
    if appointment.status == status:
        return appointment
    if appointment.status not in allowed:
        raise InvalidTransition(f"a {appointment.status.replace('_', ' ')} appointment cannot be marked {status.replace('_', ' ')}")
    appointment.status = status
    appointment.closed_at = clock.now()
    db.session.flush()
    _record(appointment, timeline_type, actor)
    return appointment


def complete(appointment: Appointment, actor: Actor = SYSTEM) -> Appointment:
    """The appointment took place: booked or checked_in → completed (again: unchanged).  Items held for
    it stay held until their expiry, for the sale that may follow."""
    return _close(appointment, "completed", ("booked", "checked_in"), "appointment_completed", actor)


def mark_no_show(appointment: Appointment, actor: Actor = SYSTEM) -> Appointment:
    """The customer did not come: booked → no_show; its slots and held items are released."""
    _close(appointment, "no_show", ("booked",), "appointment_no_show", actor)
    _release_claims(appointment)
    release_holds(appointment, actor)
    return appointment


def cancel(appointment: Appointment, actor: Actor = SYSTEM) -> Appointment:
    """booked or checked_in → cancelled (again: unchanged); its slots become bookable again and the
    items held for it available."""
    _close(appointment, "cancelled", ("booked", "checked_in"), "appointment_cancelled", actor)
    _release_claims(appointment)
    release_holds(appointment, actor)
    return appointment


def hold_items_for_appointment(appointment: Appointment, skus_with_qty: list[dict], actor: Actor = SYSTEM) -> Reservation:
    """Hold ``[{"sku", "quantity"}]`` at the appointment's store (an ``appointment_hold`` reservation
    referenced to the appointment's id), until two hours after the appointment ends.  All lines or
    none: ValidationError naming ``lines.N.sku``, InsufficientStock listing the short lines.  Only for
    a booked or checked-in appointment (else InvalidTransition)."""
    if appointment.status not in ("booked", "checked_in"):
        raise InvalidTransition(f"a {appointment.status.replace('_', ' ')} appointment holds no items")
    seconds = int((appointment.ends_at + HOLD_AFTER_END - clock.now()).total_seconds())
    seconds = min(max(seconds, 3600), HOLD_MAX_SECONDS)
    return inventory.reserve(
        appointment.location.code, skus_with_qty, "appointment_hold", reference=appointment.public_id, expires_in=seconds, actor=actor
    )


def appointment_holds(appointment: Appointment, live_only: bool = True) -> list[Reservation]:
    """The reservations made for this appointment (by default only those still held), oldest first."""
    query = select(Reservation).where(Reservation.reference == appointment.public_id, Reservation.kind == "appointment_hold")
    if live_only:
        query = query.where(Reservation.status == "held")
    return list(db.session.scalars(query.order_by(Reservation.id)))


def release_holds(appointment: Appointment, actor: Actor = SYSTEM) -> int:
    held = appointment_holds(appointment)
    for reservation in held:
        inventory.release_reservation(reservation.public_id, actor=SYSTEM if actor.kind not in ("staff", "system") else actor)
    return len(held)


# --- finding ------------------------------------------------------------------------------------


def find_appointment(public_id: str) -> Appointment:
    """The appointment with this ``apt_…`` id; NotFound otherwise."""
    appointment = db.session.scalar(select(Appointment).where(Appointment.public_id == public_id))
    if appointment is None:
        raise NotFound(f"no appointment {public_id}", {"id": public_id})
    return appointment


def find_appointment_by_code(code: str) -> Appointment | None:
    """The appointment with this booking code (typed or scanned, any case, spaces ignored), or None."""
    code = normalise_code(code)
    if len(code) != CODE_LENGTH:
        return None
    return db.session.scalar(select(Appointment).where(Appointment.code == code))


def appointments_for_day(store_code: str, local_date: date, associate_id: int | None = None) -> list[Appointment]:
    """A store's appointments on its local day (every status), by start time; one associate's only
    with ``associate_id``."""
    location = _store(store_code)
    start, end = local_day_bounds(location, local_date)
    query = select(Appointment).where(Appointment.location_id == location.id, Appointment.starts_at >= start, Appointment.starts_at < end)
    if associate_id is not None:
        query = query.where(Appointment.associate_id == associate_id)
    return list(db.session.scalars(query.order_by(Appointment.starts_at, Appointment.id)))


def appointment_payload(appointment: Appointment) -> dict:
    """What the API and the webhooks say about an appointment."""
    return {
        "id": appointment.public_id,
        "code": appointment.code,
        "status": appointment.status,
        "store": appointment.location.code,
        "service": appointment.service,
        "starts_at": clock.isoformat(appointment.starts_at),
        "ends_at": clock.isoformat(appointment.ends_at),
        "customer_id": appointment.customer.public_id,
        "associate_id": appointment.associate_id,
        "channel": appointment.channel,
    }


# --- opening hours and availability ----------------------------------------------------------


def _minutes(value, field: str) -> int:
    if isinstance(value, str):
        hours, _, mins = value.partition(":")
        if not (hours.isdigit() and mins.isdigit()):
            raise ValidationError("a time of day is HH:MM", field=field)
        value = int(hours) * 60 + int(mins)
    if not isinstance(value, int) or not 0 <= value <= 1440:
        raise ValidationError("a time of day is between 00:00 and 24:00", field=field)
    return value


def set_store_hours(store_code: str, hours: dict[int, list[tuple]]) -> list[StoreHours]:
    """Replace a store's opening hours: ``{weekday: [(opens, closes), ...]}`` with weekday 0 Monday …
    6 Sunday and times as minutes or "HH:MM"; a weekday left out is closed."""
    location = _store(store_code)
    db.session.execute(delete(StoreHours).where(StoreHours.location_id == location.id))
    rows = []
    for weekday, intervals in sorted(hours.items()):
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValidationError("a weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
        for opens, closes in intervals:
            a, b = _minutes(opens, "opens"), _minutes(closes, "closes")
            if a >= b:
                raise ValidationError("a store closes after it opens", field="closes")
            rows.append(StoreHours(location_id=location.id, weekday=weekday, opens_minute=a, closes_minute=b))
    db.session.add_all(rows)
    db.session.flush()
    return rows


def set_associate_availability(staff: Staff, store_code: str, hours: dict[int, list[tuple]]) -> list[AssociateAvailability]:
    """Replace when ``staff`` works at a store: ``{weekday: [(starts, ends), ...]}`` as in
    ``set_store_hours``.  ValidationError unless the staff member belongs to the store."""
    location = _store(store_code)
    if not any(store.id == location.id for store in staff.stores):
        raise ValidationError(f"{staff.name} does not work at {store_code}", field="staff")
    db.session.execute(
        delete(AssociateAvailability).where(AssociateAvailability.staff_id == staff.id, AssociateAvailability.location_id == location.id)
    )
    rows = []
    for weekday, intervals in sorted(hours.items()):
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValidationError("a weekday is 0 (Monday) to 6 (Sunday)", field="weekday")
        for starts, ends in intervals:
            a, b = _minutes(starts, "starts"), _minutes(ends, "ends")
            if a >= b:
                raise ValidationError("a shift ends after it starts", field="ends")
            rows.append(AssociateAvailability(staff_id=staff.id, location_id=location.id, weekday=weekday, starts_minute=a, ends_minute=b))
    db.session.add_all(rows)
    db.session.flush()
    return rows


# --- the prep view ------------------------------------------------------------------------------

_SHOE_WORDS = ("shoe", "boot", "sneaker", "trainer", "sandal", "footwear")
_BOTTOM_WORDS = ("legging", "short", "trouser", "pant", "jean", "skirt", "tight", "bottom", "jogger")
_ONE_SIZE_WORDS = ("sock", "beanie", "cap", "hat", "bottle", "backpack", "bag", "glove", "accessor")


def size_category(product) -> str | None:
    """Which of the questionnaire's size categories (tops, bottoms, shoes) a product is sized in;
    None for accessories sold in one size."""
    words = " ".join(filter(None, [product.category.name if product.category else "", product.title])).lower()
    if any(word in words for word in _SHOE_WORDS):
        return "shoes"
    if any(word in words for word in _ONE_SIZE_WORDS):
        return None
    if any(word in words for word in _BOTTOM_WORDS):
        return "bottoms"
    return "tops"


def _variant_in_size(product, wanted_size: str | None, like=None):
    """The product's variant in ``wanted_size`` (keeping ``like``'s colour when it has one), else None."""
    if not wanted_size:
        return None
    size = wanted_size.strip().lower().removeprefix("eu ").strip()
    matches = [v for v in product.variants if str((v.options or {}).get("size", "")).strip().lower().removeprefix("eu ").strip() == size]
    if like is not None:
        colour = (like.options or {}).get("color") or (like.options or {}).get("colour")
        same = [v for v in matches if ((v.options or {}).get("color") or (v.options or {}).get("colour")) == colour]
        matches = same or matches
    return matches[0] if matches else None


def prepare(appointment: Appointment, activity_limit: int = 10) -> dict:
    """What the associate reads before the appointment: the questionnaire, the sizes to bring (the
    questionnaire's, else the profile's), the customer's recent activity (online channels only with
    the ``personalisation`` consent), and the products of interest — asked for in the questionnaire,
    or viewed and wishlisted online (with consent) — each in the customer's size with its stock here,
    plus what is already held for the appointment."""
    customer = appointment.customer
    store = appointment.location
    personalised = has_consent(customer, "personalisation")
    activity, _ = timeline_page(customer, limit=activity_limit, show_online=personalised)
    sizes = {**(customer.sizes or {}), **appointment.questionnaire.get("sizes", {})}

    interest: list[tuple[str, str]] = [(sku, "asked for in the questionnaire") for sku in appointment.questionnaire.get("skus", [])]
    if personalised:
        online, _ = timeline_page(customer, limit=100, show_online=True)
        counts: dict[str, list] = {}
        for event in online:
            if event.channel in ONLINE_CHANNELS and event.sku and event.type in ("product_viewed", "wishlist_added"):
                counts.setdefault(event.sku, []).append(event.type)
        for sku, types in counts.items():
            views = types.count("product_viewed")
            reason = "on their wishlist" if "wishlist_added" in types else f"viewed online {views} time{'s' if views != 1 else ''}"
            interest.append((sku, reason))

    products, seen = [], set()
    for sku, reason in interest:
        variant = inventory.find_variant_by_sku(sku)
        if variant is None or variant.product_id in seen:
            continue
        seen.add(variant.product_id)
        category = size_category(variant.product)
        size = sizes.get(category) if category else None
        in_size = _variant_in_size(variant.product, size, like=variant) if size else None
        products.append(
            {
                "product": variant.product,
                "asked": variant,
                "variant": in_size or variant,
                "size": size,
                "category": category,
                "reason": reason,
                "in_size": in_size is not None or not size,
            }
        )
        if len(products) >= 12:
            break
    skus = sorted({item["variant"].sku for item in products} | {item["asked"].sku for item in products})
    stock = {item["sku"]: item for item in inventory.availability(skus, store.code)[0]} if skus else {}
    for item in products:
        item["available_here"] = stock.get(item["variant"].sku, {}).get("available", 0)
        item["sku"] = item["variant"].sku

    return {
        "appointment": appointment,
        "customer": customer,
        "store": store,
        "service_name": SERVICE_NAMES.get(appointment.service, appointment.service),
        "questionnaire": appointment.questionnaire,
        "sizes": sizes,
        "personalised": personalised,
        "activity": activity,
        "products": products,
        "holds": appointment_holds(appointment),
    }


def appointments_of_customer(customer: Customer, limit: int = 20) -> list[Appointment]:
    """The customer's appointments, the latest start first (upcoming and past)."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.customer_id == customer.id)
            .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
            .limit(limit)
        )
    )
