"""Views of the programme's contests: pages (bp) and JSON API (api)."""
from flask import Blueprint

bp = Blueprint("contests", __name__, template_folder="templates")
api = Blueprint("contests_api", __name__, url_prefix="/api/v1")
