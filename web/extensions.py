"""Extensions, created unbound once and bound in ``create_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

import core.rate_limits  # noqa: F401  (registers the database:// rate-limit storage and its table)
from core.db import db  # noqa: F401  (re-exported for convenience)

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class ShelfsideApi(Api):
    """flask-smorest's Api, with errors in Shelfside's envelope (see ``web.errors``), answered and documented."""

    @property
    def ERROR_SCHEMA(self):
        from .api.schemas import ErrorOut

        return ErrorOut

    def handle_http_exception(self, error):
        from .errors import render_http_exception

        return render_http_exception(error)


api = ShelfsideApi()
