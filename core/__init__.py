"""Shared kernel: database, money, errors, clock, outbox, idempotency. Imports nothing of ours."""

from . import clock
from .db import UTCDateTime, db, is_postgresql, reset_read_only_transactions, set_read_only_transactions
from .errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from .money import Money
from .outbox import emit, new_id

__all__ = [
    "clock",
    "db",
    "reset_read_only_transactions",
    "set_read_only_transactions",
    "UTCDateTime",
    "is_postgresql",
    "Conflict",
    "DomainError",
    "IdempotencyKeyReused",
    "InsufficientStock",
    "InvalidTransition",
    "NotFound",
    "ValidationError",
    "Money",
    "emit",
    "new_id",
]
