"""The Celery entry point: `celery -A expo.worker worker`."""
import os

from expo import create_app

# Transcodes and image work yield the CPU to the web nodes on a shared machine: visitors' pages come first.
# The worker's processes and every ffmpeg or Chromium they start inherit this niceness.
os.nice(int(os.environ.get("EXPO_WORKER_NICE", "10")))

flask_app = create_app()
celery = flask_app.extensions["celery"]
