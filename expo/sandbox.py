"""The sandbox origin: a separate, cookie-less app that serves H5 bundle files and nothing else.

URLs: /b/<media_id>/<run_id>/pub/<file> for a published bundle, /b/<media_id>/<run_id>/<expiry>.<hmac>/<file>
for a draft (the capability sits in the path so the bundle's relative links keep working).
"""
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException


class _NoSessions(SessionInterface):
    """No session is ever opened or saved, so no cookie is ever set."""

    def open_session(self, app, request):
        return None

    def save_session(self, app, session, response):
        return None


def bundle_policy(site_origins, own_origins=False):
    """Return the CSP of every bundle file: its own origin only, framed only by the expo; opaque everywhere unless
    every bundle has an origin of its own (OWN_ORIGINS), where keeping that origin is safe."""
    ancestors = " ".join(site_origins) or "'none'"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        f"frame-ancestors {ancestors}",
        "base-uri 'self'",
        "form-action 'none'",
        # Shared origin: opaque even when opened in its own tab, so one bundle can never read another's pages or
        # the cookies of the host it shares with the site (ports do not separate cookies). Own origins: the
        # bundle keeps its origin (storage, same-origin fetches) and still cannot reach anything else.
        "sandbox allow-scripts allow-forms allow-popups" + (" allow-same-origin" if own_origins else ""),
    ])


def _headers(response, policy):
    headers = response.headers
    headers.pop("Set-Cookie", None)
    headers["Content-Security-Policy"] = policy
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    # The frame's document has an opaque origin, so its own subresources are cross-origin requests to us:
    # a same-site CORP would block them. Nothing here is secret beyond the capability in the URL.
    headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    return response


def serve_file(media_id, run_id, capability, name):
    """Answer one file of a bundle, or 404 for anything that is not a file of a bundle this path opens."""
    from expo.extensions import db
    from media import h5
    from media.models import Media
    from media.processing import IMMUTABLE
    from media.states import MediaKind, MediaStatus
    from media.views import stream_file

    media = db.session.get(Media, media_id)
    if media is None or media.kind != MediaKind.H5 or media.status != MediaStatus.READY \
            or not h5.allows(media, run_id, capability):
        abort(404)
    sandbox_origin = current_app.config["EXPO_SANDBOX_ORIGIN"]
    if h5.per_bundle(sandbox_origin) and \
            request.host.lower() != urlsplit(h5.bundle_origin(media.id, sandbox_origin)).netloc.lower():
        abort(404)  # a bundle's files only on its own origin: on another's they would run as that bundle
    response = stream_file(media.id, run_id, name,
                           IMMUTABLE if capability == h5.PUBLIC else "private, max-age=3600")
    if response is None:
        abort(404)
    return response


def create_sandbox_app(settings=None):
    """Build the sandbox app: the database (to check publication), the store, one route."""
    from expo import _config, errors
    from expo.extensions import bind_lock_timeout, db

    app = Flask(__name__, static_folder=None)
    app.config.from_object(settings or _config())
    app.session_interface = _NoSessions()
    db.init_app(app)
    with app.app_context():
        bind_lock_timeout(app)
    from media import h5

    policy = bundle_policy(app.config.get("EXPO_SITE_ORIGINS") or [], h5.per_bundle(app.config["EXPO_SANDBOX_ORIGIN"]))
    app.add_url_rule("/b/<media_id>/<run_id>/<capability>/<path:name>", "file", serve_file)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _missing(error):
        return Response("Not found.\n", status=error.code, mimetype="text/plain")

    @app.errorhandler(Exception)
    def _outage(error):
        if isinstance(error, HTTPException):
            return error
        outage = errors.transient(error)  # the store or the database is away: the page may simply reload later
        if outage is None:
            current_app.logger.exception("Unhandled error on %s", request.path)
            return Response("Something went wrong; reload the page in a moment.\n", status=500,
                            mimetype="text/plain")
        db.session.rollback()
        return Response(f"{outage[1]}\n", status=503, mimetype="text/plain",
                        headers={"Retry-After": str(outage[2])})

    app.after_request(lambda response: _headers(response, policy))
    return app
