"""Input checked once per request, before any view sees it.

Whatever reaches a view has no NUL character and no lone UTF-16 surrogate anywhere (path, query
string, form, JSON keys and values: databases and encoders refuse them), JSON nested at most
MAX_JSON_DEPTH levels, a URL of at most MAX_URL_LENGTH characters, and redirect targets (``next``)
without control characters.  Anything else is refused with a 400 naming the field (414 for the URL)
through the one error mapping in ``web.errors``: the JSON envelope for /api, an error page elsewhere.
"""

from __future__ import annotations

import re

from flask import Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestURITooLarge

from core.errors import ValidationError

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
REDIRECT_PARAMETERS = ("next",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InvalidInput(ValueError):
    """Input refused before any view ran; ``field`` names where."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message

    def as_validation_error(self) -> ValidationError:
        """The 400 the error mapping answers: the message names the field, ``details`` maps it to the reason."""
        return ValidationError(f"{self.message} ({self.field})", details={self.field: [self.message]})


def printable(name: str) -> str:
    """A field name fit to be shown back: NUL, control characters and surrogates as ``\\uXXXX``."""
    return re.sub("[\x00-\x1f\x7f\ud800-\udfff]", lambda match: f"\\u{ord(match.group()):04x}", str(name))


def check_text(field: str, text: str) -> None:
    """InvalidInput when ``text`` holds a NUL character or a lone surrogate."""
    match = _FORBIDDEN.search(text)
    if match:
        what = "NUL characters" if match.group() == "\x00" else "lone UTF-16 surrogates"
        raise InvalidInput(printable(field), f"{what} are not allowed")


def check_json(value, max_depth: int) -> None:
    """Walk a parsed JSON document (without recursion): InvalidInput naming the dotted path of the first
    string or key with a NUL or a lone surrogate, or of the first value nested deeper than ``max_depth``."""
    stack = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, str):
            check_text(path or "body", item)
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise InvalidInput(path or "body", f"nested more than {max_depth} levels deep")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, inner in pairs:
                inner_path = f"{path}.{key}" if path else str(key)
                if isinstance(key, str):
                    check_text(inner_path, key)
                stack.append((inner_path, inner, depth + 1))


class CheckedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with every parsed document checked by ``check_json`` (``request.get_json`` uses it)."""

    def loads(self, s, **kwargs):
        max_depth = self._app.config.get("MAX_JSON_DEPTH", 32)
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:  # the parser's own recursion limit, far past max_depth
            raise InvalidInput("body", f"nested more than {max_depth} levels deep") from None
        check_json(value, max_depth)
        return value


class CheckedRequest(Request):
    """A request whose unreadable or refused JSON body is a 400 naming the field (not a bare 400 or a 500)."""

    def on_json_loading_failed(self, e):
        if e is None:  # not a JSON content type: Flask's 415
            return super().on_json_loading_failed(e)
        if isinstance(e, InvalidInput):
            raise e.as_validation_error()
        raise ValidationError(f"the body is not valid JSON: {e}", field="body")


def _check_pairs(pairs) -> None:
    for name, values in pairs:
        check_text(name, name)
        for value in values:
            check_text(name, value)
            if name in REDIRECT_PARAMETERS and _CONTROL.search(value):
                raise InvalidInput(name, "a redirect target may not contain control characters")


def check_request_input() -> None:
    """The before-request hook: refuse a request whose URL, query, form or JSON body breaks the rules above."""
    max_length = current_app.config.get("MAX_URL_LENGTH", 8000)
    if len(request.environ.get("PATH_INFO", "")) + len(request.environ.get("QUERY_STRING", "")) > max_length:
        raise RequestURITooLarge(f"the URL is longer than {max_length} characters: send fewer parameters per request")
    try:
        for name, value in (request.view_args or {}).items():
            if isinstance(value, str):
                check_text(name, value)
        check_text("path", request.path)
        _check_pairs(request.args.lists())
        if request.mimetype in FORM_TYPES:
            _check_pairs(request.form.lists())
    except InvalidInput as refused:
        raise refused.as_validation_error() from None
    if request.is_json and request.method in ("POST", "PUT", "PATCH", "DELETE") and request.get_data(cache=True):
        request.get_json()  # parsed and checked once (CheckedJSONProvider); cached for the view
