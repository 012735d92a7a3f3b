"""The Celery entry point: `celery -A expo.worker worker`."""
import contextlib
import os

from expo import create_app


def yield_cpu(niceness):
    """Lower this process's CPU priority (its children, ffmpeg and Chromium, inherit it): pages come first."""
    os.nice(niceness)
    if niceness and hasattr(os, "SCHED_BATCH"):  # CPU-bound: never preempt a page's thread when waking up
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    # With autogroup scheduling (Linux's default) CPU time is shared between sessions first, and a nice value
    # counts only inside its session: `serve` starts the worker in a session of its own, so lower that too.
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write(str(niceness))


yield_cpu(int(os.environ.get("EXPO_WORKER_NICE", "19")))

flask_app = create_app()
celery = flask_app.extensions["celery"]
