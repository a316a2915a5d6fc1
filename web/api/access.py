"""Which stores a staff member reaches through the API: one check, declared on every route.

Each API route says how it names its stores — ``@store_access(body_field("store"))``,
``@store_access(reservation_store)``, ... — or that it names none, ``@brand_wide(reason)``; a test
fails for a route that says neither.  Staff (browser session or staff token) reach only the stores
they belong to, admins every store; anything else is 403.  Partner API keys are the brand's own
integration and reach every store, as do requests without a staff member (those are refused
earlier, by ``require_scope``).
"""

from __future__ import annotations

from functools import wraps

from sqlalchemy import select

import inventory
from core import db
from core.errors import NotFound

from ..auth import current_principal
from ..errors import ApiError


def require_store_access(staff, codes) -> None:
    """403 unless ``staff`` may work at every store in ``codes`` (None entries are skipped: an absent
    optional store, or a code the view itself will refuse as unknown)."""
    if staff.role == "admin":
        return
    mine = {store.code for store in staff.stores if store.active}
    for code in codes:
        if code is not None and code not in mine:
            raise ApiError(403, "forbidden", f"you don't work at {code}", {"store": code})


def store_access(locate):
    """Decorate an API view whose store(s) ``locate(*view_args, **view_kwargs)`` answers as codes.  Placed
    under ``@blp.arguments``, it receives the parsed body or query first, like the view."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is not None and principal.staff is not None:
                require_store_access(principal.staff, locate(*args, **kwargs))
            return view(*args, **kwargs)

        wrapper._store_access = locate.__name__
        return wrapper

    return decorator


def brand_wide(reason: str):
    """Declare that an API view names no store: staff of every store may use it (within their role)."""

    def decorator(view):
        view._store_access = f"brand-wide: {reason}"
        return view

    return decorator


def body_field(*names: str):
    """The stores named by fields of the parsed body or query (the view's first argument)."""

    def stores_in_fields(data, *args, **kwargs):
        return [data.get(name) for name in names]

    stores_in_fields.__name__ = "fields " + "+".join(names)
    return stores_in_fields


def reservation_store(*args, reservation_id, **kwargs):
    """The store a reservation holds stock at (None when there is no such reservation: the view answers 404)."""
    try:
        return [inventory.get_reservation(reservation_id).location.code]
    except NotFound:
        return [None]


def transfer_destination(*args, transfer_id, **kwargs):
    """The store a transfer goes to: it is received there."""
    transfer = db.session.scalar(select(inventory.Transfer).where(inventory.Transfer.public_id == transfer_id))
    return [transfer.destination.code if transfer else None]
