"""Views of the programme's live: pages (bp) and JSON API (api)."""
from flask import Blueprint

bp = Blueprint("live", __name__, template_folder="templates")
api = Blueprint("live_api", __name__, url_prefix="/api/v1")
