"""The API's flask-smorest Blueprint: arguments parsed from the request's checked JSON, invalid input a 400."""
from __future__ import annotations

import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request


class Parser(FlaskParser):
    """webargs reading the body through ``request.get_json()``: parsed once per request and checked by
    ``web.input`` (no NUL, no lone surrogate, nesting bounded).  A body that fails validation is 400."""

    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return req.get_json()


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()
