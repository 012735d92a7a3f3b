"""HTTP caching: fingerprinted static files, ETag revalidation of pages, and a rendered-page cache for anonymous
visitors.

* Static URLs carry `?v=<content hash>`; a request with the current hash is cached for a year (immutable), so a
  deploy changes the URL and never serves a stale script.
* Every HTML page gets an ETag, and a matching If-None-Match answers 304 with no body.
* Public pages (the endpoints a package lists in ``app.extensions["expo_cached_pages"]``) are kept, once rendered
  for a visitor without a session, per (path and query, language) in a small per-process LRU, with every header
  the app set (CSP included). A WSGI middleware answers later anonymous requests for them before Flask runs, as a
  reverse-proxy cache would. An entry is used only while the site's content generation
  (``app.extensions["expo_page_generation"]``; it moves whenever a pavilion is published or taken down) is the
  one it was rendered under, and for at most EXPO_PAGE_CACHE_S seconds. While the database cannot tell the
  generation (locked or restarting), an entry of that age is served whatever its generation (stale if error).
* Every view of a counted page, served from the cache or by Flask, is handed to the statistics' counter
  (``app.extensions["expo_page_counter"](environ, scope)``; the scope comes from
  ``app.extensions["expo_page_scope"](request)`` and is kept with the cached page), unless EXPO_STATS is off.
"""
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path

from flask import g, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie, parse_etags

log = logging.getLogger(__name__)
_NEVER_CACHED = ("/static/", "/media/", "/api/")
YEAR = 31536000
MAX_KEY = 512
_FLAG = "expo.page_cache"
_COUNT = "expo.count_scope"
_COOKIES = "expo.cookies"
_UNSHARED = {"set-cookie", "date", "server", "content-length"}


class PageCache:
    """A thread-safe LRU of rendered pages: key -> (generation, stored at, status, headers, body, etag, scope)."""

    def __init__(self, size):
        self.size, self._lock, self._entries = size, threading.Lock(), OrderedDict()

    def get(self, key, generation, max_age):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] != generation or time.monotonic() - entry[1] > max_age:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def get_stale(self, key, max_age):
        """Return the entry for KEY if it is younger than MAX_AGE, whatever generation it was rendered under."""
        with self._lock:
            entry = self._entries.get(key)
            return entry if entry is not None and time.monotonic() - entry[1] <= max_age else None

    def put(self, key, generation, status, headers, body, etag, scope=None):
        with self._lock:
            self._entries[key] = (generation, time.monotonic(), status, headers, body, etag, scope)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


class Fingerprints:
    """Content hashes of static files, computed once per file and process."""

    def __init__(self, folder):
        self.folder, self._known = Path(folder).resolve(), {}

    def of(self, filename):
        if filename not in self._known:
            path = (self.folder / filename).resolve()
            digest = None
            if path.is_file() and path.is_relative_to(self.folder):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            self._known[filename] = digest
        return self._known[filename]


class PageCacheMiddleware:
    """Answers anonymous GET/HEAD requests for cached pages before Flask runs; stores what Flask marked."""

    def __init__(self, app, wsgi_app, locale_of):
        self.app, self.wsgi_app, self.locale_of = app, wsgi_app, locale_of
        self.pages = app.extensions["expo_page_cache"]
        self.session_cookie = app.config["SESSION_COOKIE_NAME"]

    def key(self, environ):
        """The cache key of an anonymous request, or None when the visitor has a session or a token."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return None
        if environ.get("PATH_INFO", "").startswith(_NEVER_CACHED):  # files and JSON: no page of ours
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE", "")) if environ.get("HTTP_COOKIE") else {}
        environ[_COOKIES] = cookies  # the counter reads the `vid` from them
        if self.session_cookie in cookies or "remember_token" in cookies:
            return None
        accept = LanguageAccept(parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE", "")))
        path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
        return f"{self.locale_of(cookies.get('lang'), accept)}|{path}" if len(path) <= MAX_KEY else None

    def generation(self):
        with self.app.app_context():
            return self.app.extensions["expo_page_generation"]()

    def count(self, environ, scope):
        """Hand a view of a counted page to the statistics (never failing the page)."""
        counter = self.app.extensions.get("expo_page_counter")
        if (scope is not None and counter is not None and environ.get("REQUEST_METHOD") == "GET"
                and self.app.config.get("EXPO_STATS", True)):
            counter(environ, scope)

    def __call__(self, environ, start_response):
        max_age = self.app.config["EXPO_PAGE_CACHE_S"]
        key = self.key(environ) if max_age else None
        if key is None:
            body = self.wsgi_app(environ, start_response)
            self.count(environ, environ.get(_COUNT))
            return body
        try:
            generation = self.generation()
        except Exception:  # noqa: BLE001 - the database is unreachable (locked, restarting)
            # Stale if error: a page rendered less than EXPO_PAGE_CACHE_S ago is still the best answer we have.
            entry = self.pages.get_stale(key, max_age)
            if entry is not None:
                log.warning("page cache: no content generation; serving the cached %s", key)
                self.count(environ, entry[6])
                return self._answer(environ, start_response, entry)
            log.warning("page cache: no content generation; answering without the cache", exc_info=True)
            body = self.wsgi_app(environ, start_response)
            self.count(environ, environ.get(_COUNT))
            return body
        entry = self.pages.get(key, generation, max_age)
        if entry is not None:
            self.count(environ, entry[6])
            return self._answer(environ, start_response, entry)
        environ[_FLAG + ".key"] = key
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        self.count(environ, environ.get(_COUNT))
        mark = environ.get(_FLAG)
        if mark is None or environ["REQUEST_METHOD"] != "GET" or not captured.get("status", "").startswith("200"):
            return body
        chunks = list(body)
        if hasattr(body, "close"):
            body.close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in _UNSHARED]
        etag = next((v for k, v in headers if k.lower() == "etag"), None)
        self.pages.put(key, mark, captured["status"], headers, b"".join(chunks), etag, environ.get(_COUNT))
        return chunks

    @staticmethod
    def _answer(environ, start_response, entry):
        _generation, _at, status, headers, body, etag, _scope = entry
        if etag and parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_raw(etag):
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() != "content-type"])
            return []
        start_response(status, [*headers, ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def install(app, locale_of):
    """Add static fingerprints, ETags and the anonymous page cache to APP; LOCALE_OF(cookie, accept) -> locale."""
    app.extensions.setdefault("expo_cached_pages", set())
    app.extensions.setdefault("expo_page_generation", lambda: None)
    app.extensions.setdefault("expo_page_scope", lambda _request: None)
    app.extensions["expo_page_cache"] = PageCache(app.config["EXPO_PAGE_CACHE_ENTRIES"])
    app.wsgi_app = PageCacheMiddleware(app, app.wsgi_app, locale_of)
    prints = Fingerprints(app.static_folder)

    @app.url_defaults
    def _fingerprint(endpoint, values):
        if endpoint == "static" and "v" not in values:
            digest = prints.of(values.get("filename", ""))
            if digest:
                values["v"] = digest

    @app.before_request
    def _generation_at_start():
        # Read before rendering: a publication during the render then makes the stored page stale at once.
        if request.environ.get(_FLAG + ".key") and request.endpoint in app.extensions["expo_cached_pages"]:
            g.page_generation = app.extensions["expo_page_generation"]()

    @app.after_request
    def _revalidate(response):
        if request.endpoint == "static":
            fresh = request.args.get("v") and request.args["v"] == prints.of(request.view_args.get("filename", ""))
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR if fresh else 300
            if fresh:
                response.cache_control.immutable = True
            return response
        if (request.method not in ("GET", "HEAD") or response.status_code != 200 or response.direct_passthrough
                or response.mimetype != "text/html" or response.is_streamed):
            return response
        if request.method == "GET":  # a HEAD is no view
            request.environ[_COUNT] = app.extensions["expo_page_scope"](request)
        if not response.get_etag()[0]:
            response.add_etag()
        # A page that sets a cookie was made for one visitor (a CSRF token, a flash): never shared.
        shared = "page_generation" in g and "Set-Cookie" not in response.headers
        if shared:
            request.environ[_FLAG] = g.page_generation
            # Shared caches may keep it briefly; everyone revalidates with the ETag after that.
            response.cache_control.public = True
            response.cache_control.max_age = 0
            response.cache_control.s_maxage = min(60, app.config["EXPO_PAGE_CACHE_S"])
        else:
            response.cache_control.private = True
            response.cache_control.no_cache = True
        response.vary.update(("Cookie", "Accept-Language"))
        return response.make_conditional(request)
