"""Celery tasks: take ids, own retry and time-limit policy; the work is in services."""
import logging

from celery import shared_task

from expo.extensions import db
from media import services
from media.storage import ObjectMissing, StoreUnavailable

log = logging.getLogger(__name__)
GENERIC = "Processing failed unexpectedly; upload the file again, and tell the organisers if it fails twice."


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=6,
             soft_time_limit=600, time_limit=660, ignore_result=True)
def process_media(self, media_id):
    """Process one media item; idempotent, and safe to deliver twice."""
    started = services.begin_run(media_id)
    if started is None:
        return
    db.session.commit()
    media, attempt = started
    try:
        services.run(media, attempt)
        db.session.commit()
    except services.Permanent as error:
        db.session.rollback()
        services.fail(media_id, error.code, error.message, attempt)
        db.session.commit()
    except ObjectMissing:
        db.session.rollback()
        services.fail(media_id, "original_missing", "The uploaded file is no longer in storage; upload it again.",
                      attempt)
        db.session.commit()
    except StoreUnavailable as error:
        db.session.rollback()
        services.finish(attempt, "retrying", str(error)[:500])
        db.session.commit()
        if self.request.retries >= self.max_retries:
            services.fail(media_id, "store_unavailable", "The media store stayed unreachable; try again later.")
            db.session.commit()
            return
        raise self.retry(countdown=min(60, 2 ** (self.request.retries + 1))) from error
    except Exception:
        log.exception("media %s failed", media_id)
        db.session.rollback()
        services.fail(media_id, "processing_error", GENERIC, attempt)
        db.session.commit()
