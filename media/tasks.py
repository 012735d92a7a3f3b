"""Celery tasks: take ids, own retry and time-limit policy; the work is in media.processing."""
import logging

from celery import shared_task

from expo.extensions import db, utcnow
from media import processing, services
from media.storage import ObjectMissing, StoreUnavailable

log = logging.getLogger(__name__)
GENERIC = "Processing failed unexpectedly; upload the file again, and tell the organisers if it fails twice."
MAX_RETRIES = 6


def _handle(task, media_id):
    """Run one processing attempt and map its outcome to the item's state."""
    started = processing.begin_run(media_id)
    db.session.commit()
    if started is None:
        return
    media, attempt = started
    try:
        with processing.Heartbeat(media_id) as heartbeat:
            processing.run(media, attempt, heartbeat)
        db.session.commit()
    except processing.Superseded:
        db.session.rollback()
        processing.finish(attempt, "superseded")
        db.session.commit()
    except processing.Permanent as error:
        db.session.rollback()
        processing.fail(media_id, error.code, error.message, attempt)
        db.session.commit()
    except ObjectMissing:
        db.session.rollback()
        processing.fail(media_id, "original_missing", "The uploaded file is no longer in storage; upload it again.",
                        attempt)
        db.session.commit()
    except StoreUnavailable as error:
        db.session.rollback()
        if task.request.retries >= MAX_RETRIES:
            processing.fail(media_id, "store_unavailable", "The media store stayed unreachable; try again later.",
                            attempt)
            db.session.commit()
            return
        delay = min(60, 2 ** (task.request.retries + 1))
        processing.retrying(media_id, attempt, str(error), delay)
        db.session.commit()
        raise task.retry(countdown=delay, max_retries=MAX_RETRIES) from error
    except Exception:
        log.exception("media %s failed", media_id)
        db.session.rollback()
        processing.fail(media_id, "processing_error", GENERIC, attempt)
        db.session.commit()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=900, time_limit=960,
             ignore_result=True)
def process_media(self, media_id):
    """Process an image, panorama, audio or captions item; idempotent, safe to deliver twice."""
    _handle(self, media_id)


# ffmpeg enforces a limit proportional to the video's duration; this one only catches a stuck worker.
@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, time_limit=12 * 3600, ignore_result=True)
def process_long_media(self, media_id):
    """Process a video item on the long queue; idempotent, safe to deliver twice."""
    _handle(self, media_id)


@shared_task(ignore_result=True)
def watchdog():
    """Re-queue items whose worker died mid-run, and items that never reached the broker."""
    again = processing.watchdog(utcnow())
    db.session.commit()
    for media_id, kind in again:
        services.enqueue(media_id, kind)
    if again:
        log.warning("watchdog re-queued %s", ", ".join(m for m, _k in again))


@shared_task(ignore_result=True)
def purge_originals():
    """Delete originals past their retention (EXPO_ORIGINALS_RETENTION_DAYS; 0 keeps them)."""
    count = processing.purge_originals(utcnow())
    db.session.commit()
    if count:
        log.info("deleted %d originals past their retention", count)


@shared_task(ignore_result=True)
def expire_uploads():
    """Abort direct uploads left incomplete for longer than EXPO_UPLOAD_EXPIRY_S."""
    from media import multipart

    count = multipart.expire_stale(utcnow())
    db.session.commit()
    if count:
        log.info("aborted %d stale uploads", count)
