"""The live broadcast: scheduling (curators), the current or next broadcast, and counting its viewers.

Viewers are counted without a database row per heartbeat. With Redis (EXPO_REDIS_URL, by default the broker when
it is redis://) each broadcast has a sorted set viewer -> last heartbeat (ZADD; ZCOUNT over the last 60 s;
ZREMRANGEBYSCORE drops the stale) and a HyperLogLog of every viewer (PFADD / PFCOUNT, about 0.8 % standard error).
On the embedded default each process keeps the viewers it heard from in a bounded map and writes them every few
seconds, in one batched upsert, to `live_viewers` (one row per distinct viewer with its last heartbeat): both
figures are then exact counts, up to the few seconds a batch waits.
"""
import hashlib
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite

from expo.errors import Invalid, NotFound, RateLimited
from expo.extensions import db
from media.models import Media
from media.states import MediaKind
from pavilions.programme import stats
from pavilions.programme.models_live import Broadcast, LiveViewer

clock = time.time  # the tests move time
WINDOW_S = 60
MIN_BEAT_S = 10  # a viewer's heartbeats closer than this are refused
IP_BEATS_PER_MIN = 600  # a school or an office shares one address: generous, per process
MAX_PENDING = 200_000
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_lock = threading.Lock()
_pending = {}  # (broadcast id, viewer hash) -> last heartbeat, not yet written
_writing = {}  # the same, taken by a flush whose transaction is not committed yet: still counted from here
_last_beat = {}  # viewer hash -> last accepted heartbeat in this process
_ip_beats = {}  # address -> [minute, heartbeats in it]
COUNT_TTL_S = 2.0  # embedded path: every heartbeat answers with the counts, so they are read at most this often
_counted = {}  # broadcast id -> (read at, (viewers now, participants))


def _parse_time(value, name):
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid(f"'{name}' must be an ISO 8601 time with its offset, e.g. 2026-11-30T19:00:00+08:00.",
                      code="invalid_time")
    return moment.astimezone(UTC)


def _checked(body):
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise Invalid("'title' must be text of 1 to 200 characters.", code="invalid_title")
    title_en = body.get("title_en") or ""
    if not isinstance(title_en, str) or len(title_en) > 200:
        raise Invalid("'title_en' must be text of at most 200 characters.", code="invalid_title")
    starts, ends = _parse_time(body.get("starts_at"), "starts_at"), _parse_time(body.get("ends_at"), "ends_at")
    if ends <= starts:
        raise Invalid("'ends_at' must come after 'starts_at'.", code="invalid_time")
    url = body.get("hls_url")
    parts = urlsplit(url) if isinstance(url, str) and len(url) <= 1000 and url.isprintable() else None
    if parts is None or parts.scheme not in ("https", "http") or not stream_origin(url):
        raise Invalid("'hls_url' must be the http:// or https:// address of the stream's HLS playlist.",
                      code="invalid_url")
    return title.strip(), title_en.strip(), starts, ends, url


# A host name or an IP address, and nothing else: the origin goes into the live page's Content-Security-Policy.
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$|^[0-9a-f:.]+$")


def stream_origin(url):
    """Return the scheme://host[:port] origin of the stream URL, or None unless it is plain http(s) to a host."""
    parts = urlsplit(url or "")
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not _HOST.match(host) or any(c.isspace() for c in url):
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _replay(media_id):
    if media_id in (None, ""):
        return None
    media = db.session.get(Media, media_id) if isinstance(media_id, str) else None
    if media is None or media.kind != MediaKind.VIDEO:
        raise Invalid("'replay' must be the id of a video uploaded to the expo, or null.", code="invalid_replay")
    return media.id


def schedule(actor, body):
    """Create the next broadcast, or replace it if one is still to start; return (broadcast, created)."""
    title, title_en, starts, ends, url = _checked(body)
    replay = _replay(body.get("replay"))
    now = datetime.fromtimestamp(clock(), UTC)
    broadcast = db.session.scalar(select(Broadcast).where(Broadcast.starts_at > now)
                                  .order_by(Broadcast.starts_at).limit(1))
    created = broadcast is None
    if created:
        broadcast = Broadcast(created_by=actor.id)
        db.session.add(broadcast)
    broadcast.title, broadcast.title_en, broadcast.starts_at, broadcast.ends_at = title, title_en, starts, ends
    broadcast.hls_url, broadcast.replay_media_id = url, replay
    db.session.flush()
    return broadcast, created


def aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def status(broadcast, now=None):
    """'upcoming', 'live' or 'ended' at NOW."""
    now = datetime.fromtimestamp(clock() if now is None else now, UTC)
    if now < aware(broadcast.starts_at):
        return "upcoming"
    return "live" if now < aware(broadcast.ends_at) else "ended"


def current():
    """The broadcast on air, else the next one, else the last that ended; NotFound when none was scheduled."""
    now = datetime.fromtimestamp(clock(), UTC)
    on_air = select(Broadcast).where(Broadcast.starts_at <= now, Broadcast.ends_at > now)
    found = (db.session.scalar(on_air.order_by(Broadcast.starts_at.desc()).limit(1))
             or db.session.scalar(select(Broadcast).where(Broadcast.starts_at > now)
                                  .order_by(Broadcast.starts_at).limit(1))
             or db.session.scalar(select(Broadcast).order_by(Broadcast.ends_at.desc()).limit(1)))
    if found is None:
        raise NotFound("No broadcast is scheduled yet; come back when the programme announces one.",
                       code="broadcast_not_found")
    return found


def _redis():
    url = current_app.config.get("EXPO_REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("expo_redis")
    if client is None:
        import redis

        client = current_app.extensions["expo_redis"] = redis.Redis.from_url(url)
    return client


def viewer_hash(viewer):
    """The stored form of a page's random viewer id."""
    return hashlib.sha256(f"viewer|{viewer}".encode()).hexdigest()[:32]


def _throttle(viewer, address, now):
    with _lock:
        last = _last_beat.get(viewer)
        if last is not None and now - last < MIN_BEAT_S:
            raise RateLimited(f"Send a heartbeat at most every {MIN_BEAT_S} seconds.", code="heartbeat_too_soon")
        minute = int(now // 60)
        slot = _ip_beats.get(address)
        if slot is None or slot[0] != minute:
            if len(_ip_beats) > 50_000:
                _ip_beats.clear()
            slot = _ip_beats[address] = [minute, 0]
        slot[1] += 1
        if slot[1] > IP_BEATS_PER_MIN:
            raise RateLimited("Too many heartbeats from this address; wait a minute.", code="rate_limited")
        if len(_last_beat) > MAX_PENDING:
            _last_beat.clear()
        _last_beat[viewer] = now


def heartbeat(broadcast, viewer, address):
    """Count VIEWER (a hash) as watching BROADCAST now; return (viewers_now, participants_total)."""
    now = clock()
    _throttle(f"{broadcast.id}|{viewer}", address, now)
    redis = _redis()
    if redis is not None:
        key = f"expo:live:{broadcast.id}"
        pipe = redis.pipeline()
        pipe.zadd(f"{key}:now", {viewer: now})
        pipe.zremrangebyscore(f"{key}:now", "-inf", now - WINDOW_S)
        pipe.pfadd(f"{key}:all", viewer)
        pipe.execute()
    else:
        with _lock:
            _pending[(broadcast.id, viewer)] = now
            _counted.pop(broadcast.id, None)  # the answer to this beat must include this viewer
            full = len(_pending) > MAX_PENDING
        if full:
            flush(current_app)
        current_app.extensions["expo_stats"].start(current_app._get_current_object())
    return counts(broadcast)


def counts(broadcast):
    """(viewers now, participants in all) of BROADCAST."""
    now = clock()
    redis = _redis()
    if redis is not None:
        key = f"expo:live:{broadcast.id}"
        pipe = redis.pipeline()
        pipe.zcount(f"{key}:now", now - WINDOW_S, "+inf")
        pipe.pfcount(f"{key}:all")
        viewers_now, total = pipe.execute()
        return int(viewers_now), int(total)
    known = _counted.get(broadcast.id)
    if known is not None and abs(now - known[0]) < COUNT_TTL_S:
        return known[1]
    # Heartbeats still in this process's buffer, or in a flush not yet committed, count too: a viewer's own
    # first beat must show them watching. The buffer is read first and the database once, in one statement (one
    # snapshot), so a flush committing meanwhile neither loses nor doubles a viewer.
    with _lock:
        waiting = {v: seen for (b, v), seen in (*_writing.items(), *_pending.items()) if b == broadcast.id}
    recent = now - WINDOW_S
    fresh = [v for v, seen in waiting.items() if seen >= recent]
    row = db.session.execute(select(
        func.count().filter(LiveViewer.last_seen >= recent), func.count(),
        func.count().filter(LiveViewer.viewer.in_(list(waiting))),
        func.count().filter(LiveViewer.viewer.in_(fresh), LiveViewer.last_seen >= recent),
    ).where(LiveViewer.broadcast_id == broadcast.id)).one()
    total = int(row[1] or 0) + len(waiting) - int(row[2] or 0)
    viewers_now = int(row[0] or 0) + len(fresh) - int(row[3] or 0)
    if len(_counted) > 100:
        _counted.clear()
    _counted[broadcast.id] = (now, (viewers_now, total))
    return _counted[broadcast.id][1]


def participants_all():
    """Distinct viewers of every broadcast together (HyperLogLog union with Redis)."""
    redis = _redis()
    if redis is not None:
        keys = [f"expo:live:{b}:all" for b in db.session.scalars(select(Broadcast.id))]
        return int(redis.pfcount(*keys)) if keys else 0
    return int(db.session.scalar(select(func.count(func.distinct(LiveViewer.viewer)))) or 0)


def flush(app):
    """Write the viewers heard from since the last flush in one batched upsert."""
    with _lock:
        if not _pending:
            return
        rows = [{"broadcast_id": b, "viewer": v, "last_seen": t} for (b, v), t in _pending.items()]
        _writing.update(_pending)  # counted from here until the commit makes the database count them
        _pending.clear()
    insert = _INSERTS[db.engine.dialect.name]
    try:
        for i in range(0, len(rows), stats.BATCH):
            stmt = insert(LiveViewer).values(rows[i:i + stats.BATCH])
            newer = case((stmt.excluded.last_seen > LiveViewer.last_seen, stmt.excluded.last_seen),
                         else_=LiveViewer.last_seen)
            db.session.execute(stmt.on_conflict_do_update(index_elements=["broadcast_id", "viewer"],
                                                          set_={"last_seen": newer}))
        db.session.commit()
    except Exception:
        db.session.rollback()
        with _lock:
            for row in rows:
                key = (row["broadcast_id"], row["viewer"])
                _pending[key] = max(_pending.get(key, 0), row["last_seen"])
        raise
    finally:
        with _lock:
            for row in rows:
                _writing.pop((row["broadcast_id"], row["viewer"]), None)
            _counted.clear()  # answers cached while the rows were in flight may predate them



def seed_demo(curator, hls_url, replay_media_id=None):
    """Schedule the demo's broadcast: on air from ten minutes ago for three days (the caller commits)."""
    start = datetime.fromtimestamp(clock() - 600, UTC)
    return schedule(curator, {"title": "网络安全宣传周 · 开幕直播", "title_en": "Cyber Security Week: the opening live",
                              "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=3)).isoformat(),
                              "hls_url": hls_url, "replay": replay_media_id})[0]


stats.on_flush(flush)
