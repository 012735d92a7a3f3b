"""Views of the programme's days: pages (bp) and JSON API (api)."""
from flask import Blueprint

bp = Blueprint("days", __name__, template_folder="templates")
api = Blueprint("days_api", __name__, url_prefix="/api/v1")
