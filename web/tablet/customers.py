"""Tablet screens for customers: search (results as you type, a scanned loyalty card opens the
profile), a new customer, the profile with notes, sizes, tags, consent and the timeline, the
loyalty QR code, and the associate's client book.

Every opening of a profile page is written to the profile-view log (``via="tablet"``).  Without a
granted personalisation consent the profile shows no online activity.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

import clienteling
from accounts import ROLES, Staff
from core import db
from core.actor import Actor
from core.errors import Conflict, NotFound, ValidationError
from core.pagination import decode_cursor, encode_cursor

from ..access_log import writes_on_get
from ..auth import require_role
from ..htmx import is_partial, redirect_to
from ..viewmodels import customers as views
from ..viewmodels.messages import sentence as _sentence
from . import bp

PAGE_SIZE = 25
TIMELINE_PAGE = 30
CLIENT_BOOK_PAGE = 50
QR_PATH = re.compile(r"/tablet/c/([A-Za-z0-9-]+)/?$")
LOYALTY_CODE = re.compile(r"^[A-Za-z]{2}[\s-]?\d[\d\s-]{5,}$")


def _actor() -> Actor:
    return Actor("staff", current_user.id, current_user.name)


def _cursor(value: str | None) -> tuple[str, int] | None:
    """A keyset cursor from the query string; a tampered one is a 400 on ``cursor``."""
    decoded = decode_cursor(value)
    if decoded is None:
        return None
    if not (isinstance(decoded, list) and len(decoded) == 2 and isinstance(decoded[0], str) and isinstance(decoded[1], int)):
        raise ValidationError("not a valid cursor", field="cursor")
    return decoded[0], decoded[1]


def scanned_loyalty_code(query: str) -> str | None:
    """The loyalty code in what a scanner typed: the card's QR link (``…/tablet/c/SH0123456789``)
    or the printed code itself; None for anything else."""
    text = query.strip()
    if "/tablet/c/" in text:
        match = QR_PATH.search(urlsplit(text).path if "://" in text else text)
        return match.group(1) if match else None
    if LOYALTY_CODE.match(text):
        return text
    return None


def card_owner(code: str):
    """The active customer a loyalty code belongs to (a merged profile's card: its survivor), or None."""
    customer = clienteling.find_customer_by_loyalty_code(code)
    if customer is None:
        return None
    try:
        return clienteling.find_customer(customer.public_id)
    except NotFound:  # erased
        return None


@bp.get("/customers")
@require_role(*ROLES)
def customers():
    """Customer search.  An exact loyalty code or a scanned card opens the profile; an htmx
    request while typing (``live=1``) gets only the results, without jumping anywhere."""
    query = request.args.get("q", "").strip()[:200]
    cursor = request.args.get("cursor") or None
    as_you_type = request.args.get("live") == "1"
    if query and not cursor and not as_you_type:
        code = scanned_loyalty_code(query)
        customer = card_owner(code) if code else None
        if customer is not None:
            return redirect_to(url_for(".customer", public_id=customer.public_id))
    rows, next_cursor = [], None
    if query:
        found, after = clienteling.search_page(query, limit=PAGE_SIZE, cursor=_cursor(cursor))
        rows, next_cursor = views.search_rows(found), (encode_cursor(list(after)) if after else None)
    partial = is_partial("customer-results")
    page = render_template(
        "tablet/customers/_results.html" if partial else "tablet/customers/search.html",
        query=query,
        cursor=cursor,
        rows=rows,
        next_cursor=next_cursor,
    )
    if partial:
        return page, {"HX-Replace-Url": url_for(".customers", q=query or None)}
    return page


# --- a new customer ------------------------------------------------------------------------------


def _store_codes() -> list:
    return [{"code": s.code, "name": s.name} for s in g.get("stores", [])]


@bp.get("/customers/new")
@require_role(*ROLES)
def new_customer():
    form = {"name": request.args.get("name", ""), "home_store": g.store.code if g.store else ""}
    return render_template("tablet/customers/new.html", form=form, errors={}, conflict=None, store_choices=_store_codes())


@bp.post("/customers")
@require_role(*ROLES)
def create_customer():
    """Create a profile with the consents the customer gave here (source "store").  A bad field
    re-shows the form naming it (400); an email or phone that belongs to someone else says whose
    it is (409)."""
    form = {key: request.form.get(key, "").strip() for key in ("name", "email", "phone", "home_store")}
    chosen = {purpose: request.form.get(f"consent_{purpose}") == "1" for purpose in clienteling.CONSENT_PURPOSES}
    form.update({f"consent_{purpose}": granted for purpose, granted in chosen.items()})
    if form["home_store"] and form["home_store"] not in {s["code"] for s in _store_codes()}:
        return _new_form(form, {"home_store": "Choose one of your stores."}, None, 400)
    try:
        customer = clienteling.create_customer(
            form["name"],
            _actor(),
            email=form["email"] or None,
            phone=form["phone"] or None,
            home_store=form["home_store"] or None,
            consents={purpose: True for purpose, granted in chosen.items() if granted},
            consent_source="store",
        )
    except ValidationError as error:
        db.session.rollback()
        return _new_form(form, {_field(error, "name"): _sentence(error.message)}, None, 400)
    except Conflict as error:
        db.session.rollback()
        details = error.details or {}
        owner = None
        if details.get("customer_id"):
            try:
                owner = clienteling.find_customer(details["customer_id"])
            except NotFound:
                owner = None
        field = details.get("field", "email")
        conflict = {"field": field, "name": views.customer_name(owner) if owner else None, "id": owner.public_id if owner else None}
        return _new_form(form, {}, conflict, 409)
    flash(f"{customer.name} is now a customer, with loyalty code {customer.loyalty_code}.", "info")
    return redirect(url_for(".customer", public_id=customer.public_id))


def _field(error: ValidationError, default: str) -> str:
    """The form field a domain ValidationError names (its details' first key)."""
    details = error.details if isinstance(error.details, dict) else {}
    return next(iter(details), default)


def _new_form(form, errors, conflict, status):
    return render_template("tablet/customers/new.html", form=form, errors=errors, conflict=conflict, store_choices=_store_codes()), status


# --- the profile -------------------------------------------------------------------------------------


def _find(public_id: str):
    return clienteling.find_customer(public_id)


def _timeline(customer, zone, show_online: bool):
    channel = request.args.get("channel") or None
    kind = request.args.get("type") or None
    if channel and channel not in clienteling.CHANNELS:
        raise ValidationError(f"a channel is one of {', '.join(clienteling.CHANNELS)}", field="channel")
    if kind and kind not in views.TYPE_LABELS:
        raise ValidationError("not a timeline entry type", field="type")
    if channel in clienteling.ONLINE_CHANNELS and not show_online:
        events, after = [], None
    else:
        events, after = clienteling.timeline_page(
            customer, cursor=_cursor(request.args.get("cursor")), channel=channel, type=kind, limit=TIMELINE_PAGE, show_online=show_online
        )
    older = None
    if after is not None:
        older = url_for(".customer", public_id=customer.public_id, channel=channel, type=kind, cursor=encode_cursor(list(after)))
    return {
        "events": views.timeline_view(events, zone),
        "older": older,
        "channel": channel or "",
        "type": kind or "",
        "channels": [(c, views.CHANNEL_LABELS[c]) for c in clienteling.CHANNELS if show_online or c not in clienteling.ONLINE_CHANNELS],
        "types": list(views.TYPE_LABELS.items()),
        "show_online": show_online,
        "hidden_line": None if show_online else views.ONLINE_HIDDEN,
        "filtered": bool(channel or kind),
        "paged": bool(request.args.get("cursor")),
    }


def _profile_context(customer, errors=None, note_text="", note_pinned=False):
    zone = views.zone_of(g.store)
    show_online = views.shows_online(customer)
    return {
        "customer": customer,
        "profile": views.profile_view(customer, zone),
        "consents": views.consent_view(customer, zone),
        "notes": views.note_views(clienteling.list_notes(customer), zone),
        "timeline": _timeline(customer, zone, show_online),
        "errors": errors or {},
        "note_text": note_text,
        "note_pinned": note_pinned,
        "store_options": [(s.code, s.name) for s in _all_stores()],
        "staff_options": views.staff_choices(),
        "qr_target": loyalty_url(customer.loyalty_code) if customer.loyalty_code else None,
        **_sections(customer, zone, show_online),
    }


def _sections(customer, zone, show_online: bool) -> dict:
    """The sections other parts of clienteling deliver: the summary, what to show them here today,
    their appointments and the open tasks about them."""
    summary = clienteling.customer_summary(customer, show_online=show_online)
    value = summary["lifetime_value"]
    store_code = g.store.code if g.store is not None else None
    appointments = [
        {
            "id": a.public_id,
            "when": views.local_time(a.starts_at, clienteling.store_zone(a.location)),
            "service": clienteling.SERVICE_NAMES.get(a.service, a.service),
            "store": a.location.name,
            "status": a.status.replace("_", " "),
        }
        for a in clienteling.appointments_of_customer(customer, limit=10)
    ]
    tasks = [
        {"reason": t.reason, "due": t.due_on.strftime("%d %b"), "assignee": t.assignee.name if getattr(t, "assignee", None) else ""}
        for t in clienteling.tasks_about(customer)
    ]
    return {
        "summary": summary,
        "summary_view": {"online": views.money_text(value["online"]), "store": views.money_text(value["store"])},
        "personalised": show_online,
        "recommendations": clienteling.recommend(customer, store_code, limit=6) if store_code else [],
        "appointments": appointments,
        "customer_tasks": tasks,
    }


def _all_stores():
    from inventory import list_locations

    return list_locations(kinds=("store",))


@bp.get("/customers/<public_id>")
@require_role(*ROLES)
@writes_on_get
def customer(public_id):
    """The customer's profile; the opening is logged (not the timeline's filter and paging requests)."""
    customer = _find(public_id)
    if customer.public_id != public_id:  # a merged duplicate: the survivor's page
        return redirect(url_for(".customer", public_id=customer.public_id, **request.args))
    if is_partial("timeline") or is_partial("timeline-older"):
        zone = views.zone_of(g.store)
        timeline = _timeline(customer, zone, views.shows_online(customer))
        template = "tablet/customers/_timeline_page.html" if is_partial("timeline-older") else "tablet/customers/_timeline.html"
        response = render_template(template, timeline=timeline, customer=customer)
        if is_partial("timeline"):
            return response, {
                "HX-Replace-Url": url_for(".customer", public_id=public_id, channel=timeline["channel"] or None, type=timeline["type"] or None)
            }
        return response
    clienteling.record_profile_view(customer, current_user.id, via="tablet")
    return render_template("tablet/customers/profile.html", **_profile_context(customer))


@bp.post("/customers/<public_id>/notes")
@require_role(*ROLES)
def add_note(public_id):
    customer = _find(public_id)
    text, pinned = request.form.get("text", ""), request.form.get("pinned") == "1"
    try:
        clienteling.add_note(customer, current_user.id, text, pinned=pinned)
    except ValidationError as error:
        db.session.rollback()
        customer = _find(public_id)
        errors = {"text": f"Note: {_sentence(error.message)}"}
        return render_template("tablet/customers/profile.html", **_profile_context(customer, errors, text, pinned)), 400
    flash("Note added." if not pinned else "Note added and pinned.", "info")
    return redirect(url_for(".customer", public_id=customer.public_id, _anchor="notes"))


@bp.post("/customers/<public_id>/notes/<int:note_id>/pin")
@require_role(*ROLES)
def pin_note(public_id, note_id):
    customer = _find(public_id)
    pinned = request.form.get("pinned") == "1"
    clienteling.set_note_pinned(customer, note_id, pinned)
    flash("Note pinned." if pinned else "Note unpinned.", "info")
    return redirect(url_for(".customer", public_id=customer.public_id, _anchor="notes"))


@bp.post("/customers/<public_id>/profile")
@require_role(*ROLES)
def update_profile(public_id):
    """Sizes, preferences, tags, home store and preferred associate from the edit form."""
    customer = _find(public_id)
    form = request.form
    sizes = {category: form.get(f"size_{category}", "").strip() for category in views.SIZE_CATEGORIES}
    too_long = next((c for c, v in sizes.items() if len(v) > 20), None)
    errors = {}
    if too_long:
        errors[f"size_{too_long}"] = "A size has at most 20 characters."
    kept_sizes = {k: v for k, v in (customer.sizes or {}).items() if k not in views.SIZE_CATEGORIES}
    preferences = {key: form.get(f"pref_{key}", "").strip() for key, _ in views.PREFERENCE_KEYS}
    long_pref = next((k for k, v in preferences.items() if len(v) > 200), None)
    if long_pref:
        errors[f"pref_{long_pref}"] = "At most 200 characters."
    kept_preferences = {k: v for k, v in (customer.preferences or {}).items() if k not in dict(views.PREFERENCE_KEYS)}
    tags = [tag.strip() for tag in form.get("tags", "").split(",") if tag.strip()]
    if any(len(tag) > 40 for tag in tags) or len(tags) > 30:
        errors["tags"] = "Up to 30 tags of at most 40 characters each, separated by commas."
    home_store = form.get("home_store", "").strip()
    if home_store and home_store not in {s.code for s in _all_stores()}:
        errors["home_store"] = "Choose a store from the list."
    associate = form.get("preferred_associate", "").strip()
    associate_id = 0
    if associate:
        staff = db.session.get(Staff, int(associate)) if associate.isdigit() else None
        if staff is None or not staff.active:
            errors["preferred_associate"] = "Choose an associate from the list."
        else:
            associate_id = staff.id
    if errors:
        return render_template("tablet/customers/profile.html", **_profile_context(customer, errors), edit_open=True), 400
    clienteling.update_profile(
        customer,
        sizes={**kept_sizes, **sizes},
        preferences={**kept_preferences, **preferences},
        tags=tags,
        home_store=home_store,
        preferred_associate_id=associate_id,
    )
    flash("Profile saved.", "info")
    return redirect(url_for(".customer", public_id=customer.public_id))


@bp.post("/customers/<public_id>/consents")
@require_role(*ROLES)
def record_consent(public_id):
    """Grant or withdraw one purpose as the customer says at the store (source "store")."""
    customer = _find(public_id)
    purpose = request.form.get("purpose", "")
    if purpose not in clienteling.CONSENT_PURPOSES:
        raise ValidationError("choose a consent purpose", field="purpose")
    granted = request.form.get("granted")
    if granted not in ("0", "1"):
        raise ValidationError("say whether the customer gives or withdraws consent", field="granted")
    clienteling.record_consent(customer, purpose, granted == "1", "store", _actor())
    label = views.CONSENT_LABELS[purpose].split(" (")[0]
    flash(f"{label}: consent {'recorded' if granted == '1' else 'withdrawn'}.", "info")
    return redirect(url_for(".customer", public_id=customer.public_id, _anchor="consent"))


# --- loyalty QR ----------------------------------------------------------------------------------------


def loyalty_url(code: str) -> str:
    """What the card's QR code holds: this site's link that opens the profile for signed-in staff."""
    return url_for("tablet.loyalty_card", code=code, _external=True)


@bp.get("/customers/<public_id>/loyalty-qr.svg")
@require_role(*ROLES)
def loyalty_qr(public_id):
    customer = _find(public_id)
    if not customer.loyalty_code:
        raise NotFound("this customer has no loyalty code")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10, image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(loyalty_url(customer.loyalty_code))
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/c/<code>")
@require_role(*ROLES)
def loyalty_card(code):
    """A scanned loyalty card: the profile, or a friendly page when no customer has that code."""
    customer = card_owner(code)
    if customer is None:
        return render_template("tablet/customers/unknown_card.html", code=code[:40]), 404
    return redirect(url_for(".customer", public_id=customer.public_id))


# --- the client book -------------------------------------------------------------------------------


@bp.get("/clients")
@require_role(*ROLES)
def client_book():
    """Customers whose preferred associate I am, or whose home store is my current store, by name."""
    cursor = request.args.get("cursor") or None
    store_id = g.store.id if g.store else None
    only_mine = request.args.get("mine") == "1"
    found, after = views.client_book_page(current_user.id, store_id, cursor=_cursor(cursor), limit=CLIENT_BOOK_PAGE, only_mine=only_mine)
    rows = views.client_rows(found, views.zone_of(g.store), current_user.id)
    return render_template(
        "tablet/customers/client_book.html",
        rows=rows,
        cursor=cursor,
        only_mine=only_mine,
        next_cursor=encode_cursor(list(after)) if after else None,
    )


__all__ = ["loyalty_url", "scanned_loyalty_code"]


# --- privacy: managers export and erase, admins read who opened which profile ---------------------


def _actor() -> Actor:
    return Actor("staff", current_user.id, current_user.name)


@bp.get("/customers/<public_id>/export.json")
@require_role("manager", "admin")
@writes_on_get
def export_customer(public_id):
    """Everything stored about the customer as one JSON file (audited as an export)."""
    import json

    customer = _find(public_id)
    document = clienteling.export_customer(customer, _actor())
    body = json.dumps(document, ensure_ascii=False, indent=2, default=str)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="customer-{customer.public_id}.json"', "Cache-Control": "no-store"},
    )


@bp.route("/customers/<public_id>/erase", methods=["GET", "POST"])
@require_role("manager", "admin")
def erase_customer(public_id):
    """Ask, then erase: personal data removed, financial records kept without it (audited)."""
    customer = _find(public_id)
    if request.method == "GET":
        return render_template("tablet/customers/erase.html", customer=customer, error=None)
    if request.form.get("confirm", "").strip() != customer.name:
        return render_template("tablet/customers/erase.html", customer=customer, error="Type the customer's name exactly to confirm."), 400
    name = customer.name
    clienteling.erase_customer(customer, _actor())
    flash(f"{name} was erased: their personal data is gone, their orders and payments stay without it.", "info")
    return redirect(url_for(".customers"))


@bp.get("/privacy/profile-views")
@require_role("admin")
def profile_view_log():
    """Who opened which customer profile, and when (newest first)."""
    from sqlalchemy import select

    zone = views.zone_of(g.store)
    opened = clienteling.profile_views(limit=200)
    ids = {view.customer_id for view in opened}
    customers = {c.id: c for c in db.session.scalars(select(clienteling.Customer).where(clienteling.Customer.id.in_(ids)))} if ids else {}
    rows = [
        {
            "when": views.local_time(view.viewed_at, zone),
            "staff": view.staff.name if view.staff else "",
            "customer": customers.get(view.customer_id),
            "via": view.via,
        }
        for view in opened
    ]
    return render_template("tablet/customers/profile_views.html", rows=rows)
