from flask import Response

from accounts import ROLES

from ..auth import require_role
from . import bp


@bp.get("/live")
@require_role(*ROLES)
def live():
    return Response("", mimetype="text/event-stream")
