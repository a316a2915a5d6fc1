"""The public feedback page a customer reaches from a QR code or an emailed link: ``/feedback/<token>``.

No sign-in: the unguessable token is the key, and it works once.  The form (CSRF-protected,
rate-limited like every public page) asks for CSAT 1–5 and NPS 0–10 with big touch targets and an
optional comment (plain text, escaped wherever it is shown).  Bad values re-show the form with
each field's problem (400); a second answer gets a friendly "already answered" (409).  The token
never leaves through a Referer (``Referrer-Policy: no-referrer``) nor stays in a cache.
"""

from __future__ import annotations

import io

from flask import Blueprint, current_app, redirect, render_template, request, url_for

import clienteling
from core.errors import NotFound, ValidationError

from .extensions import limiter

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
limiter.limit(lambda: current_app.config["PUBLIC_RATE_LIMIT"])(bp)

CSAT_LABELS = {1: "Very unhappy", 2: "Unhappy", 3: "Okay", 4: "Happy", 5: "Very happy"}
FIELD_NAMES = {"csat": "How happy you were", "nps": "How likely you are to recommend us", "comment": "Your comment"}


@bp.after_request
def keep_the_token_private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Robots-Tag", "noindex")
    return response


class _UnknownLink(Exception):
    pass


@bp.errorhandler(_UnknownLink)
def unknown_link(_error):
    return render_template("feedback/not_found.html", store_name=None), 404


def _request_or_404(token: str):
    try:
        return clienteling.find_feedback_request(token)
    except NotFound:
        raise _UnknownLink() from None


def _context(feedback_request) -> dict:
    associate = feedback_request.associate
    return {
        "store_name": feedback_request.store.name if feedback_request.store else None,
        "associate_name": associate.name.split()[0] if associate and associate.name else None,
        "csat_labels": CSAT_LABELS,
    }


def _page(feedback_request, token, status=200, errors=None, values=None):
    state = clienteling.link_state(feedback_request)
    if state == "answered":
        return render_template("feedback/done.html", thanks=request.args.get("thanks") == "1", **_context(feedback_request)), status
    if state == "expired":
        return render_template("feedback/expired.html", **_context(feedback_request)), 410
    return (
        render_template(
            "feedback/form.html",
            token=token,
            errors=errors or {},
            field_names=FIELD_NAMES,
            values=values or {},
            **_context(feedback_request),
        ),
        status,
    )


@bp.get("/<token>")
def show(token):
    """The form, or the thank-you / already-answered / expired page."""
    return _page(_request_or_404(token), token)


@bp.post("/<token>")
def answer(token):
    """Record the answer once; a bad value re-shows the form naming the field (400)."""
    feedback_request = _request_or_404(token)
    values = {key: request.form.get(key, "") for key in ("csat", "nps", "comment")}
    try:
        clienteling.give_feedback(token, csat=values["csat"], nps=values["nps"], comment=values["comment"])
    except clienteling.AlreadyAnswered:
        return _page(feedback_request, token, status=409)
    except clienteling.LinkExpired:
        return _page(feedback_request, token)
    except ValidationError as exc:
        errors = {field: messages[0] for field, messages in (exc.details or {}).items()}
        return _page(feedback_request, token, status=400, errors=errors, values=values)
    return redirect(url_for(".show", token=token, thanks=1), 303)


@bp.get("/<token>/qr.svg")
def qr(token):
    """A QR code of the feedback link (SVG), for the tablet to show the customer."""
    feedback_request = _request_or_404(token)
    if clienteling.link_state(feedback_request) != "open":
        raise _UnknownLink()
    return qr_svg(url_for(".show", token=token, _external=True)), 200, {"Content-Type": "image/svg+xml"}


def qr_svg(data: str) -> bytes:
    """An SVG QR code of ``data`` (medium error correction, a quiet zone of 4 modules)."""
    import qrcode
    from qrcode.image.svg import SvgPathFillImage

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=10)
    code.add_data(data)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(image_factory=SvgPathFillImage).save(out)
    return out.getvalue()
