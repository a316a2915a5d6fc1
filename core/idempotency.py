"""Stored first answers for requests carrying an ``Idempotency-Key``.

The record is inserted in the same transaction as the work it describes, under a unique
constraint on (principal, key): two racing requests with one key cannot both commit, and a
retry finds the first answer.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from . import clock
from .db import UTCDateTime, db, upsert_insert
from .errors import IdempotencyKeyReused, ValidationError


class IdempotencyRecord(db.Model):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=clock.now, index=True)


def request_fingerprint(method: str, path: str, body) -> str:
    canonical = json.dumps({"m": method, "p": path, "b": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 255:
        raise ValidationError("Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key")
    return key


def find_answer(principal: str, key: str, fingerprint: str):
    """The stored (status, body) for this key, None if unseen; IdempotencyKeyReused if the request differs."""
    record = db.session.scalar(select(IdempotencyRecord).where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key))
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different request",
            {"Idempotency-Key": ["already used with a different request body or path"]},
        )
    return record.status_code, record.response_body


def store_answer(principal: str, key: str, fingerprint: str, status_code: int, body: str) -> bool:
    """Record the first answer for this key; False when a concurrent request with the key already has
    (the caller must then roll back its work and answer the stored result).  One statement, no savepoint."""
    statement = (
        upsert_insert(IdempotencyRecord)
        .values(principal=principal, key=key, request_hash=fingerprint, status_code=status_code, response_body=body, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["principal", "key"])
        .returning(IdempotencyRecord.id)
    )
    return db.session.execute(statement).first() is not None
