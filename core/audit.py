"""The audit log: who did what to which record, and when — refunds, overrides, price changes,
merges, data exports and erasures, profile openings are kept elsewhere (see clienteling).

``record_audit`` writes one row in the caller's transaction, so an audited change and its audit
entry commit together or not at all.  Rows are never updated or deleted.
"""

from __future__ import annotations

from sqlalchemy import Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from . import clock
from .actor import Actor, stored_actor
from .db import UTCDateTime, db


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(60), index=True)  # "customer.merged", "customer.exported", ...
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(String(200), default="")  # the name at the time, for reading the log
    subject_type: Mapped[str] = mapped_column(String(40))  # "customer", "order", ...
    subject_id: Mapped[str] = mapped_column(String(60))  # the subject's public id
    details: Mapped[dict] = mapped_column(db.JSON, default=dict)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, index=True)

    @property
    def actor(self) -> Actor:
        return stored_actor(self.actor_kind, self.actor_id)


def record_audit(action: str, actor: Actor, subject_type: str, subject_id: str, details: dict | None = None) -> AuditEntry:
    """Append one audit entry in the current transaction (flushed)."""
    entry = AuditEntry(
        action=action,
        actor_name=actor.name,
        subject_type=subject_type,
        subject_id=str(subject_id),
        details=details or {},
        **actor.columns(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_entries(subject_type: str | None = None, subject_id: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditEntry]:
    """The newest audit entries first, optionally for one subject or one action."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject_type:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id:
        query = query.where(AuditEntry.subject_id == str(subject_id))
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))
