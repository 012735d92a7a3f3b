"""Media rules: accept an upload, process it, expose its renditions."""
import logging
import re
import time
import unicodedata

from flask import current_app, url_for
from sqlalchemy import select, update

from expo.errors import NotFound, TooLarge, UnsupportedType
from expo.extensions import db, new_id
from media import detect, keys
from media.models import Media
from media.states import MediaKind, MediaStatus
from media.storage import get_storage

log = logging.getLogger(__name__)
PROCESSED_KINDS = {MediaKind.IMAGE, MediaKind.PANORAMA, MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.CAPTIONS,
                   MediaKind.H5}
ACCEPTED = ("images (JPEG, PNG, GIF, WebP), video (MP4, MOV, MKV, WebM), audio (MP3, AAC, WAV, FLAC, Ogg), "
            "captions (SRT, WebVTT) or H5 bundles (ZIP)")


class _Counted:
    """A read-only stream that counts bytes and stops past a limit."""

    def __init__(self, stream, limit, head=b""):
        self.stream, self.limit, self.count, self.head = stream, limit, 0, head

    def read(self, size=-1):
        # A short read means end of file to s3transfer, so fill SIZE unless the upload really ended.
        size = self.limit + 1 - self.count if size is None or size < 0 else size
        parts, got = [], 0
        if self.head:
            parts.append(self.head[:size])
            self.head = self.head[size:]
            got = len(parts[0])
        while got < size:
            data = self.stream.read(min(size - got, 1024 * 1024))
            if not data:
                break
            parts.append(data)
            got += len(data)
        self.count += got
        if self.count > self.limit:
            raise TooLarge(f"The file is larger than the limit of {self.limit // (1024 * 1024)} MB for this kind.")
        return b"".join(parts)


def display_name(filename):
    """Return a harmless short label for a user's file name (never used in keys or paths)."""
    name = unicodedata.normalize("NFKC", filename or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = re.split(r"[\\/]", name)[-1].strip(" .")
    return name[:120] or "upload"


def limit_for(kind):
    """Return the byte limit for uploads of KIND."""
    config = current_app.config
    return config[f"EXPO_MAX_{MediaKind(kind).name}_BYTES"]


def detect_kind(head, declared):
    """Return (kind, format) of content whose first bytes are HEAD, checked against DECLARED."""
    found, fmt = detect.sniff(head)
    if found is None:
        raise UnsupportedType(f"The file is not a kind of media this expo accepts: {ACCEPTED}.", code="unknown_type")
    if declared:
        try:
            declared = MediaKind(declared)
        except ValueError:
            raise UnsupportedType(f"'{declared}' is not a media kind; use image, audio, video, h5 or panorama.",
                                  code="unknown_kind") from None
        if found not in detect.COMPATIBLE[declared]:
            raise UnsupportedType(f"The file was declared as {declared} but its content is {found}.",
                                  code="kind_mismatch")
        found = declared
    if found not in PROCESSED_KINDS:
        raise UnsupportedType(f"This expo does not process {found} uploads yet; upload {ACCEPTED}.",
                              code="kind_not_processed")
    return found, fmt


def ingest(stream, filename, owner, pavilion_id, declared_kind=None, declared_size=None):
    """Stream an upload into the store and queue it; the caller commits, then calls `enqueue`."""
    head = stream.read(detect.HEAD_BYTES)
    kind, fmt = detect_kind(head, declared_kind)
    limit = limit_for(kind)
    if declared_size and declared_size > limit:
        raise TooLarge(f"The file is {declared_size // (1024 * 1024)} MB; the limit for {kind} is "
                       f"{limit // (1024 * 1024)} MB.")
    media_id = new_id()
    media = Media(id=media_id, owner_id=owner.id, pavilion_id=pavilion_id, kind=kind,
                  filename=display_name(filename), original_key=keys.original(media_id),
                  meta={"source_format": fmt})
    counted = _Counted(stream, limit, head)
    storage = get_storage()
    try:
        storage.put_stream(media.original_key, counted, "application/octet-stream")
    except TooLarge:
        storage.delete_prefix(media.original_key)
        raise
    media.size = counted.count
    db.session.add(media)
    return media


def enqueue(media_id, kind=None):
    """Queue processing of MEDIA_ID (videos on the long queue); a broker outage leaves it queued for the watchdog."""
    from media.tasks import process_long_media, process_media

    config = current_app.config
    try:
        if kind == MediaKind.VIDEO:
            process_long_media.apply_async(args=[media_id], queue=config["EXPO_QUEUE_LONG"])
        else:
            process_media.apply_async(args=[media_id], queue=config["EXPO_QUEUE_SHORT"])
    except Exception:  # noqa: BLE001 - any broker failure leaves the item queued, never lost
        log.exception("Could not queue media %s; `flask --app expo media reprocess ID` re-queues it", media_id)


def get_owned(media_id, actor, staff=False):
    """Return the media MEDIA_ID if ACTOR owns it (or is staff), else raise NotFound."""
    media = db.session.get(Media, media_id)
    if media is None or actor is None or not (staff or media.owner_id == actor.id):
        raise NotFound("No media item with this id is yours.", code="media_not_found")
    return media


def rendition_url(media, name):
    """Return the URL where a browser fetches rendition NAME of MEDIA."""
    key = media.renditions[name]["key"]
    if media.kind == MediaKind.H5:  # untrusted code: only ever from the sandbox origin
        from media import h5

        return h5.sandbox_url(media, key.removeprefix(keys.run_prefix(media.id, media.run_id)))
    base = current_app.config.get("EXPO_MEDIA_BASE_URL")
    if base:
        return f"{base.rstrip('/')}/{key}"
    return url_for("media.serve", media_id=media.id, run_id=media.run_id,
                   name=key.removeprefix(keys.run_prefix(media.id, media.run_id)))


def describe(media, full=False):
    """Return the published form of MEDIA; FULL adds status, progress and error."""
    data = {"id": media.id, "kind": str(media.kind), "meta": media.meta or {},
            "renditions": {name: rendition_url(media, name) for name in (media.renditions or {})}}
    if full:
        data.update(status=str(media.status), progress=media.progress, error=media.error, detail=media.detail)
    return data


def load_many(ids):
    """Return {id: Media} for IDS in one query."""
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Media).where(Media.id.in_(list(ids))))}


def set_public(pavilion_id, media_ids):
    """Make exactly MEDIA_IDS of a pavilion publicly servable."""
    db.session.execute(update(Media).where(Media.pavilion_id == pavilion_id).values(
        public=Media.id.in_(list(media_ids)) if media_ids else False))


def wait_until_settled(media_ids, timeout):
    """Block until every id is ready or failed, or TIMEOUT seconds pass; return {id: status}."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        states = {m.id: m.status for m in load_many(media_ids).values()}
        if all(s in (MediaStatus.READY, MediaStatus.FAILED) for s in states.values()) or time.monotonic() > deadline:
            return states
        time.sleep(0.3)
