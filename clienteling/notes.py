"""Associate notes on a customer, and the log of who opened which profile."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from core.errors import NotFound, ValidationError

from .models import Customer, CustomerNote, ProfileView

MAX_NOTE_LENGTH = 5000


def add_note(customer: Customer, author_id: int | None, text: str, pinned: bool = False) -> CustomerNote:
    """A note by a staff member (``author_id``) on ``customer``; flushed.  Raises ValidationError
    on ``text`` when it is empty or longer than 5,000 characters."""
    text = (text or "").strip()
    if not text:
        raise ValidationError("a note needs some text", field="text")
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(f"a note has at most {MAX_NOTE_LENGTH} characters", field="text")
    note = CustomerNote(customer_id=customer.id, author_id=author_id, text=text, pinned=bool(pinned))
    db.session.add(note)
    db.session.flush()
    return note


def set_note_pinned(customer: Customer, note_id: int, pinned: bool) -> CustomerNote:
    note = db.session.get(CustomerNote, note_id)
    if note is None or note.customer_id != customer.id:
        raise NotFound(f"no note {note_id} on this customer", {"note_id": note_id})
    note.pinned = bool(pinned)
    db.session.flush()
    return note


def list_notes(customer: Customer) -> list[CustomerNote]:
    """The customer's notes: pinned first, then newest first."""
    return list(
        db.session.scalars(
            select(CustomerNote).where(CustomerNote.customer_id == customer.id).order_by(CustomerNote.pinned.desc(), CustomerNote.id.desc())
        )
    )


def record_profile_view(customer: Customer, staff_id: int, via: str = "api") -> ProfileView:
    """Write down that a staff member opened ``customer``'s profile (``via``: api or tablet)."""
    view = ProfileView(customer_id=customer.id, staff_id=staff_id, via=via)
    db.session.add(view)
    db.session.flush()
    return view


def profile_views(customer: Customer | None = None, limit: int = 200) -> list[ProfileView]:
    """The newest profile openings first, of one customer or of all."""
    query = select(ProfileView).order_by(ProfileView.id.desc()).limit(limit)
    if customer is not None:
        query = query.where(ProfileView.customer_id == customer.id)
    return list(db.session.scalars(query))
