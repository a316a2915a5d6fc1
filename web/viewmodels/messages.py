"""A service's message as the screens say it."""

from __future__ import annotations


def sentence(message: str | None) -> str:
    """``message`` as a sentence: capital first letter, a full stop at the end ("That did not work." when empty)."""
    message = message or "That did not work"
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
