"""The security headers a retailer's security review asks for, on every answer.

* ``Content-Security-Policy``: our own scripts, styles and fonts only (no CDN, nothing inline:
  data for scripts travels in ``data-*`` attributes or JSON ``<script>`` blocks, which are not
  executed); pictures also from ``https:`` (product images may live on cdn.shopify.com) and
  ``data:``; no framing, no plugins, forms and ``<base>`` to this site only.  The Swagger UI page
  (``/api/v1/docs``) starts itself with an inline script, so that one path alone also allows
  inline script and style (and the Swagger UI files' origin while they are not served from here).
* ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``.
* ``Strict-Transport-Security`` only in production (``ENV_NAME == "production"``), where the
  site is served over https only; a development server on http must stay reachable.

A view that needs another policy sets the header itself; it is then left alone.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request

BASE_POLICY = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "object-src": ["'none'"],
}
HSTS = "max-age=31536000; includeSubDomains"


def render_policy(policy: dict[str, list[str]]) -> str:
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


def docs_policy(app: Flask) -> dict[str, list[str]]:
    """The Swagger UI page's policy: the base one plus inline script and style (its start-up
    script is inline), and the origin of the Swagger UI files when they come from elsewhere."""
    policy = {directive: list(sources) for directive, sources in BASE_POLICY.items()}
    extra = ["'unsafe-inline'"]
    ui_url = urlsplit(app.config.get("OPENAPI_SWAGGER_UI_URL") or "")
    if ui_url.scheme in ("http", "https") and ui_url.netloc:
        extra.append(f"{ui_url.scheme}://{ui_url.netloc}")
    policy["script-src"] += extra
    policy["style-src"] += extra
    return policy


def docs_path(app: Flask) -> str | None:
    prefix, path = app.config.get("OPENAPI_URL_PREFIX"), app.config.get("OPENAPI_SWAGGER_UI_PATH")
    if not prefix or not path:
        return None
    return "/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))


def register(app: Flask) -> None:
    """Add the headers to every response of ``app``."""
    base = render_policy(BASE_POLICY)
    docs = render_policy(docs_policy(app))
    swagger = docs_path(app)
    production = app.config.get("ENV_NAME") == "production"

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", docs if swagger and request.path.rstrip("/") == swagger else base)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
