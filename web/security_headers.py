"""The security headers a retailer's security review asks for, on every answer.

* ``Content-Security-Policy``: our own scripts, styles and fonts only (no CDN, nothing inline:
  data for scripts travels in ``data-*`` attributes or JSON ``<script>`` blocks, which are not
  executed); pictures also from ``https:`` (product images may live on cdn.shopify.com) and
  ``data:``; no framing, no plugins, forms and ``<base>`` to this site only.  The Swagger UI page
  (``/api/v1/docs``, ``web.api.docs``) is served from here with its start-up script as a file, so it
  lives under the same policy as every other page.
* ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``.
* ``Strict-Transport-Security`` only in production (``ENV_NAME == "production"``), where the
  site is served over https only; a development server on http must stay reachable.

A view that needs another policy sets the header itself; it is then left alone.
"""

from __future__ import annotations

from flask import Flask

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


def register(app: Flask) -> None:
    """Add the headers to every response of ``app``."""
    base = render_policy(BASE_POLICY)
    production = app.config.get("ENV_NAME") == "production"

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", base)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if production:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
