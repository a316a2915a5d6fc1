"""The API's flask-smorest Blueprint: arguments parsed from the request's checked JSON, invalid input a
400, and the OpenAPI document told every answer the conventions give a route — the error envelope for
401 and 403 wherever a scope is required, 400 and 422 and the ``Idempotency-Key`` header wherever a
write is idempotent, 429 wherever a rate limit applies — so that generated clients and schema fuzzers
agree with the server."""

from __future__ import annotations

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from .schemas import ErrorOut

ERRORS = {
    400: "invalid input: `error.details` maps each invalid field (dotted for nested ones, like `lines.0.sku`) to its messages "
    "(a NUL character or a lone surrogate anywhere in the request is invalid too)",
    401: "no credentials, or an unknown, revoked or expired API key or staff token (`WWW-Authenticate: Bearer`)",
    403: "the API key or the staff member's role lacks the scope (`error.details.required_scope`), "
    "or the staff member does not work at that store (`error.details.store`)",
    422: "the `Idempotency-Key` was already used with a different request (`idempotency_key_reused`)",
    429: "too many attempts from this client: wait for `Retry-After` seconds",
}


class Parser(FlaskParser):
    """webargs reading the body through ``request.get_json()``: parsed once per request and checked by
    ``web.input`` (no NUL, no lone surrogate, nesting bounded).  A body that fails validation is 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return req.get_json()


def _documented(func) -> set[int]:
    """Statuses a route documents itself (``@blp.alt_response``); they keep their own descriptions."""
    statuses = getattr(func, "_apidoc", {}).get("response", {}).get("responses", {})
    return {int(status) for status in statuses if str(status).isdigit()}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def route(self, rule, *, parameters=None, tags=None, **options):
        register = super().route(rule, parameters=parameters, tags=tags, **options)

        def decorator(func):
            return register(self._document_conventions(rule, func))

        return decorator

    def _error(self, func, status: int, description: str | None = None, **extra):
        if status in _documented(func):
            return func
        return self.alt_response(status, schema=ErrorOut, description=description or ERRORS[status], **extra)(func)

    def _document_conventions(self, rule: str, func):
        """Document the answers the conventions give ``func``: 400 (invalid arguments, and on every route the
        checks of ``web.input``), 404 for a path naming something that isn't there, and the answers of
        ``require_scope``, ``idempotent`` and rate limits."""
        func = self._error(func, 400)
        if "<" in rule:
            func = self._error(func, 404, "nothing by that id or code (`not_found`)")
        if getattr(func, "_required_scope", None):
            func = self._error(func, 401)
            func = self._error(func, 403)
        idempotency = getattr(func, "_idempotency_key", None)
        if idempotency:
            arguments = getattr(func, "_apidoc", {}).get("arguments", {}).get("parameters", [])
            if any(argument.get("location") not in (None, "json") for argument in arguments):
                raise TypeError(f"{func.__name__}: an idempotent write takes its input from the body only")  # see deepupdate: lists are replaced
            header = {
                "in": "header",
                "name": "Idempotency-Key",
                "required": idempotency == "required",
                "description": "a retry with the same key and request answers the first result and does nothing twice",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
            func = self.doc(parameters=[header])(func)
            func = self._error(func, 400)
            func = self._error(func, 422)
        if getattr(func, "_rate_limited", False):
            func = self._error(func, 429, headers={"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}})
        return func
