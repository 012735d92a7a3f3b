"""Direct-to-storage resumable uploads: S3 multipart with presigned part URLs, verified on completion."""
import math
from datetime import timedelta
from functools import wraps

from flask import current_app
from sqlalchemy import select

from expo.errors import Conflict, DomainError, Invalid, NotFound, TooLarge, Unavailable, UnsupportedType
from expo.extensions import db, new_id, utcnow
from media import detect, keys, services
from media.models import Media, Upload
from media.states import MediaKind, MediaStatus, UploadState
from media.storage import ObjectMissing, StoreUnavailable, get_presigner, get_storage

PART_URL_EXPIRY_S = 3600
MAX_PARTS = 10_000  # the S3 limit on parts per upload
MB = 1024 * 1024
MIN_PART = 5 * MB  # S3 refuses to join a non-last part smaller than this
ORIGINALS = "originals/"


def _store_errors(function):
    """Turn an unreachable store into a 503 the person can act on."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except StoreUnavailable as error:
            raise Unavailable("The media store cannot be reached right now; try again in a minute.",
                              code="store_unavailable") from error

    return wrapper


def _accepted():
    return ", ".join(sorted(kind.value for kind in services.PROCESSED_KINDS))


def _kind(declared):
    """Return DECLARED as a MediaKind, None when absent, or refuse one this expo does not take."""
    if declared in (None, ""):
        return None
    try:
        kind = MediaKind(declared)
    except ValueError:
        raise UnsupportedType(f"'{declared}' is not a media kind; use one of: {_accepted()}.",
                              code="unknown_kind") from None
    if kind not in services.PROCESSED_KINDS:
        raise UnsupportedType(f"This expo does not take {kind} uploads yet; use one of: {_accepted()}.",
                              code="kind_not_processed")
    return kind


def _limit(kind):
    """Return the byte limit for KIND, or None when no limit is set for it."""
    try:
        return services.limit_for(kind)
    except KeyError:
        return None


def _check_size(size, kind):
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise Invalid("Send the file's size in bytes as a positive whole number in 'size'.", code="invalid_size")
    kinds = [kind] if kind else services.PROCESSED_KINDS
    limit = max(filter(None, (_limit(k) for k in kinds)), default=0)
    what = f"{kind} uploads" if kind else "any upload"
    if size > limit:
        raise TooLarge(f"The file is {size / MB:.1f} MB; the limit for {what} is {limit // MB} MB.")


def _part_size(size):
    # Grow the part size for huge files so that the part count stays within the S3 limit.
    return max(MIN_PART, current_app.config["EXPO_UPLOAD_PART_BYTES"], math.ceil(size / MAX_PARTS))


def part_count(upload):
    """Return how many parts UPLOAD is split into; every part but the last is part_size bytes."""
    return math.ceil(upload.size / upload.part_size)


def expected_size(upload, number):
    """Return the byte size part NUMBER of UPLOAD must have."""
    return min(upload.part_size, upload.size - (number - 1) * upload.part_size)


@_store_errors
def start(owner, pavilion_id, filename, size, declared_kind=None):
    """Reserve a media id and open a multipart upload in the store; the caller commits."""
    kind = _kind(declared_kind)
    _check_size(size, kind)
    if filename is not None and not isinstance(filename, str):
        raise Invalid("Send the file's name as text in 'filename'.", code="invalid_filename")
    media_id = new_id()
    key = keys.original(media_id)
    s3_upload_id = get_storage().create_multipart_upload(key)
    upload = Upload(id=new_id(), owner_id=owner.id, pavilion_id=pavilion_id, media_id=media_id, key=key,
                    s3_upload_id=s3_upload_id, filename=services.display_name(filename), size=size,
                    part_size=_part_size(size), declared_kind=kind.value if kind else None, state=UploadState.OPEN)
    db.session.add(upload)
    return upload


def _require_open(upload):
    if upload.state == UploadState.ABORTED:
        raise Conflict("This upload was cancelled or has expired; start the upload again.", code="upload_aborted")
    if upload.state == UploadState.COMPLETED:
        raise Conflict("This upload is already complete; its file is in your media list.", code="upload_completed")


def part_urls(upload, numbers=None):
    """Return [{"number", "url"}]: presigned PUT URLs, valid for an hour, for NUMBERS or every part."""
    _require_open(upload)
    count = part_count(upload)
    numbers = range(1, count + 1) if numbers is None else sorted(set(numbers))
    if any(not 1 <= n <= count for n in numbers):
        raise Invalid(f"Part numbers run from 1 to {count} for this upload.", code="invalid_parts")
    presigner = get_presigner()
    return [{"number": n, "url": presigner.presign_upload_part(upload.key, upload.s3_upload_id, n, PART_URL_EXPIRY_S)}
            for n in numbers]


@_store_errors
def stored_parts(upload):
    """Return the parts the store holds as [{"number", "etag", "size"}]; none unless the upload is open."""
    if upload.state != UploadState.OPEN:
        return []
    try:
        return get_storage().list_parts(upload.key, upload.s3_upload_id)
    except ObjectMissing:
        raise Conflict("The store no longer holds this upload (it expired or was cancelled); start the upload "
                       "again.", code="upload_gone") from None


def missing_parts(upload, stored):
    """Return the part numbers of UPLOAD that STORED lacks."""
    have = {p["number"] for p in stored}
    return [n for n in range(1, part_count(upload) + 1) if n not in have]


def _etag(value):
    return str(value or "").strip().strip('"')


def _given(upload, parts):
    """Return {number: etag or None} from the client's parts list, or refuse a malformed one."""
    if parts is None:
        return {}
    count = part_count(upload)
    if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
        raise Invalid('Send "parts" as a list of {"number", "etag"} objects.', code="invalid_parts")
    given = {}
    for part in parts:
        number, etag = part.get("number"), part.get("etag")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= count:
            raise Invalid(f"Part numbers run from 1 to {count} for this upload.", code="invalid_parts")
        if etag is not None and not isinstance(etag, str):
            raise Invalid("Send each part's ETag as text, as the store returned it.", code="invalid_parts")
        given[number] = _etag(etag) or None
    return given


def _numbers(numbers):
    shown = ", ".join(str(n) for n in numbers[:20])
    return shown + (f" and {len(numbers) - 20} more" if len(numbers) > 20 else "")


def _verify(upload, given, stored):
    """Refuse completion unless every part is stored at its size and matches any ETag the client saw."""
    by_number = {p["number"]: p for p in stored}
    missing = missing_parts(upload, stored)
    if missing:
        raise Conflict(f"Part(s) {_numbers(missing)} of {part_count(upload)} have not been stored; upload them, "
                       "then complete the upload again.", code="parts_missing")
    wrong = [n for n in range(1, part_count(upload) + 1) if by_number[n]["size"] != expected_size(upload, n)]
    if wrong:
        raise Conflict(f"Part(s) {_numbers(wrong)} do not have the expected size (parts of "
                       f"{upload.part_size} bytes adding up to {upload.size}); upload them again.",
                       code="parts_mismatch")
    differ = [n for n, etag in sorted(given.items()) if etag and etag != _etag(by_number[n]["etag"])]
    if differ:
        raise Conflict(f"Part(s) {_numbers(differ)} differ from what the store holds (their ETags do not "
                       "match); upload them again.", code="parts_mismatch")


def _assemble(upload, given):
    """Join the stored parts into the original; tolerate a join that happened before a lost commit."""
    storage = get_storage()
    try:
        stored = storage.list_parts(upload.key, upload.s3_upload_id)
    except ObjectMissing:
        if storage.exists(upload.key):
            return
        raise Conflict("The store no longer holds this upload (it expired or was cancelled); start the upload "
                       "again.", code="upload_gone") from None
    _verify(upload, given, stored)
    # Parts numbered past the declared size, if a client sent any, are left out and dropped by the store.
    by_number = {p["number"]: p["etag"] for p in stored}
    storage.complete_multipart_upload(upload.key, upload.s3_upload_id,
                                      [(n, by_number[n]) for n in range(1, part_count(upload) + 1)])


def _accepted_kind(upload):
    """Return (kind, format) from the original's first bytes, or refuse and forget the original."""
    storage = get_storage()
    try:
        kind, fmt = services.detect_kind(storage.read_head(upload.key, detect.HEAD_BYTES), upload.declared_kind)
        limit = _limit(kind)
        if limit is not None and upload.size > limit:
            raise TooLarge(f"The file is {upload.size / MB:.1f} MB; the limit for {kind} is {limit // MB} MB.")
    except DomainError:
        storage.delete_prefix(upload.key)
        upload.state = UploadState.ABORTED
        raise
    return kind, fmt


@_store_errors
def complete(upload, actor, parts=None):
    """Verify the stored parts, join them and create the queued media item; a repeat returns the same item."""
    if upload.owner_id != actor.id:
        raise NotFound("No upload with this id is yours.", code="upload_not_found")
    db.session.refresh(upload, with_for_update=True)  # two completes at once: the second waits, then sees COMPLETED
    if upload.state == UploadState.COMPLETED:
        return db.session.get(Media, upload.media_id)
    _require_open(upload)
    _assemble(upload, _given(upload, parts))
    kind, fmt = _accepted_kind(upload)
    media = Media(id=upload.media_id, owner_id=upload.owner_id, pavilion_id=upload.pavilion_id, kind=kind,
                  status=MediaStatus.QUEUED, filename=services.display_name(upload.filename), size=upload.size,
                  original_key=upload.key, meta={"source_format": fmt})
    db.session.add(media)
    upload.state, upload.completed_at = UploadState.COMPLETED, utcnow()
    return media


@_store_errors
def abort(upload):
    """Cancel an open upload and drop its stored parts; aborting twice is fine."""
    if upload.state == UploadState.COMPLETED:
        raise Conflict("This upload is already complete; remove the media item instead.", code="upload_completed")
    if upload.state == UploadState.OPEN:
        get_storage().abort_multipart_upload(upload.key, upload.s3_upload_id)
        upload.state = UploadState.ABORTED


@_store_errors
def expire_stale(now=None):
    """Abort uploads older than EXPO_UPLOAD_EXPIRY_S, rows and row-less store uploads alike; return the count."""
    cutoff = (now or utcnow()) - timedelta(seconds=current_app.config["EXPO_UPLOAD_EXPIRY_S"])
    stale = db.session.scalars(select(Upload).where(Upload.state == UploadState.OPEN, Upload.created_at < cutoff)).all()
    count = 0
    for upload in stale:
        abort(upload)
        count += 1
    open_ids = set(db.session.scalars(select(Upload.s3_upload_id).where(Upload.state == UploadState.OPEN)))
    storage = get_storage()
    for key, s3_upload_id, initiated in storage.list_multipart_uploads(ORIGINALS):
        if initiated < cutoff and s3_upload_id not in open_ids:
            storage.abort_multipart_upload(key, s3_upload_id)
            count += 1
    return count


def get_owned(upload_id, actor, pavilion_id=None):
    """Return the upload UPLOAD_ID if ACTOR owns it (and it belongs to PAVILION_ID if given), else NotFound."""
    upload = db.session.get(Upload, upload_id) if actor is not None else None
    if upload is None or upload.owner_id != actor.id or (pavilion_id and upload.pavilion_id != pavilion_id):
        raise NotFound("No upload with this id is yours.", code="upload_not_found")
    return upload
