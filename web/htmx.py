"""What the web layer needs to know about htmx requests (https://htmx.org/reference/#headers).

A view answers an htmx request for one region of a page with just that region's template, and
a full page otherwise (a first visit, a reload, htmx restoring history).  Such answers vary by
the ``HX-Request`` and ``HX-Target`` headers, and say so in ``Vary`` so no cache mixes them up.
"""

from __future__ import annotations

from flask import after_this_request, redirect, request


def _vary(response):
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def is_partial(target_id: str) -> bool:
    """Whether this is an htmx request that will swap the element with id ``target_id``."""
    after_this_request(_vary)
    return is_htmx() and request.headers.get("HX-Target") == target_id


def redirect_to(location: str):
    """A redirect that also works from an htmx request: there the browser is told to navigate
    (``HX-Redirect``) instead of htmx following it and swapping a whole page into a region."""
    if is_htmx():
        return "", 200, {"HX-Redirect": location}
    return redirect(location)
