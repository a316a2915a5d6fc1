"""Secrets kept out of request logs, and GET endpoints that write.

A kiosk activation link carries its token in the path (``/kiosk/activate/<token>``).  The token works
once, and it never reaches a log: gunicorn's access log (``AccessLogger``, the logger class
``scripts/serve`` runs with), Werkzeug's development server log and the app's own error log show the
path as ``/kiosk/activate/…``.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

_SECRET_PATHS = re.compile(r"(/kiosk/activate/|/feedback/)[^\s?#\"'/]+")  # and a feedback link's token


def mask_secrets(text: str) -> str:
    """``text`` with the token of every kiosk activation path replaced by an ellipsis."""
    return _SECRET_PATHS.sub(r"\1…", text)


class MaskSecrets(logging.Filter):
    """A logging filter masking activation tokens in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask_secrets(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


class AccessLogger(GunicornLogger):
    """gunicorn's logger, with activation tokens masked in every access-log field (request line, path,
    query, referer, headers): ``gunicorn --logger-class web.access_log.AccessLogger``."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask_secrets(value) if isinstance(value, str) else value for key, value in atoms.items()}


def writes_on_get(view):
    """Mark a GET view that writes (a one-time link): its transaction starts as a write transaction, so on
    SQLite it waits for the write lock up front instead of failing to upgrade a read."""
    view.writes_on_get = True
    return view
