"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import json

from .errors import ValidationError


def encode_cursor(value) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    """Decode a cursor made by ``encode_cursor``; a tampered one is a ValidationError on ``cursor``."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise ValidationError("not a valid cursor", field="cursor") from None
