"""The tablet's shift screens: open a shift on this tablet's register with its float, cash in and out with a
reason, close it with the cash counted note by note (expected against counted and the variance), and the
end-of-shift report with its CSV (``/api/v1/shifts/{id}/report.csv``).

The register is the one the sell screen picked (``web.tablet.sell.current_register``).  Every write goes through
``pos.shifts``; an error is shown in words on the same screen with a 4xx status (the request rolls back).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

import pos
from accounts import ROLES, Staff
from core import db
from core.errors import DomainError, NotFound, ValidationError
from core.money import Money

from ..auth import require_role
from ..errors import ApiError
from . import bp
from .sell import _money, _parse_money, _require_store, _sentence, current_register, status_of

DEFAULT_FLOAT = "150.00"


def local_clock(location):
    """A function turning a stored (UTC) time into the store's local time."""
    try:
        zone = ZoneInfo(location.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return lambda when: when.astimezone(zone) if when else None


def staff_name(kind: str | None, staff_id: int | None) -> str:
    """Who opened or closed a shift, by name ("" for the system or a staff member since removed)."""
    if kind != "staff" or staff_id is None:
        return ""
    staff = db.session.get(Staff, staff_id)
    return staff.name if staff else ""


def _shift(shift_id: str):
    """The shift when it is at one of the staff member's stores; 404 otherwise."""
    try:
        shift = pos.get_shift(shift_id)
    except NotFound:
        raise ApiError(404, "not_found", "no such shift") from None
    if shift.location_id not in {s.id for s in g.get("stores", [])}:
        raise ApiError(404, "not_found", "no such shift")
    return shift


def render_shift(status: int = 200, error: str | None = None, float_text: str = DEFAULT_FLOAT):
    register = current_register()
    shift = pos.find_open_shift(g.store.code, register) if register else None
    report = pos.shift_report(shift) if shift else None
    recent = [s for s in pos.list_shifts([g.store.code], limit=8) if shift is None or s.id != shift.id]
    return (
        render_template(
            "tablet/shift/shift.html",
            register=register,
            registers=pos.list_registers(g.store.code),
            shift=shift,
            report=report,
            recent=recent,
            error=error,
            float_text=float_text,
            currency=pos.store_settings(g.store.code).currency,
            local=local_clock(g.store),
            money=_money,
        ),
        status,
    )


@bp.get("/shift")
@require_role(*ROLES)
def shift():
    """This register's shift: open one with a float, or the open one with its expected cash, cash in and out, and
    the way to close it; the store's recent shifts with their reports."""
    _require_store()
    if current_register() is None:
        return render_template("tablet/sell/register.html", registers=pos.list_registers(g.store.code))
    return render_shift()


@bp.post("/shift/open")
@require_role(*ROLES)
def open_shift():
    """Open a shift on this tablet's register with the opening float counted into the drawer."""
    _require_store()
    register = current_register()
    if register is None:
        return redirect(url_for(".shift"))
    text = request.form.get("opening_float", "")
    try:
        currency = pos.store_settings(g.store.code).currency
        pos.open_shift(g.store.code, register, _parse_money(text, currency, "opening_float"), current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        return render_shift(status_of(exc), _sentence(exc), float_text=text)
    flash(f"Shift open on register {register}. Ready to sell.", "info")
    return redirect(url_for(".sell") if request.form.get("then") == "sell" else url_for(".shift"))


@bp.post("/shifts/<shift_id>/cash")
@require_role(*ROLES)
def cash_movement(shift_id):
    """Cash into the drawer (``direction=in``) or out of it (``out``: a paid-out), with a reason."""
    shift = _shift(shift_id)
    try:
        amount = _parse_money(request.form.get("amount", ""), shift.currency, "amount")
        if amount.amount == 0:
            raise ValidationError("write the amount that goes in or out", field="amount")
        if request.form.get("direction") == "out":
            amount = Money(-amount.amount, amount.currency)
        pos.record_cash_movement(shift, amount, request.form.get("reason", ""), current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        return render_shift(status_of(exc), _sentence(exc))
    flash(f"{'Paid out' if amount.amount < 0 else 'Put in'} {Money(abs(amount.amount), amount.currency).format()}.", "info")
    return redirect(url_for(".shift"))


def _count_rows(shift, counts: dict | None = None) -> list[dict]:
    counts = counts or {}
    return [
        {"label": pos.denomination_label(value), "value": value, "count": counts.get(pos.denomination_label(value), "")}
        for value in pos.denominations(shift.currency)
    ]


def render_close(shift, status: int = 200, error: str | None = None, counts: dict | None = None):
    return (
        render_template(
            "tablet/shift/close.html",
            shift=shift,
            rows=_count_rows(shift, counts),
            expected=pos.expected_cash(shift),
            error=error,
            money=_money,
        ),
        status,
    )


@bp.get("/shifts/<shift_id>/close")
@require_role(*ROLES)
def close_form(shift_id):
    """The closing count: how many of each note and coin are in the drawer, against the expected cash."""
    shift = _shift(shift_id)
    if shift.status != "open":
        return redirect(url_for(".shift_report", shift_id=shift_id))
    return render_close(shift)


@bp.post("/shifts/<shift_id>/close")
@require_role(*ROLES)
def close(shift_id):
    """Close the shift with the count by denomination; then its report (expected, counted, variance)."""
    shift = _shift(shift_id)
    counts, typed = {}, {}
    try:
        for row in _count_rows(shift):
            text = request.form.get(f"count-{row['label']}", "").strip()
            typed[row["label"]] = text
            if text == "":
                continue
            if not text.isdigit():
                raise ValidationError(f"count the {row['value'].format()} as a whole number", field=f"counted_by_denomination.{row['label']}")
            counts[row["label"]] = int(text)
        if not counts:
            raise ValidationError("count the drawer: how many of each note and coin (0 where there are none)", field="counted_by_denomination")
        pos.close_shift(shift, None, counts, current_user.actor)
    except DomainError as exc:
        db.session.rollback()
        return render_close(_shift(shift_id), status_of(exc), _sentence(exc), typed)
    return redirect(url_for(".shift_report", shift_id=shift_id))


@bp.get("/shifts/<shift_id>")
@require_role(*ROLES)
def shift_report(shift_id):
    """The end-of-shift report: what moved the drawer, expected against counted and the variance, and the CSV."""
    shift = _shift(shift_id)
    report = pos.shift_report(shift)
    local = local_clock(shift.location)
    at = {movement.id: local(movement.created_at).strftime("%H:%M") for movement in pos.shift_movements(shift)}
    movements = [{**movement, "time": at.get(movement["id"], "")} for movement in report["movements"]]
    counted_rows = []
    if shift.counted_by_denomination:
        for label, count in shift.counted_by_denomination.items():
            value = Money.parse_decimal(label, shift.currency)
            counted_rows.append({"value": value, "count": count, "total": Money(value.amount * count, shift.currency)})
    return render_template(
        "tablet/shift/report.html",
        shift=shift,
        report=report,
        counted_rows=counted_rows,
        movements=movements,
        local=local,
        opened_by=staff_name(shift.opened_by_kind, shift.opened_by_id),
        closed_by=staff_name(shift.closed_by_kind, shift.closed_by_id),
        csv_url=url_for("shifts.get_report_csv", shift_id=shift.public_id),
        money=_money,
    )
