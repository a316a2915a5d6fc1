"""Who did it: a staff member, a partner API key, a kiosk, a customer or the system itself.

Every service that changes something takes an ``Actor`` and stores it as a reference
(``actor_kind`` + ``actor_id`` columns, see ``actor_columns``), never as free text, so that an
audit trail, a ledger line or a reservation can be traced to the account that made it even
after that account is renamed.
"""

from __future__ import annotations

from dataclasses import dataclass

ACTOR_KINDS = ("staff", "api_key", "kiosk", "customer", "system")


@dataclass(frozen=True)
class Actor:
    """An immutable reference to whoever makes a change.  ``id`` is None only for ``system``;
    ``name`` is for messages and logs, and is not what gets stored."""

    kind: str
    id: int | None = None
    name: str = ""

    def __post_init__(self):
        if self.kind not in ACTOR_KINDS:
            raise ValueError(f"actor kind must be one of {', '.join(ACTOR_KINDS)}")
        if self.kind != "system" and not isinstance(self.id, int):
            raise ValueError(f"a {self.kind} actor needs an integer id")

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The product itself (expiry, imports from the CLI, demo data, scheduled tasks)."""
        return cls("system", None, name)

    @property
    def ref(self) -> str:
        """'staff:5', 'api_key:3', 'system': a stable key for idempotency records and logs."""
        return self.kind if self.id is None else f"{self.kind}:{self.id}"

    def columns(self) -> dict:
        """The values of the ``actor_kind`` / ``actor_id`` columns."""
        return {"actor_kind": self.kind, "actor_id": self.id}

    def is_(self, kind: str, id: int | None) -> bool:
        return self.kind == kind and self.id == id


SYSTEM = Actor.system()


def stored_actor(kind: str | None, id: int | None) -> Actor:
    """The Actor a row's ``actor_kind`` / ``actor_id`` columns refer to."""
    return Actor(kind or "system", id if kind and kind != "system" else None)
