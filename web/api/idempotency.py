"""``Idempotency-Key`` for API writes: a retry answers the first result and does nothing twice."""

from __future__ import annotations

from functools import wraps

from flask import make_response, request

from core import db
from core.errors import ValidationError
from core.idempotency import check_key, find_answer, request_fingerprint, store_answer

from ..auth import current_principal


def _replay(status: int, body: str):
    response = make_response(body, status)
    response.mimetype = "application/json"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(required: bool = True):
    """Decorate an API write.  With the same key and the same request, the stored first answer
    comes back (header ``Idempotent-Replayed: true``); with the same key and a different
    request, 422 ``idempotency_key_reused``.  The key is stored in the same transaction as the
    work, under a unique constraint: of two racing requests one commits, the other is rolled
    back and answers the winner's result.  Only successful (2xx) answers are stored, so a
    request refused for lack of stock may be retried with its key once stock arrives."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            raw = request.headers.get("Idempotency-Key")
            if raw is None:
                if required:
                    raise ValidationError("this request needs an Idempotency-Key header", field="Idempotency-Key")
                return view(*args, **kwargs)
            key = check_key(raw)
            principal = current_principal().key
            fingerprint = request_fingerprint(request.method, request.path, request.get_json(silent=True))
            found = find_answer(principal, key, fingerprint)
            if found:
                return _replay(*found)
            response = make_response(view(*args, **kwargs))
            if 200 <= response.status_code < 300:
                if not store_answer(principal, key, fingerprint, response.status_code, response.get_data(as_text=True)):
                    db.session.rollback()  # a concurrent request with this key won: undo ours, answer theirs
                    found = find_answer(principal, key, fingerprint)
                    if found:
                        return _replay(*found)
                    raise RuntimeError("Idempotency-Key conflict: another request holds this key but stored no answer")
            return response

        wrapper._idempotency_key = "required" if required else "optional"  # documented by web.api.blueprint
        return wrapper

    return decorator
