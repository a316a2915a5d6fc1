"""The associate tablet UI."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("tablet", __name__, url_prefix="/tablet")


@bp.route("/")
@login_required
def home():
    return render_template("error.html", status=200, message="Tablet coming soon")
