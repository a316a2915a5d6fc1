"""Domain exceptions with stable codes.  ``web/errors.py`` maps them to HTTP answers."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a domain service raises on purpose."""

    code = "error"

    def __init__(self, message: str | None = None, details=None):
        self.message = message or self.__class__.__doc__.strip().splitlines()[0]
        self.details = details
        super().__init__(self.message)


class ValidationError(DomainError):
    """The input is not valid."""

    code = "invalid_request"

    def __init__(self, message=None, details=None, field: str | None = None):
        if field and details is None:
            details = {field: [message]}
        super().__init__(message, details)


class NotFound(DomainError):
    """The resource does not exist."""

    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    code = "conflict"


class InsufficientStock(Conflict):
    """Not enough stock is available."""

    code = "insufficient_stock"

    def __init__(self, lines: list[dict], message: str | None = None):
        self.lines = lines
        skus = ", ".join(f"{line['sku']} (requested {line['requested']}, available {line['available']})" for line in lines)
        super().__init__(message or f"insufficient stock: {skus}", {"lines": lines})


class InvalidTransition(DomainError):
    """This state transition is not allowed."""

    code = "invalid_transition"


class IdempotencyKeyReused(DomainError):
    """This Idempotency-Key was already used with a different request."""

    code = "idempotency_key_reused"
