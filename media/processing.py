"""Processing runs: claim an item, process it under a fresh run prefix, switch over, or fail with a reason."""
import logging
import secrets
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from expo.extensions import db, utcnow
from media import images, keys
from media.models import Media, MediaAttempt
from media.states import MediaKind, MediaStatus, can_move
from media.storage import get_storage

log = logging.getLogger(__name__)
IMMUTABLE = "public, max-age=31536000, immutable"
MAX_TRIES = 3
HEARTBEAT_S = 15
FORGOTTEN = timedelta(minutes=15)
# Files a browser starts from; the rest of a run (HLS segments…) is reached through them.
ENTRIES = {
    MediaKind.VIDEO: {"hls": "hls/master.m3u8", "poster": "poster.jpg", "poster_webp": "poster.webp",
                      "storyboard": "storyboard.vtt", "storyboard_image": "storyboard.jpg"},
    MediaKind.AUDIO: {"aac": "audio.m4a", "opus": "audio.webm", "waveform": "waveform.json"},
    MediaKind.CAPTIONS: {"vtt": "captions.vtt"},
    MediaKind.PANORAMA: {"base": "base.jpg", "preview": "preview.jpg"},
    MediaKind.H5: {"index": "index.html", "poster": "_expo/poster.jpg", "poster_webp": "_expo/poster.webp"},
}


class Permanent(Exception):
    """Processing cannot succeed on this input; `code` and `message` go to the exhibitor."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Superseded(Exception):
    """A newer run of the same item took over; this one must not switch anything."""


def move(media, target):
    """Move MEDIA to TARGET if the transition table allows it."""
    if not can_move(media.status, target):
        raise ValueError(f"media {media.id}: {media.status} -> {target} is not allowed")
    media.status = target


def begin_run(media_id):
    """Claim MEDIA_ID for a new run; return (media, attempt), or None if there is nothing to do."""
    media = db.session.get(Media, media_id)
    if media is None or media.status in (MediaStatus.READY, MediaStatus.FAILED):
        return None
    if media.tries >= MAX_TRIES:
        fail(media_id, "interrupted", f"Processing was interrupted {MAX_TRIES} times; upload the file again, "
                                      "and tell the organisers if it happens twice.")
        return None
    move(media, MediaStatus.PROCESSING)
    media.tries += 1
    media.progress, media.detail, media.heartbeat_at = 0, None, utcnow()
    attempt = MediaAttempt(media=media, run_id=secrets.token_hex(6),
                           args={"media_id": media_id, "kind": str(media.kind), "try": media.tries})
    db.session.add(attempt)
    return media, attempt


class Heartbeat:
    """A thread that stamps the item's heartbeat and progress while a run works, outside the run's session."""

    def __init__(self, media_id):
        self.media_id, self.progress, self._stop = media_id, 0, threading.Event()
        self._engine = db.engine
        self._thread = threading.Thread(target=self._beat, daemon=True, name=f"heartbeat-{media_id}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def report(self, percent):
        self.progress = max(self.progress, min(99, int(percent)))

    def _beat(self):
        written = -1
        while not self._stop.wait(2 if self.progress != written else HEARTBEAT_S):
            try:
                with self._engine.begin() as conn:
                    conn.execute(update(Media).where(Media.id == self.media_id, Media.status == MediaStatus.PROCESSING)
                                 .values(heartbeat_at=utcnow(), progress=self.progress))
                written = self.progress
            except Exception:  # noqa: BLE001 - a missed beat is retried; the watchdog allows two minutes
                log.warning("heartbeat of %s failed", self.media_id, exc_info=True)


def _process(media, source, out, report):
    config = current_app.config
    fmt = (media.meta or {}).get("source_format")
    if media.kind == MediaKind.H5:
        from media import h5, screenshot

        try:
            meta, files = h5.validate_and_extract(source, out, h5.limits(config))
        except h5.BundleRejected as error:
            raise Permanent(error.code, error.message) from error
        poster_meta, poster = h5.add_poster(files, out, screenshot.find_chromium(config["EXPO_CHROMIUM"]))
        return {**meta, **poster_meta}, files + poster
    try:
        if media.kind == MediaKind.IMAGE:
            return images.render(source, out, config["EXPO_MAX_IMAGE_PIXELS"])
        if media.kind == MediaKind.PANORAMA:
            return images.render_panorama(source, out, config["EXPO_MAX_PANORAMA_PIXELS"])
    except images.ImageRejected as error:
        raise Permanent(error.code, error.message) from error
    from media import av

    return av.process(media.kind, source, out, fmt, config, report)


def run(media, attempt, heartbeat):
    """Process MEDIA for ATTEMPT: write every file under the run prefix, then switch the item over."""
    storage = get_storage()
    with tempfile.TemporaryDirectory(prefix="expo-media-") as tmp:
        work = Path(tmp)
        source = work / "upload.bin"  # a name the project chose; the exhibitor's file name never reaches ffmpeg
        storage.download(media.original_key, source)
        out = work / "out"
        out.mkdir()
        meta, files = _process(media, source, out, heartbeat.report)
        for name, path, content_type, *_rest in files:  # in order: playlists after the files they name
            storage.put_file(keys.rendition(media.id, attempt.run_id, name), path, content_type, IMMUTABLE)
    entries = ENTRIES.get(media.kind)
    renditions = {}
    for name, _path, content_type, *rest in files:
        alias = next((a for a, n in entries.items() if n == name), None) if entries else name
        if alias:
            renditions[alias] = {"key": keys.rendition(media.id, attempt.run_id, name), "type": content_type,
                                 **({"width": rest[0]} if rest else {})}
    _switch(media, attempt, {**(media.meta or {}), **meta}, renditions)


def _switch(media, attempt, meta, renditions):
    db.session.refresh(media)
    latest = db.session.scalar(select(MediaAttempt.id).where(MediaAttempt.media_id == media.id)
                               .order_by(MediaAttempt.started_at.desc()).limit(1))
    if latest != attempt.id or media.status != MediaStatus.PROCESSING:
        raise Superseded(media.id)
    media.meta, media.renditions, media.run_id = meta, renditions, attempt.run_id
    media.progress, media.detail = 100, None
    move(media, MediaStatus.READY)
    finish(attempt, "ready")


def fail(media_id, code, message, attempt=None):
    """Mark MEDIA_ID failed with a reason; safe to call twice."""
    media = db.session.get(Media, media_id)
    if media is None or media.status == MediaStatus.FAILED:
        return
    media.status = MediaStatus.FAILED
    media.error_code, media.error_message, media.detail = code, message, None
    if attempt is not None:
        finish(attempt, "failed", message)


def retrying(media_id, attempt, reason, delay_s):
    """Show MEDIA_ID as retrying after a transient fault; keep the watchdog away during the wait."""
    finish(attempt, "retrying", reason[:500])
    db.session.execute(update(Media).where(Media.id == media_id).values(
        detail="retrying: the media store is unreachable", tries=Media.tries - 1,
        heartbeat_at=utcnow() + timedelta(seconds=delay_s)))


def finish(attempt, outcome, detail=None):
    attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail, utcnow()


def requeue(media, detail=None):
    """Put MEDIA back in the queue for a fresh run (reprocess or watchdog)."""
    media.status = MediaStatus.QUEUED
    media.progress = 0
    media.error_code = media.error_message = None
    media.detail = detail


def watchdog(now=None):
    """Re-queue silent runs (a killed worker) up to MAX_TRIES, and items lost before the broker; return
    (id, kind) pairs to enqueue."""
    now = now or utcnow()
    again = []
    silence = timedelta(seconds=current_app.config["EXPO_WATCHDOG_SILENCE_S"])
    silent = select(Media).where(Media.status == MediaStatus.PROCESSING, Media.heartbeat_at < now - silence)
    for media in db.session.scalars(silent):
        if media.tries >= MAX_TRIES:
            fail(media.id, "interrupted", f"Processing was interrupted {MAX_TRIES} times; upload the file again, "
                                          "and tell the organisers if it happens twice.")
            continue
        requeue(media, "restarted: the worker stopped responding")
        media.updated_at = now
        again.append((media.id, media.kind))
    # A queued item untouched this long most likely never reached the broker (it was down at upload time).
    forgotten = select(Media).where(Media.status == MediaStatus.QUEUED, Media.updated_at < now - FORGOTTEN)
    for media in db.session.scalars(forgotten):
        media.updated_at = now
        again.append((media.id, media.kind))
    return again


def purge_originals(now=None):
    """Delete the originals of items ready for longer than EXPO_ORIGINALS_RETENTION_DAYS (0 keeps them all)."""
    days = current_app.config["EXPO_ORIGINALS_RETENTION_DAYS"]
    if days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    storage = get_storage()
    count = 0
    for media in db.session.scalars(select(Media).where(Media.status == MediaStatus.READY, Media.updated_at < cutoff)):
        if (media.meta or {}).get("original_deleted"):
            continue
        storage.delete_prefix(media.original_key)
        media.meta = {**media.meta, "original_deleted": True}
        count += 1
    return count
