"""Domain errors, and the one place that maps them to HTTP answers."""
import logging

from flask import jsonify, make_response, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule was broken; `message` is a sentence the person can act on."""

    status = 400
    code = "bad_request"
    retry_after = None  # seconds, for a refusal that a later try may overcome (sent as Retry-After)

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Invalid(DomainError):
    status, code = 422, "invalid"


class Conflict(DomainError):
    status, code = 409, "conflict"


class TooLarge(DomainError):
    status, code = 413, "too_large"


class UnsupportedType(DomainError):
    status, code = 415, "unsupported_media_type"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"


class Unavailable(DomainError):
    status, code, retry_after = 503, "unavailable", 30


STORE_DOWN = ("store_unavailable", "The media store cannot be reached right now; nothing was stored, so try "
              "again in a minute.", 30)
DATABASE_DOWN = ("database_unavailable", "The database is busy or restarting; nothing was changed, so try again "
                 "in a few seconds.", 5)


HTTP_CODES = {
    400: ("bad_request", "The request could not be read; check its format."),
    401: ("unauthorized", "Sign in or send a valid API token in the Authorization header."),
    403: ("forbidden", "You do not have permission to do this."),
    404: ("not_found", "Nothing was found at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    409: ("conflict", "The request conflicts with the current state; reload and try again."),
    413: ("too_large", "The upload is larger than this expo accepts."),
    415: ("unsupported_media_type", "This kind of content is not accepted here."),
    429: ("rate_limited", "Too many attempts; wait a few minutes and try again."),
    500: ("internal_error", "Something went wrong on our side; try again in a moment."),
}


def wants_json():
    """Tell whether the answer should be JSON (API paths) rather than a page."""
    return request.path.startswith("/api/")


def error_response(status, code, message):
    """Answer with the contract's JSON error shape, or a friendly page."""
    if wants_json():
        response = jsonify({"error": {"code": code, "message": message}})
        response.status_code = status
        return response
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    return render_template(template, status=status, message=message), status


def transient(error):
    """Return (code, message, retry_after) if ERROR is an outage a later try may overcome, else None.

    An unreachable store, a database that is locked past its timeout, restarting or out of connections: the
    request changed nothing (its transaction is rolled back), so the person can simply send it again."""
    from sqlalchemy import exc

    from media.storage import StoreUnavailable

    if isinstance(error, StoreUnavailable):
        return STORE_DOWN
    if isinstance(error, exc.OperationalError | exc.TimeoutError | exc.DisconnectionError) or (
            isinstance(error, exc.DBAPIError) and error.connection_invalidated):
        return DATABASE_DOWN
    return None


def unavailable_response(code, message, retry_after):
    """A 503 in the contract's shape (or the friendly page) that tells clients when to try again."""
    try:
        response = make_response(error_response(503, code, message))
    except Exception:  # noqa: BLE001 - the page itself needs the database (the signed-in user): answer plainly
        log.warning("the error page could not be rendered; answering in plain HTML", exc_info=True)
        response = make_response(f"<!doctype html><title>503</title><h1>503</h1><p>{escape(message)}</p>", 503)
    response.headers["Retry-After"] = str(retry_after)
    return response


def register_error_handlers(app):
    """Map domain errors, HTTP errors, outages and crashes to answers without stack traces."""

    @app.errorhandler(DomainError)
    def _domain(error):
        response = make_response(error_response(error.status, error.code, error.message))
        if error.retry_after:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(error):
        code, message = HTTP_CODES.get(error.code, ("error", error.description or "The request failed."))
        if error.code == 400 and error.description and "CSRF" in error.description:
            code = "csrf_failed"
            message = "The form expired or was sent from another site; reload the page and try again."
        response = error_response(error.code, code, message)
        if error.code == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            if isinstance(response, tuple):
                return response
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _crash(error):
        outage = transient(error)
        if outage is not None:
            from expo.extensions import db

            try:
                db.session.rollback()  # the failed transaction must not leak into the error page's own queries
            except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the session is discarded anyway
                log.warning("rolling back after an outage failed", exc_info=True)
            log.warning("%s on %s %s: %s", outage[0], request.method, request.path, error)
            return unavailable_response(*outage)
        log.exception("Unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_CODES[500]
        return error_response(500, code, message)
