"""Tasks and follow-ups of an associate's client book: list mine, add one, complete or dismiss it.  Staff only."""

from __future__ import annotations

from functools import wraps

from marshmallow import Schema, fields, validate

import clienteling
from core import clock
from core.errors import NotFound, ValidationError
from core.pagination import decode_cursor, encode_cursor

from ..auth import current_principal
from ..errors import ApiError
from .access import store_access
from .blueprint import Blueprint
from .schemas import STORE_CODE, ErrorOut

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Tasks and follow-ups of the client book (staff)")


def staff_only(view):
    """Decorator for API views only staff may use (session cookie or staff token): 401 without
    credentials, 403 for a partner key.  Documented like ``require_scope``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = current_principal()
        if principal is None:
            raise ApiError(401, "unauthorized", "sign in, or send 'Authorization: Bearer <staff token>'", headers={"WWW-Authenticate": "Bearer"})
        if principal.staff is None:
            raise ApiError(403, "forbidden", "only staff members can use this (not an API key)", {"required": "staff"})
        return view(*args, **kwargs)

    wrapper._required_scope = "staff"  # web.api.blueprint documents 401 and 403
    return wrapper


def current_staff():
    return current_principal().staff


def _customer_store(customer_id: str) -> str | None:
    try:
        customer = clienteling.find_customer(customer_id)
    except NotFound:
        return None
    return customer.home_store.code if customer.home_store else None


def customer_or_body_store(data, *args, **kwargs):
    """The store named in the body, else the home store of the customer the body or the path names."""
    if data.get("store"):
        return [data["store"]]
    customer_id = data.get("customer_id") or kwargs.get("customer_id")
    return [_customer_store(customer_id) if customer_id else None]


def task_store(*args, task_id, **kwargs):
    """The store a task belongs to (None when it has none, or there is no such task: the view answers 404)."""
    try:
        task = clienteling.find_task(task_id)
    except NotFound:
        return [None]
    return [task.store.code if task.store else None]


def query_store(args, *rest, **kwargs):
    return [args.get("store")]


class TaskQuery(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf([*clienteling.TASK_STATUSES, "all"]))
    store = fields.String(load_default=None, validate=STORE_CODE, metadata={"description": "only tasks at this store (default: every store)"})
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TaskIn(Schema):
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    due_on = fields.Date(required=True, metadata={"description": "YYYY-MM-DD"})
    assignee_id = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={"description": "a staff id (default: you)"})
    store = fields.String(load_default=None, validate=STORE_CODE, metadata={"description": "default: the customer's home store"})


class TaskCustomerOut(Schema):
    id = fields.String(attribute="public_id")
    name = fields.String()


class TaskOut(Schema):
    id = fields.String(attribute="public_id")
    kind = fields.String(metadata={"enum": list(clienteling.TASK_KINDS)})
    status = fields.String(metadata={"enum": list(clienteling.TASK_STATUSES)})
    reason = fields.String()
    due_on = fields.Function(lambda t: t.due_on.isoformat())
    customer = fields.Nested(TaskCustomerOut)
    customer_id = fields.Function(lambda t: t.customer.public_id)
    assignee_id = fields.Integer(allow_none=True)
    store = fields.Function(lambda t: t.store.code if t.store else None)
    created_at = fields.Function(lambda t: clock.isoformat(t.created_at))
    done_at = fields.Function(lambda t: clock.isoformat(t.done_at))
    created_by = fields.Function(lambda t: t.created_by.ref)


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskOut))
    next_cursor = fields.String(allow_none=True)


@blp.route("/tasks", methods=["GET"])
@staff_only
@blp.arguments(TaskQuery, location="query")
@store_access(query_store)
@blp.response(200, TaskPage)
def list_tasks(args):
    """My tasks (assigned to the signed-in staff member), due first; `status` open (default), done, dismissed or all."""
    after = decode_cursor(args["cursor"])
    if after is not None and not (isinstance(after, list) and len(after) == 2 and isinstance(after[0], str) and isinstance(after[1], int)):
        raise ValidationError("not a valid cursor", field="cursor")
    try:
        tasks = clienteling.tasks_for(
            current_staff(), args["store"], None if args["status"] == "all" else args["status"], limit=args["limit"] + 1, after=after
        )
    except ValueError:
        raise ValidationError("not a valid cursor", field="cursor") from None
    next_cursor = None
    if len(tasks) > args["limit"]:
        tasks = tasks[: args["limit"]]
        next_cursor = encode_cursor([tasks[-1].due_on.isoformat(), tasks[-1].id])
    return {"items": tasks, "next_cursor": next_cursor}


@blp.route("/tasks", methods=["POST"])
@staff_only
@blp.arguments(TaskIn)
@store_access(customer_or_body_store)
@blp.response(201, TaskOut)
def create_task(data):
    """A task about a customer for you (or `assignee_id`, who must work at the task's store)."""
    customer = clienteling.find_customer(data["customer_id"])
    staff = current_staff()
    return clienteling.create_task(customer, data["reason"], data["due_on"], staff.actor, assignee_id=data["assignee_id"], store_code=data["store"])


@blp.route("/tasks/<task_id>/complete", methods=["POST"])
@staff_only
@store_access(task_store)
@blp.response(200, TaskOut)
@blp.alt_response(422, schema=ErrorOut, description="the task was dismissed (`invalid_transition`)")
def complete_task(task_id):
    """Mark a task done (again: no change)."""
    return clienteling.complete_task(_my_task(task_id), current_staff().actor)


@blp.route("/tasks/<task_id>/dismiss", methods=["POST"])
@staff_only
@store_access(task_store)
@blp.response(200, TaskOut)
@blp.alt_response(422, schema=ErrorOut, description="the task was done (`invalid_transition`)")
def dismiss_task(task_id):
    """Dismiss a task (again: no change)."""
    return clienteling.dismiss_task(_my_task(task_id), current_staff().actor)


def _my_task(task_id: str):
    """A task this staff member may close: any task at a store they work at (``store_access``), or a
    task of no store that is theirs (admins: any)."""
    task = clienteling.find_task(task_id)
    staff = current_staff()
    if task.store is None and task.assignee_id != staff.id and staff.role != "admin":
        raise ApiError(403, "forbidden", "that task belongs to someone else", {"task": task_id})
    return task
