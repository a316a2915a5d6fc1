"""The in-store kiosk UI."""
from flask import Blueprint

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
