"""Transfers between locations: out at the source now, in at the destination on receipt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import clock
from core.actor import SYSTEM, Actor
from core.db import db
from core.errors import InsufficientStock, InvalidTransition, NotFound, ValidationError
from core.outbox import emit, new_id

from .models import Transfer, TransferLine, Variant
from .stock import Change, apply_changes, get_location, lock_levels


def _line_errors(lines: list[dict]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Quantities per SKU (repeated SKUs summed) and the errors naming each bad line."""
    errors: dict[str, list[str]] = {}
    wanted: dict[str, int] = {}
    for index, line in enumerate(lines):
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[f"lines.{index}.quantity"] = ["must be a whole number of at least 1"]
        else:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + quantity
    return errors, wanted


def create_transfer(source: str, destination: str, lines: list[dict], reference: str = "", actor: Actor = SYSTEM) -> Transfer:
    """Send stock: a ``transfer_out`` ledger line per SKU at the source, all lines or none.

    Every line is checked first (a ValidationError names each bad one: ``lines.1.sku``,
    ``lines.0.quantity``); then the source rows are locked at once, in id order.  The units must
    be available (not held) at the source; every short line is reported together (InsufficientStock).
    """
    src = get_location(source, field="source")
    dst = get_location(destination, field="destination")
    if src.id == dst.id:
        raise ValidationError("source and destination must differ", field="destination")
    if not lines:
        raise ValidationError("a transfer needs at least one line", field="lines")
    errors, wanted = _line_errors(lines)
    variants = {v.sku: v for v in db.session.scalars(select(Variant).where(Variant.sku.in_({line["sku"] for line in lines})))}
    for index, line in enumerate(lines):
        if line["sku"] not in variants:
            errors[f"lines.{index}.sku"] = [f"unknown SKU {line['sku']!r}"]
    if errors:
        raise ValidationError("some lines are not valid", details=errors)
    levels = lock_levels([(variants[s].id, src.id) for s in wanted])
    short = []
    for sku, quantity in wanted.items():
        level = levels.get((variants[sku].id, src.id))
        if (level.available if level else 0) < quantity:
            short.append({"sku": sku, "requested": quantity, "available": level.available if level else 0})
    if short:
        raise InsufficientStock(short)
    transfer = Transfer(public_id=new_id("trf"), source_id=src.id, destination_id=dst.id, reference=reference or "", created_at=clock.now())
    db.session.add(transfer)
    db.session.flush()
    apply_changes(
        [Change(levels[(variants[sku].id, src.id)].id, sku, on_hand=-quantity, kind="transfer_out") for sku, quantity in wanted.items()],
        src.code,
        reason=f"to {dst.code}",
        reference=transfer.public_id,
        actor=actor,
    )
    for sku, quantity in wanted.items():
        transfer.lines.append(TransferLine(variant_id=variants[sku].id, quantity=quantity))
    db.session.flush()
    emit("transfer.created", transfer_payload(transfer))
    return transfer


def receive_transfer(public_id: str, lines: list[dict] | None = None, actor: Actor = SYSTEM) -> Transfer:
    """Receive a transfer at its destination (``transfer_in`` lines).  ``lines`` ([{"sku",
    "quantity"}]) are the units that arrived per SKU (default: all that were sent); a shortfall is
    recorded on the transfer's line.

    Locks the transfer first, then the destination's stock rows at once in id order (creating
    missing ones).  Every line is checked before any stock is touched: a ValidationError names each
    bad line (``lines.0.sku`` not on this transfer or given twice, ``lines.1.quantity`` out of range).
    A transfer already received is InvalidTransition; an unknown one NotFound.
    """
    transfer = db.session.scalar(
        select(Transfer).where(Transfer.public_id == public_id).options(selectinload(Transfer.lines)).with_for_update(of=Transfer)
    )
    if transfer is None:
        raise NotFound(f"no transfer {public_id}")
    if transfer.status != "in_transit":
        raise InvalidTransition(f"transfer {public_id} is already {transfer.status}", {"status": transfer.status})
    sent = {line.variant.sku: line for line in transfer.lines}
    received: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines or []):
        sku, quantity = line.get("sku"), line.get("quantity")
        if sku not in sent:
            errors[f"lines.{index}.sku"] = [f"{sku!r} is not on this transfer"]
        elif sku in received:
            errors[f"lines.{index}.sku"] = [f"{sku} is already received on an earlier line"]
        elif not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= sent[sku].quantity:
            errors[f"lines.{index}.quantity"] = [f"must be between 0 and {sent[sku].quantity} (the units sent)"]
        else:
            received[sku] = quantity
    if errors:
        raise ValidationError("some lines are not valid", details=errors)
    levels = lock_levels([(line.variant_id, transfer.destination_id) for line in transfer.lines], create=True)
    arrived = []
    for line in transfer.lines:
        line.received_quantity = quantity = received.get(line.variant.sku, line.quantity)
        if quantity:
            arrived.append(Change(levels[(line.variant_id, transfer.destination_id)].id, line.variant.sku, on_hand=quantity, kind="transfer_in"))
    apply_changes(arrived, transfer.destination.code, reason=f"from {transfer.source.code}", reference=transfer.public_id, actor=actor)
    transfer.status = "received"
    transfer.received_at = clock.now()
    db.session.flush()
    emit("transfer.received", transfer_payload(transfer))
    return transfer


def transfer_payload(transfer: Transfer) -> dict:
    return {
        "id": transfer.public_id,
        "status": transfer.status,
        "source": transfer.source.code if transfer.source else None,
        "destination": transfer.destination.code if transfer.destination else None,
        "reference": transfer.reference,
        "created_at": clock.isoformat(transfer.created_at),
        "received_at": clock.isoformat(transfer.received_at),
        "lines": [{"sku": l.variant.sku, "quantity": l.quantity, "received_quantity": l.received_quantity} for l in transfer.lines],
    }
