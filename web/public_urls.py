"""Absolute URLs for what a customer opens on their own phone (the receipt, the pay-by-QR page): the QR codes
the tablet shows encode them.

``PUBLIC_BASE_URL`` (e.g. ``https://shop.example`` or, to try the demo with a real phone on the shop's Wi-Fi,
``http://192.168.1.20:8000``) is where phones reach this app; without it the request's own host is used, which on
``make run`` is ``localhost`` — fine for a second browser window, not for a phone.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, url_for


def public_base() -> str | None:
    """The base URL phones reach this app at (no trailing slash), or None when it is not known (no request)."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return None


def public_url(path_or_url: str) -> str:
    """``path_or_url`` made absolute for a phone: a path is joined to ``public_base()``; a full URL (Stripe's
    hosted page) is left as it is; without a base the path stays a path."""
    if not path_or_url.startswith("/"):
        return path_or_url
    base = public_base()
    return base + path_or_url if base else path_or_url


def public_url_for(endpoint: str, **values) -> str:
    """``url_for`` for a page a phone opens (``receipts.receipt``, ``pay.page``), absolute as ``public_url`` makes it."""
    return public_url(url_for(endpoint, **values))
