"""Whole-file uploads through the site, streamed on to the store as they arrive (never spooled to disk)."""
from flask import request
from flask_wtf.csrf import ValidationError, validate_csrf

from expo.errors import DomainError, Invalid, NotFound
from expo.formstream import StreamedForm
from media import services as media_services
from media.storage import get_storage
from pavilions import permissions


def _open(check_csrf):
    """Open the request's streamed multipart form at its `file`; return (form, file stream)."""
    form = StreamedForm(request.stream, request.content_type)
    upload = form.next_file()
    if check_csrf:
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or form.fields.get("csrf_token"))
        except ValidationError:
            raise DomainError("The page expired or the request came from another site; reload the page and try "
                              "again.", code="csrf_failed") from None
    if upload is None:
        raise Invalid("Send the file in a multipart form field named 'file'.", code="file_required")
    return form, upload


def receive_for(actor, holder, check_csrf=False):
    """Stream the request's `file` into a new media item held by HOLDER (not a pavilion: the programme's
    uploads); the caller commits."""
    form, upload = _open(check_csrf)
    media = media_services.ingest(upload, form.filename, actor, holder, form.fields.get("kind") or None)
    form.finish()
    return media


def receive(actor, pavilion_id=None, check_csrf=False, fields=None):
    """Stream the request's multipart `file` into a new media item of ACTOR's pavilion; the caller commits.
    FIELDS, a dict, receives the form's other fields."""
    form, upload = _open(check_csrf)
    pavilion_id = pavilion_id or form.fields.get("pavilion_id")
    # Fields sent before the file are checked before any byte is stored; a pavilion named after it, afterwards.
    pavilion = permissions.for_edit(actor, pavilion_id) if pavilion_id else None
    media = media_services.ingest(upload, form.filename, actor, pavilion.id if pavilion else "",
                                  form.fields.get("kind") or None)
    form.finish()
    if pavilion is None:
        try:
            pavilion = permissions.for_edit(actor, form.fields.get("pavilion_id", ""))
        except NotFound:
            get_storage().delete_prefix(media.original_key)
            raise
        media.pavilion_id = pavilion.id
    if fields is not None:
        fields.update(form.fields)
    return media
