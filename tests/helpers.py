"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run_rate_limited(tmp_path, limits: str, requests: str) -> str:
    """Run ``requests`` (Python using ``client``, printing its result last) against an app with the
    rate limiter on and ``limits`` (config lines) set, in its own process: the limiter is a
    process-wide extension, disabled for the rest of the suite.  Answers the last line printed."""
    script = (
        textwrap.dedent(
            f"""
        import os
        os.environ["SHELFSIDE_INSTANCE_PATH"] = {str(tmp_path)!r}
        from core import db
        from web import create_app
        from web.config import TestConfig

        class Limited(TestConfig):
            SQLALCHEMY_DATABASE_URI = "sqlite:///{tmp_path}/limit.db"
            RATELIMIT_ENABLED = True
        """
        )
        + textwrap.indent(textwrap.dedent(limits), "    ")
        + textwrap.dedent(
            """
        app = create_app(Limited)
        with app.app_context():
            db.create_all()
        client = app.test_client()
        """
        )
        + textwrap.dedent(requests)
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


class StaffCaller:
    """A test client speaking as one staff member with a staff token (``POST /api/v1/staff/tokens``):
    ``get(path)``, ``post(path, json, key=Idempotency-Key)``, ``patch``, ``delete``."""

    def __init__(self, app, email: str, password: str):
        self.client = app.test_client()
        answer = self.client.post("/api/v1/staff/tokens", json={"email": email, "password": password})
        assert answer.status_code == 201, answer.json
        self.token = answer.json["token"]
        self.headers = {"Authorization": "Bearer " + self.token}
        self.staff_id = answer.json["staff"]["id"]

    def _headers(self, key=None, extra=None) -> dict:
        return {**self.headers, **({"Idempotency-Key": key} if key else {}), **(extra or {})}

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(extra=kw.pop("headers", None)), **kw)

    def post(self, path, json=None, key=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(key, kw.pop("headers", None)), **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(path, json=json, headers=self._headers(extra=kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self._headers(extra=kw.pop("headers", None)), **kw)
