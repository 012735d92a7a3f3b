"""Media status for owners and curators, and rendition serving with Range support."""
from flask import Blueprint, Response, jsonify, request
from flask_login import current_user

from expo.auth import bearer_user
from expo.errors import NotFound
from expo.extensions import db
from expo.permissions import current_actor, is_staff, require_login
from media import keys, services
from media.models import Media
from media.processing import IMMUTABLE
from media.states import MediaKind
from media.storage import ObjectMissing, RangeNotSatisfiable, get_storage

bp = Blueprint("media", __name__)
api = Blueprint("media_api", __name__, url_prefix="/api/v1")
# What the site's origin may serve from an exhibitor's upload: types a browser only shows or plays, never runs.
# Anything else (text/html, image/svg+xml, scripts, XML…), were processing ever to store it, goes out as a download.
INERT_TYPES = frozenset({
    "image/jpeg", "image/webp", "image/avif", "video/mp4", "video/iso.segment", "audio/mp4", "audio/webm",
    "audio/ogg", "application/vnd.apple.mpegurl", "text/vtt", "application/json",
})


@api.get("/media/<media_id>")
def status(media_id):
    actor = current_actor()
    if actor is None:
        raise NotFound("No media item with this id is yours.", code="media_not_found")
    media = services.get_owned(media_id, actor, staff=is_staff(actor))
    return jsonify(services.describe(media, full=True))


@bp.get("/studio/media/<media_id>/status")
@require_login
def studio_status(media_id):
    media = services.get_owned(media_id, current_user, staff=is_staff(current_user))
    return jsonify(services.describe(media, full=True))


def _visible(media):
    if media.public:
        return True
    user = bearer_user() or (current_user if current_user.is_authenticated else None)
    return user is not None and (media.owner_id == user.id or is_staff(user))


@bp.get("/media/<media_id>/<run_id>/<path:name>")
def serve(media_id, run_id, name):
    media = db.session.get(Media, media_id)
    # An H5 bundle is untrusted code: the site's origin never serves it, only the sandbox origin does.
    if media is None or media.kind == MediaKind.H5 or media.run_id != run_id or not _visible(media):
        raise NotFound("This media file does not exist or is not published.")
    response = stream_file(media.id, run_id, name, IMMUTABLE if media.public else "private, max-age=3600")
    if response is None:
        raise NotFound("This media file does not exist or is not published.")
    return inert(response)


def inert(response):
    """Make RESPONSE, a file of an exhibitor's upload on the site's origin, something no browser runs."""
    # A 304 has no body (the browser keeps the type it cached); anything else outside the list is a download.
    if response.status_code != 304 and response.mimetype not in INERT_TYPES:
        response.headers["Content-Type"] = "application/octet-stream"
        response.headers["Content-Disposition"] = "attachment"
    # Opened on its own, even an allowed type gets a document that can run nothing and reach nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def stream_file(media_id, run_id, name, cache_control):
    """Stream one file of a run from the store, honouring Range and If-None-Match; None if there is no such file."""
    try:
        key = keys.rendition(media_id, run_id, name)
        chunks, headers, code = get_storage().get(key, request.headers.get("Range"))
    except (ValueError, ObjectMissing):
        return None
    except RangeNotSatisfiable:
        return Response(status=416, headers={"Content-Range": "bytes */*"})
    if headers.get("ETag") and request.if_none_match.contains(headers["ETag"].strip('"')):
        return Response(status=304, headers={"ETag": headers["ETag"], "Cache-Control": cache_control})
    response = Response(chunks, status=code, content_type=headers.pop("Content-Type"), direct_passthrough=True)
    response.headers.update(headers)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["Cache-Control"] = cache_control
    return response
