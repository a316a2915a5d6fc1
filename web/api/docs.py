"""The API's browsable documentation: Swagger UI served by the app itself, so it works without internet.

The Swagger UI files come from the ``flask-swagger-ui`` package (pinned in requirements.txt; it
ships swagger-ui-dist, Apache-2.0, version in its ``dist/VERSION``); only its ``dist`` folder is
used.  The page loads nothing but same-origin files and has no inline script.
"""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, abort, current_app, send_from_directory, url_for
from markupsafe import escape

SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}

# "api-docs…": the API's own documentation, not an API route (see tests/web/test_api_errors.py)
bp = Blueprint("api-docs-ui", __name__, url_prefix="/api/v1/docs")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{favicon}">
  <link rel="stylesheet" href="{css}">
</head>
<body data-spec-url="{spec}">
  <div id="swagger-ui"></div>
  <script src="{bundle}"></script>
  <script src="{start}"></script>
</body>
</html>
"""

START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({url: document.body.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true});
});
"""


@bp.get("")
def page():
    """Swagger UI for /api/v1/openapi.json."""
    html = PAGE.format(
        title=escape(current_app.config["API_TITLE"]),
        favicon=url_for(".asset", filename="favicon-32x32.png"),
        css=url_for(".asset", filename="swagger-ui.css"),
        bundle=url_for(".asset", filename="swagger-ui-bundle.js"),
        start=url_for(".start"),
        spec=url_for("api-docs.openapi_json"),
    )
    return Response(html, mimetype="text/html")


@bp.get("/start.js")
def start():
    return Response(START, mimetype="text/javascript")


@bp.get("/assets/<filename>")
def asset(filename):
    """One of Swagger UI's own files (only those the page uses)."""
    if filename not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_UI, filename)
