"""The Celery entry point: `celery -A expo.worker worker`."""
from expo import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
