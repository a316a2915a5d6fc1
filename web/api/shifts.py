"""Staff endpoints for registers' shifts: open with a float, cash in and out, close with the count, the
report (JSON or CSV).

Shifts are for staff only (a session cookie or a staff token) — associates run their store's shifts, as
managers and admins do; partner API keys and kiosks get 403.  Staff reach the shifts of their own stores
(``web.api.access``).  The POSTs accept an ``Idempotency-Key``.
"""

from __future__ import annotations

import csv
import io
from functools import wraps

from flask import Response, session
from marshmallow import Schema, fields, validate

import pos
from core.errors import NotFound, ValidationError
from core.money import Money
from core.pagination import decode_cursor, encode_cursor

from ..auth import current_principal
from ..errors import ApiError
from ..kiosk import SESSION_KEY as KIOSK_SESSION_KEY
from .access import body_field, store_access
from .blueprint import Blueprint
from .idempotency import idempotent
from .schemas import CURRENCY, STORE_CODE, ErrorOut, MoneyOut, MoneySchema

blp = Blueprint("shifts", __name__, url_prefix="/api/v1", description="Registers' shifts: float, cash in and out, the closing count (staff only)")


def staff_member(view):
    """The caller must be a staff member (cookie or staff token), any role.  401 without credentials; 403 for
    a partner API key or a kiosk."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = current_principal()
        if principal is None:
            if session.get(KIOSK_SESSION_KEY):
                raise ApiError(403, "forbidden", "a kiosk cannot reach the registers")
            raise ApiError(
                401, "unauthorized", "sign in, or send a staff token as 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
            )
        if principal.staff is None:
            raise ApiError(403, "forbidden", "shifts are for staff only (not for partner API keys or kiosks)", {"required_scope": "staff"})
        return view(*args, **kwargs)

    wrapper._required_scope = "staff"  # documented (401, 403) by web.api.blueprint
    return wrapper


def _actor():
    return current_principal().actor


def shift_store(*args, shift_id, **kwargs):
    """The store a shift's register is at (None when there is no such shift: the view answers 404)."""
    try:
        return [pos.get_shift(shift_id).location.code]
    except NotFound:
        return [None]


# --- schemas ----------------------------------------------------------------------------------

REGISTER = validate.Length(min=1, max=20)


class SignedMoneySchema(MoneySchema):
    amount = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=-(10**12), max=10**12),
        metadata={"description": "minor units: positive puts cash in the drawer, negative takes it out (a paid-out)"},
    )


class ShiftOpenIn(Schema):
    store = fields.String(required=True, validate=STORE_CODE)
    register = fields.String(required=True, validate=REGISTER, metadata={"description": "the register's code at the store, like T1"})
    opening_float = fields.Nested(MoneySchema, required=True)


class CashMovementIn(Schema):
    amount = fields.Nested(SignedMoneySchema, required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=500), metadata={"description": "required: why the cash goes in or out"})
    reference = fields.String(load_default="", validate=validate.Length(max=200))


class ShiftCloseIn(Schema):
    counted = fields.Nested(MoneySchema, load_default=None, metadata={"description": "the cash counted in the drawer"})
    counted_by_denomination = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=20)),
        values=fields.Raw(),
        load_default=None,
        metadata={
            "description": 'how many of each note and coin, keyed by its value in major units: {"50.00": 2, "0.05": 3}; '
            "the counted cash is their sum (with `counted` too, they must agree)",
            "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        },
    )


class ShiftQuery(Schema):
    store = fields.String(load_default=None, validate=STORE_CODE, metadata={"description": "a store code; default: every store you work at"})
    status = fields.String(load_default=None, validate=validate.OneOf(pos.SHIFT_STATUSES))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReportQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ShiftOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"enum": list(pos.SHIFT_STATUSES)})
    store = fields.String()
    register = fields.String()
    register_name = fields.String()
    currency = fields.String(validate=CURRENCY)
    opening_float = fields.Nested(MoneyOut)
    opened_at = fields.String()
    opened_by = fields.String(metadata={"description": "who opened it: 'staff:5'"})
    expected = fields.Nested(MoneyOut, metadata={"description": "the cash the drawer should hold (while open: now; closed: at the close)"})
    counted = fields.Nested(MoneyOut, allow_none=True)
    variance = fields.Nested(MoneyOut, allow_none=True, metadata={"description": "counted - expected: negative when cash is missing"})
    counted_by_denomination = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    closed_at = fields.String(allow_none=True)
    closed_by = fields.String(allow_none=True)


class ShiftPage(Schema):
    items = fields.List(fields.Nested(ShiftOut))
    next_cursor = fields.String(allow_none=True)


class CashMovementOut(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(pos.MOVEMENT_KINDS)})
    amount = fields.Nested(MoneyOut, metadata={"description": "signed: into the drawer positive, out of it negative"})
    reason = fields.String()
    reference = fields.String()
    actor = fields.String()
    created_at = fields.String()


class CashMovementCreated(CashMovementOut):
    shift_id = fields.String()
    expected = fields.Nested(MoneyOut, metadata={"description": "the cash the drawer should hold after this movement"})


class CashTenderOut(Schema):
    sales = fields.Nested(MoneyOut)
    refunds = fields.Nested(MoneyOut)
    net = fields.Nested(MoneyOut)
    sale_count = fields.Integer()
    refund_count = fields.Integer()


class TendersOut(Schema):
    cash = fields.Nested(CashTenderOut, metadata={"description": "from the drawer's movements: this is what expected and counted compare"})
    card = fields.Nested(
        CashTenderOut,
        metadata={
            "description": "succeeded card payments of the orders sold in the shift, card refunds recorded in it (settled by the gateway, not in the drawer)"
        },
    )
    qr = fields.Nested(CashTenderOut, metadata={"description": "the same for pay-by-QR"})


class ShiftReportOut(Schema):
    shift = fields.Nested(ShiftOut)
    currency = fields.String()
    opening_float = fields.Nested(MoneyOut)
    cash_tendered = fields.Nested(MoneyOut)
    change_given = fields.Nested(MoneyOut)
    cash_sales = fields.Nested(MoneyOut, metadata={"description": "cash tendered less change given"})
    cash_refunds = fields.Nested(MoneyOut)
    cash_in = fields.Nested(MoneyOut)
    cash_out = fields.Nested(MoneyOut)
    expected = fields.Nested(MoneyOut, metadata={"description": "opening_float + cash_sales - cash_refunds + cash_in - cash_out"})
    counted = fields.Nested(MoneyOut, allow_none=True)
    variance = fields.Nested(MoneyOut, allow_none=True)
    counted_by_denomination = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    tenders = fields.Nested(
        TendersOut,
        metadata={"description": "sales, refunds and net per tender; expected against counted is cash only (cards are settled by the gateway)"},
    )
    movements = fields.List(fields.Nested(CashMovementOut))


# --- routes -----------------------------------------------------------------------------------


@blp.route("/shifts", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(ShiftOpenIn)
@store_access(body_field("store"))
@blp.response(201, ShiftOut)
@blp.alt_response(409, schema=ErrorOut, description="the register already has an open shift (`shift_open`; details name the register and the shift)")
def open_shift(data):
    """Open a shift on a register with its opening float. At most one shift per register is open at a time."""
    shift = pos.open_shift(data["store"], data["register"], data["opening_float"], _actor())
    return pos.shift_payload(shift)


@blp.route("/shifts", methods=["GET"])
@staff_member
@blp.arguments(ShiftQuery, location="query")
@store_access(body_field("store"))
@blp.response(200, ShiftPage)
def list_shifts(args):
    """Shifts newest first, at one store or at every store you work at, optionally `open` or `closed` only."""
    staff = current_principal().staff
    if args["store"]:
        stores = [args["store"]]
    elif staff.role == "admin":
        stores = None
    else:
        stores = [store.code for store in staff.stores if store.active]
    before = decode_cursor(args["cursor"])
    if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
        raise ValidationError("not a valid cursor", field="cursor")
    shifts = pos.list_shifts(stores, args["status"], before, args["limit"] + 1)
    page = shifts[: args["limit"]]
    next_cursor = encode_cursor(page[-1].id) if len(shifts) > args["limit"] else None
    return {"items": [pos.shift_payload(shift) for shift in page], "next_cursor": next_cursor}


@blp.route("/shifts/<shift_id>", methods=["GET"])
@staff_member
@store_access(shift_store)
@blp.response(200, ShiftOut)
def get_shift(shift_id):
    """One shift, with the cash its drawer should hold now."""
    return pos.shift_payload(pos.get_shift(shift_id))


@blp.route("/shifts/<shift_id>/cash-movements", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(CashMovementIn)
@store_access(shift_store)
@blp.response(201, CashMovementCreated)
@blp.alt_response(409, schema=ErrorOut, description="a paid-out larger than the cash the drawer should hold (`insufficient_cash`)")
@blp.alt_response(422, schema=ErrorOut, description="the shift is closed (`invalid_transition`)")
def create_cash_movement(data, shift_id):
    """Cash into the drawer (positive amount) or out of it (negative: a paid-out), with its reason."""
    shift = pos.get_shift(shift_id)
    movement = pos.record_cash_movement(shift, data["amount"], data["reason"], _actor(), reference=data["reference"])
    return {**pos.movement_payload(movement, shift.currency), "shift_id": shift.public_id, "expected": pos.expected_cash(shift).to_dict()}


@blp.route("/shifts/<shift_id>/close", methods=["POST"])
@staff_member
@idempotent(required=False)
@blp.arguments(ShiftCloseIn)
@store_access(shift_store)
@blp.response(200, ShiftOut)
@blp.alt_response(422, schema=ErrorOut, description="the shift is already closed (`invalid_transition`)")
def close_shift(data, shift_id):
    """Close the shift with the cash counted (`counted`, or `counted_by_denomination`): expected, counted and the variance."""
    shift = pos.close_shift(pos.get_shift(shift_id), data["counted"], data["counted_by_denomination"], _actor())
    return pos.shift_payload(shift)


def _csv_amount(money: dict | None) -> tuple[str, str]:
    if money is None:
        return "", ""
    value = Money(money["amount"], money["currency"])
    exponent = Money.exponent(value.currency)
    sign = "-" if value.amount < 0 else ""
    major, minor = divmod(abs(value.amount), 10**exponent)
    return (f"{sign}{major}.{minor:0{exponent}d}" if exponent else f"{sign}{major}"), str(value.amount)


def report_csv(report: dict) -> str:
    """The report as CSV: one line per figure (``item, amount, minor_units, currency``), then the count by
    denomination, then every movement."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    shift = report["shift"]
    currency = report["currency"]
    writer.writerow(["item", "amount", "minor_units", "currency", "detail"])
    for item, value in [
        ("shift", shift["id"]),
        ("store", shift["store"]),
        ("register", shift["register"]),
        ("status", shift["status"]),
        ("opened_at", shift["opened_at"]),
        ("opened_by", shift["opened_by"]),
        ("closed_at", shift["closed_at"] or ""),
        ("closed_by", shift["closed_by"] or ""),
    ]:
        writer.writerow([item, "", "", "", value])
    for item in (
        "opening_float",
        "cash_tendered",
        "change_given",
        "cash_sales",
        "cash_refunds",
        "cash_in",
        "cash_out",
        "expected",
        "counted",
        "variance",
    ):
        amount, minor = _csv_amount(report[item])
        writer.writerow([item, amount, minor, currency if minor else "", ""])
    for tender, totals in report["tenders"].items():
        for name in ("sales", "refunds", "net"):
            amount, minor = _csv_amount(totals[name])
            count = {"sales": totals["sale_count"], "refunds": totals["refund_count"]}.get(name)
            writer.writerow([f"tender.{tender}.{name}", amount, minor, currency, "" if count is None else f"count: {count}"])
    for label, count in (report["counted_by_denomination"] or {}).items():
        value = Money.parse_decimal(label, currency)
        amount, minor = _csv_amount((value * count).to_dict())
        writer.writerow([f"denomination.{label}", amount, minor, currency, f"{count} x {label}"])
    for movement in report["movements"]:
        amount, minor = _csv_amount(movement["amount"])
        detail = " ".join(part for part in (movement["created_at"], movement["actor"], movement["reason"], movement["reference"]) if part)
        writer.writerow([f"movement.{movement['kind']}", amount, minor, currency, detail])
    return out.getvalue()


def _csv_response(report: dict) -> Response:
    response = Response(report_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="shift-{report["shift"]["id"]}.csv"'
    return response


@blp.route("/shifts/<shift_id>/report", methods=["GET"])
@staff_member
@blp.arguments(ReportQuery, location="query")
@store_access(shift_store)
@blp.response(200, ShiftReportOut, description="the report as JSON; with `format=csv` the same figures as text/csv (see `/report.csv`)")
@blp.doc(responses={"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def get_report(args, shift_id):
    """The shift's report: float, cash sales, refunds, cash in and out, expected, counted, variance, per tender."""
    report = pos.shift_report(pos.get_shift(shift_id))
    if args["format"] == "csv":
        return _csv_response(report)
    return report


@blp.route("/shifts/<shift_id>/report.csv", methods=["GET"])
@staff_member
@store_access(shift_store)
@blp.response(
    200, content_type="text/csv", description="item, amount, minor_units, currency, detail: the figures, the count by denomination, each movement"
)
@blp.doc(responses={"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def get_report_csv(shift_id):
    """The shift's report as CSV, for a spreadsheet."""
    report = pos.shift_report(pos.get_shift(shift_id))
    return _csv_response(report)
