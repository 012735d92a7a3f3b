"""Resumable direct-to-storage uploads: the API (bearer tokens) and the studio's browser session (CSRF)."""
import logging

from flask import Blueprint, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from expo import errors
from expo.bodies import json_object
from expo.errors import DomainError
from expo.extensions import db
from expo.permissions import current_actor, require
from media import multipart
from media import services as media_services
from media.states import UploadState
from pavilions import form_uploads, permissions

log = logging.getLogger(__name__)
api = Blueprint("uploads_api", __name__, url_prefix="/api/v1")
web = Blueprint("uploads", __name__, url_prefix="/studio", template_folder="templates")
KINDS = ("image", "panorama", "video", "audio", "captions", "h5")




def _queued(media):
    return jsonify({"id": media.id, "kind": str(media.kind), "status": str(media.status)}), 202


def _start(pavilion_id, body):
    pavilion = permissions.for_edit(current_actor(), str(pavilion_id or ""))
    upload = multipart.start(current_actor(), pavilion.id, body.get("filename"), body.get("size"), body.get("kind"))
    parts = multipart.part_urls(upload)
    db.session.commit()
    return jsonify({"id": upload.id, "media_id": upload.media_id, "part_size": upload.part_size, "parts": parts}), 201


def _show(upload):
    stored = multipart.stored_parts(upload)
    is_open = upload.state == UploadState.OPEN
    missing = multipart.part_urls(upload, multipart.missing_parts(upload, stored)) if is_open else []
    return jsonify({"id": upload.id, "media_id": upload.media_id, "size": upload.size, "part_size": upload.part_size,
                    "state": str(upload.state), "parts_stored": stored, "parts": missing})


def _complete(upload, body):
    fresh = upload.state == UploadState.OPEN
    try:
        media = multipart.complete(upload, current_actor(), body.get("parts"))
    except DomainError:
        db.session.commit()  # keep what a refusal recorded: the upload aborted, its file deleted
        raise
    db.session.commit()
    if fresh:
        media_services.enqueue(media.id, media.kind)
    return _queued(media)


def _abort(upload):
    multipart.abort(upload)
    db.session.commit()
    return "", 204


@api.post("/uploads")
@require("media.upload")
def start():
    body = json_object()
    return _start(body.get("pavilion_id"), body)


@api.get("/uploads/<upload_id>")
@require("media.upload")
def show(upload_id):
    return _show(multipart.get_owned(upload_id, current_actor()))


@api.post("/uploads/<upload_id>/complete")
@require("media.upload")
def complete(upload_id):
    upload = multipart.get_owned(upload_id, current_actor())
    return _complete(upload, json_object(optional=True))


@api.delete("/uploads/<upload_id>")
@require("media.upload")
def abort(upload_id):
    return _abort(multipart.get_owned(upload_id, current_actor()))


@web.get("/pavilions/<pavilion_id>/upload")
@require("media.upload")
def page(pavilion_id):
    pavilion = permissions.for_edit(current_actor(), pavilion_id)
    # ?block=<id>: the file goes straight into that block of the draft once it is in.
    wanted = request.args.get("block")
    number, block = next(((i + 1, b) for i, b in enumerate(pavilion.blocks) if b.get("id") == wanted), (None, None))
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else (block or {}).get("kind")
    return render_template("studio/upload.html", pavilion=pavilion, kinds=KINDS, block=block, block_number=number,
                           kind=kind if kind in KINDS else None)


@web.post("/pavilions/<pavilion_id>/uploads")
@require("media.upload")
def web_start(pavilion_id):
    return _start(pavilion_id, json_object())


@web.get("/pavilions/<pavilion_id>/uploads/<upload_id>")
@require("media.upload")
def web_show(pavilion_id, upload_id):
    return _show(multipart.get_owned(upload_id, current_actor(), pavilion_id))


@web.post("/pavilions/<pavilion_id>/uploads/<upload_id>/complete")
@require("media.upload")
def web_complete(pavilion_id, upload_id):
    upload = multipart.get_owned(upload_id, current_actor(), pavilion_id)
    return _complete(upload, json_object(optional=True))


@web.delete("/pavilions/<pavilion_id>/uploads/<upload_id>")
@require("media.upload")
def web_abort(pavilion_id, upload_id):
    return _abort(multipart.get_owned(upload_id, current_actor(), pavilion_id))


@web.post("/pavilions/<pavilion_id>/uploads/whole")
@require("media.upload")
def web_whole(pavilion_id):
    """Take the whole file through the site when the browser cannot reach the store."""
    media = form_uploads.receive(current_actor(), pavilion_id, check_csrf=True)
    db.session.commit()
    media_services.enqueue(media.id, media.kind)
    return _queued(media)


def _answer_error(status, code, message):
    """Answer the page with the site's error page, and the script's calls with the contract's JSON error."""
    if request.endpoint == "uploads.page":
        return errors.error_response(status, code, message)
    return jsonify({"error": {"code": code, "message": message}}), status


def _retry_later(answer, seconds):
    """Tell the page's script (and any client) when an outage may be over."""
    response = make_response(answer)
    response.headers["Retry-After"] = str(seconds)
    return response


@web.errorhandler(DomainError)
def _domain_error(error):
    answer = _answer_error(error.status, error.code, error.message)
    retry_after = getattr(error, "retry_after", None)
    return _retry_later(answer, retry_after) if retry_after else answer


@web.errorhandler(CSRFError)
def _csrf_error(_error):
    return _answer_error(400, "csrf_failed",
                         "The page expired or the request came from another site; reload the page and try again.")


@web.errorhandler(HTTPException)
def _http_error(error):
    code, message = errors.HTTP_CODES.get(error.code, ("error", "The request failed; reload the page and try again."))
    return _answer_error(error.code, code, message)


@web.errorhandler(Exception)
def _crash(error):
    outage = errors.transient(error)  # the store or the database is away: nothing changed, send it again later
    if outage:
        db.session.rollback()
        code, message, retry_after = outage
        return _retry_later(_answer_error(503, code, message), retry_after)
    log.exception("Unhandled error on %s %s", request.method, request.path)
    return _answer_error(500, *errors.HTTP_CODES[500])
