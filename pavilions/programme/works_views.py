"""Views of the programme's works: pages (bp) and JSON API (api)."""
from flask import Blueprint

bp = Blueprint("works", __name__, template_folder="templates")
api = Blueprint("works_api", __name__, url_prefix="/api/v1")
