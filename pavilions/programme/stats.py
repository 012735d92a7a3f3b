"""Counting page views, visitors, visits and media plays without a database write per view.

Each process keeps what it counted in a bounded, thread-safe buffer; a background thread writes it to SQL every
FLUSH_S seconds (and at exit) in a few batched statements: counters are upserted (value + n), visitors inserted
with ON CONFLICT DO NOTHING, last-seen times upserted. The definitions of the figures are in README.md.
"""
import atexit
import functools
import hashlib
import hmac
import logging
import os
import re
import threading
import time
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from werkzeug.http import parse_cookie

from expo.extensions import db
from pavilions.programme.models_stats import EXPO, StatCounter, StatLastSeen, StatVisitor

log = logging.getLogger(__name__)
clock = time.time  # the tests move time
FLUSH_S = 2.0
VISIT_IDLE_S = 30 * 60
MAX_PENDING = 100_000  # distinct (day, scope, visitor) keys held before the flusher is woken early
BATCH = 500
VID_COOKIE = "vid"
BOTS = ("bot", "crawl", "spider", "slurp", "bingpreview", "mediapartners", "facebookexternalhit", "headless",
        "phantomjs", "lighthouse", "pingdom", "uptime", "monitor", "curl", "wget", "python-requests", "python-urllib",
        "go-http-client", "java/", "okhttp", "scrapy", "httpclient", "libwww", "aiohttp", "preview")
_VID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_ON_FLUSH = []
_flushes = {"n": 0}
PRUNE_EVERY = 30
_flushing = threading.Lock()  # one flush at a time per process: the flusher, an exit, a test


@functools.lru_cache(maxsize=4096)  # a few browsers' strings make most of the traffic
def is_bot(user_agent):
    """Tell whether USER_AGENT is a known robot's, or missing (every browser sends one)."""
    lowered = user_agent.lower()
    return not user_agent or any(word in lowered for word in BOTS)


def day_salt(secret, day):
    """The salt of DAY: derived from the secret key, so every process agrees and none ever stores it."""
    return hmac.new(secret.encode(), f"visitor-salt|{day.isoformat()}".encode(), hashlib.sha256).digest()


def new_vid(address, user_agent, secret, day):
    """A `vid` for a visitor who has none: its salted hash of today, so that the views it made before it got the
    cookie and those after are one visitor's."""
    return hmac.new(day_salt(secret, day), f"{address}|{user_agent}".encode(), hashlib.sha256).hexdigest()[:32]


def visitor_id(cookie, address, user_agent, secret, day):
    """Return the stored id of a visitor: a hash of its `vid` cookie, else of the `vid` it would get today (its
    address and browser with the day's salt: the same address and browser are a new visitor the next day)."""
    if not (cookie and _VID.match(cookie)):
        cookie = new_vid(address, user_agent, secret, day)
    return hashlib.sha256(f"vid|{cookie}".encode()).hexdigest()[:32]


def give_vid(app, request, response):
    """Set the `vid` cookie on RESPONSE (a page made for one visitor, never a shared one) when the visitor has none."""
    if _VID.match(request.cookies.get(VID_COOKIE, "") or ""):
        return response
    day = app.extensions["expo_stats"].day(clock())
    value = new_vid(request.remote_addr or "", request.headers.get("User-Agent", ""), app.config["SECRET_KEY"], day)
    response.set_cookie(VID_COOKIE, value, max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=app.config.get("EXPO_SECURE_COOKIES", False))
    return response


class Buffer:
    """What this process counted and has not yet written."""

    def __init__(self, timezone):
        self.zone = ZoneInfo(timezone)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = None
        self._reset()

    def _reset(self):
        self.counts, self.visitors, self.seen = Counter(), set(), {}

    def day(self, ts):
        return datetime.fromtimestamp(ts, self.zone).date()

    def view(self, scopes, visitor, ts=None):
        """Count a page view of VISITOR in each of SCOPES (the expo's first)."""
        ts = clock() if ts is None else ts
        day = self.day(ts)
        with self._lock:
            for scope in scopes:
                self.counts[(day, scope, "views")] += 1
                self.visitors.add((day, scope, visitor))
            known = self.seen.get(visitor)
            if known is None:
                self.seen[visitor] = [ts, ts, []]
            else:
                if ts - known[1] > VISIT_IDLE_S:
                    known[2].append(ts)
                known[1] = max(known[1], ts)
            full = len(self.visitors) > MAX_PENDING
        if full:
            self._wake.set()

    def play(self, pavilion_scope, media_id, ts=None):
        """Count a play of MEDIA_ID, expo-wide and in PAVILION_SCOPE when known."""
        day = self.day(clock() if ts is None else ts)
        with self._lock:
            self.counts[(day, EXPO, "plays")] += 1
            if pavilion_scope:
                self.counts[(day, pavilion_scope, "plays")] += 1
                self.counts[(day, pavilion_scope, f"play:{media_id}")] += 1

    def take(self):
        """Return what was counted and start afresh."""
        with self._lock:
            taken = (self.counts, self.visitors, self.seen)
            self._reset()
        return taken

    def give_back(self, counts, visitors, seen):
        """Merge a batch that could not be written back in, to be tried again."""
        with self._lock:
            self.counts.update(counts)
            self.visitors |= visitors
            for visitor, (first, last, starts) in seen.items():
                known = self.seen.setdefault(visitor, [first, last, []])
                known[0], known[1] = min(known[0], first), max(known[1], last)
                known[2].extend(starts)

    def start(self, app):
        """Start this process's flusher (once per process: a fork has none running)."""
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        thread = threading.Thread(target=self._run, args=(app,), name="expo-stats-flush", daemon=True)
        thread.start()
        atexit.register(flush, app)

    def _run(self, app):
        while True:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            try:
                flush(app)
            except Exception:  # a database outage must not end the flusher; the batch was given back
                log.exception("writing the statistics failed; will retry")


def on_flush(function):
    """Register FUNCTION(app) to run with every flush (the live viewers' buffer)."""
    if function not in _ON_FLUSH:
        _ON_FLUSH.append(function)
    return function


def _insert():
    return _INSERTS[db.engine.dialect.name]


def _chunks(rows):
    rows = list(rows)
    for i in range(0, len(rows), BATCH):
        yield rows[i:i + BATCH]


def _visits(buffer, seen, counts):
    """Add the visits that SEEN starts to COUNTS, and return the new last-seen rows.

    The visitors' rows are created, then locked (FOR UPDATE; SQLite holds its one write lock from the insert on)
    before they are read, in a fixed order: two processes flushing the same visitor cannot both start its visit.
    """
    ordered = sorted(seen)
    for chunk in _chunks(ordered):
        db.session.execute(_insert()(StatLastSeen).values([{"visitor": v, "last_seen": 0.0} for v in chunk])
                           .on_conflict_do_nothing())
    previous = {}
    for chunk in _chunks(ordered):
        previous.update(db.session.execute(select(StatLastSeen.visitor, StatLastSeen.last_seen)
                                           .where(StatLastSeen.visitor.in_(chunk))
                                           .order_by(StatLastSeen.visitor).with_for_update()).all())
    for visitor, (first, _last, starts) in seen.items():
        before = previous.get(visitor) or None  # 0.0: never seen before
        begins = ([first] if before is None or first - before > VISIT_IDLE_S else []) + starts
        for ts in begins:
            counts[(buffer.day(ts), EXPO, "visits")] += 1
    return [{"visitor": v, "last_seen": last} for v, (_f, last, _s) in seen.items()]


def _write(counts, visitors, last_seen):
    insert = _insert()
    for chunk in _chunks(counts.items()):
        stmt = insert(StatCounter).values([{"day": d, "scope": s, "metric": m, "value": n}
                                           for (d, s, m), n in chunk])
        db.session.execute(stmt.on_conflict_do_update(index_elements=["day", "scope", "metric"],
                                                      set_={"value": StatCounter.value + stmt.excluded.value}))
    for chunk in _chunks(visitors):
        stmt = insert(StatVisitor).values([{"day": d, "scope": s, "visitor": v} for d, s, v in chunk])
        db.session.execute(stmt.on_conflict_do_nothing())
    for chunk in _chunks(last_seen):
        stmt = insert(StatLastSeen).values(chunk)
        newer = case((stmt.excluded.last_seen > StatLastSeen.last_seen, stmt.excluded.last_seen),
                     else_=StatLastSeen.last_seen)
        db.session.execute(stmt.on_conflict_do_update(index_elements=["visitor"], set_={"last_seen": newer}))


def _prune():
    """Now and then, drop last-seen times too old to continue a visit: the table holds recent visitors only."""
    _flushes["n"] += 1
    if _flushes["n"] % PRUNE_EVERY == 0:
        # Real time, not `clock`: the tests' moved clock must not prune what other tests wrote.
        db.session.execute(delete(StatLastSeen).where(StatLastSeen.last_seen < time.time() - 2 * VISIT_IDLE_S))


def flush(app):
    """Write what this process counted to the database, in batches; keep it for the next try on failure."""
    buffer = app.extensions.get("expo_stats")
    with _flushing, app.app_context():
        if buffer is not None:
            counts, visitors, seen = buffer.take()
            if counts or visitors or seen:
                try:
                    last_seen = _visits(buffer, seen, counts)
                    _write(counts, visitors, last_seen)
                    _prune()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    buffer.give_back(counts, visitors, seen)
                    raise
        for function in _ON_FLUSH:
            function(app)


def _cookie(environ):
    cookies = environ.get("expo.cookies")  # parsed by the page cache already
    if cookies is None:
        header = environ.get("HTTP_COOKIE")
        cookies = parse_cookie(header) if header else {}
    return cookies.get(VID_COOKIE)


def count_page(app, environ, scope):
    """Count a page view of SCOPE ('expo' or 'pavilion:<id>') from the WSGI request ENVIRON; skip robots."""
    user_agent = environ.get("HTTP_USER_AGENT", "")
    if is_bot(user_agent):
        return
    buffer = app.extensions["expo_stats"]
    buffer.start(app)
    ts = clock()
    visitor = visitor_id(_cookie(environ), environ.get("REMOTE_ADDR", ""), user_agent, app.config["SECRET_KEY"],
                         buffer.day(ts))
    buffer.view((EXPO,) if scope == EXPO else (EXPO, scope), visitor, ts)


def install(app):
    """Give APP a statistics buffer and the page cache its counting hook."""
    buffer = Buffer(app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))
    app.extensions["expo_stats"] = buffer
    app.extensions["expo_page_counter"] = lambda environ, scope: count_page(app, environ, scope)
    app.extensions["expo_page_scope"] = page_scope


PUBLIC_BLUEPRINTS = {"tour", "days", "works", "contests", "live"}
STAFF_PATHS = ("/review", "/studio", "/api/", "/admin", "/login")
_pavilion_ids = {}


def _pavilion_id(slug):
    """The id of the pavilion at SLUG (slugs never change hands), remembered per process."""
    if slug not in _pavilion_ids:
        from pavilions.models import Pavilion

        if len(_pavilion_ids) > 10_000:
            _pavilion_ids.clear()
        _pavilion_ids[slug] = db.session.scalar(select(Pavilion.id).where(Pavilion.slug == slug))
    return _pavilion_ids[slug]


def page_scope(request):
    """The scope a public page's view counts in: 'pavilion:<id>' on a pavilion's page, else 'expo'; None for
    pages that are not counted (the studio, the review, the API, sign-in)."""
    endpoint = request.endpoint or ""
    if endpoint.partition(".")[0] not in PUBLIC_BLUEPRINTS or request.path.startswith(STAFF_PATHS):
        return None
    if endpoint == "tour.pavilion":
        pavilion = _pavilion_id((request.view_args or {}).get("slug"))
        return f"pavilion:{pavilion}" if pavilion else EXPO
    return EXPO


def count_play(app, media):
    """Count a play of MEDIA (a Media row), expo-wide and in its pavilion."""
    buffer = app.extensions["expo_stats"]
    buffer.start(app)
    buffer.play(f"pavilion:{media.pavilion_id}" if media.pavilion_id else None, media.id)
