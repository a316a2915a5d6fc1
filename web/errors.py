"""The one place where errors become answers: the JSON envelope for /api, HTML pages elsewhere."""

from __future__ import annotations

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from core import db
from core.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidTransition,
    NotFound,
    ValidationError,
)
from pos import ApprovalRefused, ApprovalRequired, GatewayError

log = logging.getLogger("shelfside")

DOMAIN_STATUS = [
    (ApprovalRequired, 403),
    (ApprovalRefused, 403),
    (GatewayError, 502),  # the payment gateway refused or was unreachable: nothing was changed
    (InsufficientStock, 409),
    (Conflict, 409),
    (NotFound, 404),
    (InvalidTransition, 422),
    (IdempotencyKeyReused, 422),
    (ValidationError, 400),
]

HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An HTTP-level error raised by the web layer (authentication, scopes)."""

    def __init__(self, status: int, code: str, message: str, details=None, headers=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = status, code, message, details, headers or {}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def envelope(status: int, code: str, message: str, details=None, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _html(status: int, message: str):
    from .error_pages import render_error_page  # the words per face (kiosk, tablet, plain)

    return render_error_page(status, message)


def _flatten_messages(messages):
    """webargs' {"json": {"field": [...]}} -> {"field": [...]}; nested dicts become dotted names."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "view_args", "path"} and messages:
        merged = {}
        for location, inner in messages.items():
            if isinstance(inner, dict):
                merged.update(inner)
            else:
                merged[location if location != "json" else "body"] = inner
        messages = merged
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix or "body"] = value if isinstance(value, list) else [value]

    walk("", messages)
    return flat


def render_http_exception(error: HTTPException):
    db.session.rollback()
    status = error.code or 500
    if not wants_json():
        return _html(status, error.description)
    data = getattr(error, "data", None) or {}
    details = None
    message = error.description or HTTP_CODES.get(status, "error")
    if status == 422 and "messages" in data:
        status = 400  # a body that fails validation is invalid input
    if "messages" in data:
        details = _flatten_messages(data["messages"])
        message = "invalid input: " + ", ".join(details)
    elif status == 405:
        message = f"{request.method} is not allowed on {request.path}"
    elif status == 404:
        message = f"nothing at {request.path}"
    elif status == 429:
        message = f"too many requests: {error.description}"
    headers = dict(error.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    return envelope(status, HTTP_CODES.get(status, "error"), message, details, headers)


def register_errorhandlers(app):
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        status = next((code for cls, code in DOMAIN_STATUS if isinstance(error, cls)), 400)
        if not wants_json():
            return _html(status, error.message)
        return envelope(status, error.code, error.message, error.details)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        db.session.rollback()
        if not wants_json():
            return _html(error.status, error.message)
        return envelope(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_http_exception(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)  # activation tokens masked (web.access_log)
        db.session.rollback()
        if app.config.get("PROPAGATE_UNEXPECTED"):
            raise error
        if not wants_json():
            return _html(500, "Something went wrong on our side. Nothing was changed.")
        return envelope(500, "internal_error", "an unexpected error occurred; nothing was changed", None)
