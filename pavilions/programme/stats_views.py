"""Views of the programme's stats: pages (bp) and JSON API (api)."""
from flask import Blueprint

bp = Blueprint("stats", __name__, template_folder="templates")
api = Blueprint("stats_api", __name__, url_prefix="/api/v1")
