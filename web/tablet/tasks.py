"""Tablet screens of the client book's to-dos: "My tasks" (due first, complete or dismiss), a message
form (a template, a preview, send — only with the customer's consent) and a feedback QR code to show."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

import clienteling
import inventory
from accounts import ROLES
from core import db
from core.errors import Conflict, DomainError, NotFound, ValidationError

from ..auth import require_role, safe_next
from ..errors import ApiError
from . import bp

TEMPLATE_FOR_KIND = {"wishlist_back_in_stock": "wishlist_back_in_stock", "thank_you": "thank_you_visit"}


def customer_url(customer) -> str:
    """The customer's tablet page (``web.tablet.customers``)."""
    return url_for("tablet.customer", public_id=customer.public_id)


def _task_product(task) -> str:
    """The product of a wishlist task ("Trail Jacket (JKT-M)"), from its dedupe key."""
    if task.kind != "wishlist_back_in_stock" or not task.dedupe_key:
        return ""
    parts = task.dedupe_key.split(":")
    sku = ":".join(parts[2:-1]) if len(parts) >= 4 else ""
    variant = inventory.find_variant_by_sku(sku) if sku else None
    return f"{variant.product.title} ({sku})" if variant else sku


def _can_close(task) -> bool:
    if current_user.role == "admin":
        return True
    if task.store is None:
        return task.assignee_id == current_user.id
    return any(s.id == task.store.id for s in g.stores)


@bp.get("/tasks")
@require_role(*ROLES)
def tasks():
    """My tasks at the current store (and those of no store), due first; ``status`` open (default) or done."""
    status = request.args.get("status", "open")
    if status not in ("open", "done", "dismissed"):
        status = "open"
    mine = clienteling.tasks_for(current_user, None, status, limit=200)
    here = [t for t in mine if t.store is None or (g.store is not None and t.store_id == g.store.id)]
    elsewhere = len(mine) - len(here)
    today = clienteling.local_today(g.store)
    rows = [
        {
            "task": task,
            "customer_url": customer_url(task.customer),
            "overdue": task.status == "open" and task.due_on < today,
            "due_today": task.due_on == today,
            "message_url": url_for(
                ".message_form",
                customer_id=task.customer.public_id,
                template=TEMPLATE_FOR_KIND.get(task.kind),
                product=_task_product(task) or None,
                task=task.public_id,
            ),
        }
        for task in here
    ]
    return render_template("tablet/tasks.html", rows=rows, status=status, elsewhere=elsewhere, today=today)


def _close(task_id: str, action):
    try:
        task = clienteling.find_task(task_id)
    except NotFound:
        raise ApiError(404, "not_found", "that task no longer exists") from None
    if not _can_close(task):
        raise ApiError(403, "forbidden", "that task belongs to another store")
    try:
        action(task, current_user.actor)
    except DomainError as exc:
        db.session.rollback()  # the redirect would commit: nothing of a refused change may stay
        flash(exc.message[:1].upper() + exc.message[1:] + ".", "error")
        return redirect(url_for(".tasks"))
    return task


@bp.post("/tasks/<task_id>/complete")
@require_role(*ROLES)
def complete_task(task_id):
    task = _close(task_id, clienteling.complete_task)
    if not isinstance(task, clienteling.Task):
        return task
    flash(f"Done: {task.customer.name}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".tasks"))


@bp.post("/tasks/<task_id>/dismiss")
@require_role(*ROLES)
def dismiss_task(task_id):
    task = _close(task_id, clienteling.dismiss_task)
    if not isinstance(task, clienteling.Task):
        return task
    flash(f"Dismissed: {task.customer.name}.", "info")
    return redirect(safe_next(request.form.get("next")) or url_for(".tasks"))


def _customer(customer_id: str):
    try:
        return clienteling.find_customer(customer_id)
    except NotFound:
        raise ApiError(404, "not_found", "we couldn't find that customer") from None


def _channels(customer) -> list[dict]:
    """Each channel with whether a message may go there now, and why not."""
    out = []
    for channel, label in (("email", "Email"), ("sms", "SMS")):
        try:
            address = clienteling.check_consent(customer, channel)
            out.append({"key": channel, "label": label, "allowed": True, "address": address, "why_not": None})
        except Conflict as exc:
            out.append({"key": channel, "label": label, "allowed": False, "address": None, "why_not": _why_not(channel, exc)})
    return out


def _why_not(channel: str, exc: Conflict) -> str:
    what = "email" if channel == "email" else "SMS"
    if (exc.details or {}).get("reason") == "no_address":
        return f"No {'email address' if channel == 'email' else 'phone number'} on file: no {what} possible."
    return f"No consent for {what}: the customer hasn't agreed to {'marketing emails' if channel == 'email' else 'text messages'}."


@bp.route("/customers/<customer_id>/message", methods=["GET", "POST"])
@require_role(*ROLES)
def message_form(customer_id):
    """Choose a template, preview it, send it (POST ``action=preview`` or ``action=send``)."""
    customer = _customer(customer_id)
    channels = _channels(customer)
    source = request.form if request.method == "POST" else request.args
    allowed = [c["key"] for c in channels if c["allowed"]]
    form = {
        "channel": source.get("channel") or (allowed[0] if allowed else "email"),
        "template": source.get("template") or "new_arrivals_in_size",
        "product": (source.get("product") or "").strip()[:300],
        "task": source.get("task") or "",
    }
    templates = clienteling.message_templates()
    if form["template"] not in {t["key"] for t in templates}:
        form["template"] = templates[0]["key"]
    store_code = g.store.code if g.store else None
    errors, preview, status = {}, None, 200
    context = {"product": form["product"]} if form["product"] else {}
    channel_state = next((c for c in channels if c["key"] == form["channel"]), channels[0])
    try:
        subject, body = clienteling.render_message(customer, form["channel"], form["template"], g.store, current_user.actor, context)
        preview = {"subject": subject, "body": body}
    except ValidationError as exc:
        errors = {key.split(".")[-1]: messages[0] for key, messages in (exc.details or {}).items()}
    if request.method == "POST" and request.form.get("action") == "send":
        if not channel_state["allowed"]:
            errors["channel"] = channel_state["why_not"]
            status = 409
        elif not errors:
            try:
                message = clienteling.send_message(customer, form["channel"], form["template"], current_user.actor, store_code, context=context)
            except Conflict as exc:
                errors["channel"], status = _why_not(form["channel"], exc), 409
            except ValidationError as exc:
                errors.update({key.split(".")[-1]: messages[0] for key, messages in (exc.details or {}).items()})
                status = 400
            else:
                flash(f"{'Email' if message.channel == 'email' else 'SMS'} to {customer.name} is on its way.", "info")
                return redirect(url_for(".tasks"))
        else:
            status = 400
    return render_template(
        "tablet/tasks_message.html",
        customer=customer,
        customer_url=customer_url(customer),
        channels=channels,
        channel_state=channel_state,
        templates=templates,
        form=form,
        preview=preview,
        errors=errors,
    ), status


@bp.post("/customers/<customer_id>/feedback")
@require_role(*ROLES)
def feedback_link(customer_id):
    """A single-use feedback link for the customer, shown as a QR code to scan in the store."""
    customer = _customer(customer_id)
    if g.store is None:
        raise ApiError(400, "invalid_request", "choose a store first")
    request_, token = clienteling.request_feedback(customer, current_user.actor, g.store.code, channel="store")
    return render_template(
        "tablet/tasks_feedback.html",
        customer=customer,
        customer_url=customer_url(customer),
        url=url_for("feedback.show", token=token, _external=True),
        qr_url=url_for("feedback.qr", token=token),
        feedback_request=request_,
    )
