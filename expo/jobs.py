"""Celery bound to the Flask app: every task runs inside an app context."""
from celery import Celery, Task
from flask import has_app_context
from kombu import Queue


def celery_init_app(app):
    """Create the Celery app for APP, with acks-late delivery and separate queues."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            if has_app_context():  # called in-process (a command, a test): the caller's app is the one meant
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    broker = app.config["EXPO_BROKER_URL"]
    short = {"queue": app.config["EXPO_QUEUE_SHORT"]}
    celery.conf.update(
        broker_url=broker,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=app.config["EXPO_QUEUE_SHORT"],
        # Each queue has its own routing key: with one key for both, every message would land in both queues.
        task_queues=[Queue(name, routing_key=name) for name in (app.config["EXPO_QUEUE_SHORT"],
                                                                app.config["EXPO_QUEUE_LONG"])],
        broker_connection_retry_on_startup=True,
        # The SQLAlchemy transport hands its options to create_engine, so they are for Redis only.
        broker_transport_options={"visibility_timeout": 4 * 3600} if broker.startswith("redis") else {},
        worker_hijack_root_logger=False,
        include=["media.tasks"],
        beat_schedule={
            "media-watchdog": {"task": "media.tasks.watchdog", "schedule": 60.0, "options": short},
            "expire-uploads": {"task": "media.tasks.expire_uploads", "schedule": 3600.0, "options": short},
            "purge-originals": {"task": "media.tasks.purge_originals", "schedule": 86400.0, "options": short},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
