"""Reading the statistics: expo-wide totals, a pavilion's figures per day, CSV and a server-drawn bar chart."""
import csv
import io
import time
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from expo.extensions import db
from media.models import Media
from pavilions.programme import live_services, stats
from pavilions.programme.models_stats import EXPO, StatCounter, StatVisitor

TOTALS_TTL_S = 10.0
_totals = {}
COLUMNS = ("day", "views", "unique_visitors", "media_plays", "contest_entries")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _sum(scope, metric):
    return int(db.session.scalar(select(func.coalesce(func.sum(StatCounter.value), 0))
                                 .where(StatCounter.scope == scope, StatCounter.metric == metric)) or 0)


def _attempts():
    """The contests' Attempt model, or None while the contests are not part of this build."""
    try:
        from pavilions.programme import models_contests
    except ImportError:
        return None
    return getattr(models_contests, "Attempt", None)


def contest_participants():
    """Distinct people who started at least one contest attempt (0 without contests)."""
    attempt = _attempts()
    person = getattr(attempt, "user_id", None) if attempt is not None else None
    return int(db.session.scalar(select(func.count(func.distinct(person))))) if person is not None else 0


def forget(_app=None):
    """Drop the remembered totals (after this process wrote its counts)."""
    _totals.clear()


def expo_totals():
    """The figures of GET /api/v1/stats (defined in README.md), read at most every TOTALS_TTL_S per process: anyone
    may ask, and counting distinct visitors is not free."""
    known = _totals.get("value")
    if known is not None and time.monotonic() - known[0] < TOTALS_TTL_S:
        return dict(known[1])
    value = _read_totals()
    _totals["value"] = (time.monotonic(), value)
    return dict(value)


def _read_totals():
    return {"page_views": _sum(EXPO, "views"),
            "unique_visitors": int(db.session.scalar(select(func.count(func.distinct(StatVisitor.visitor)))
                                                     .where(StatVisitor.scope == EXPO)) or 0),
            "person_times": _sum(EXPO, "visits"),
            "live_participants": live_services.participants_all(),
            "contest_participants": contest_participants()}


def _contest_entries(pavilion_id):
    """{day: attempts started} at contests of PAVILION_ID (None: every contest); {} without contests."""
    attempt = _attempts()
    started = getattr(attempt, "started_at", None) or getattr(attempt, "created_at", None)
    if attempt is None or started is None:
        return {}
    query = select(started)
    if pavilion_id is not None:
        from pavilions.programme import models_contests

        contest = getattr(models_contests, "Contest", None)
        if contest is None or not hasattr(contest, "pavilion_id") or not hasattr(attempt, "contest_id"):
            return {}
        query = query.join(contest, contest.id == attempt.contest_id).where(contest.pavilion_id == pavilion_id)
    zone = ZoneInfo(current_app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))
    days = defaultdict(int)
    for (moment,) in db.session.execute(query):
        days[(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone).date()] += 1
    return days


def per_day(scope, pavilion_id=None):
    """[{day, views, unique_visitors, media_plays, contest_entries, visits}] of SCOPE, oldest day first."""
    rows = defaultdict(lambda: dict.fromkeys(COLUMNS[1:] + ("visits",), 0))
    metrics = {"views": "views", "plays": "media_plays", "visits": "visits"}
    for day, metric, value in db.session.execute(
            select(StatCounter.day, StatCounter.metric, StatCounter.value)
            .where(StatCounter.scope == scope, StatCounter.metric.in_(list(metrics)))):
        rows[day][metrics[metric]] += int(value)
    for day, visitors in db.session.execute(select(StatVisitor.day, func.count()).where(StatVisitor.scope == scope)
                                            .group_by(StatVisitor.day)):
        rows[day]["unique_visitors"] = int(visitors)
    for day, entries in _contest_entries(pavilion_id).items():
        rows[day]["contest_entries"] += entries
    return [{"day": day.isoformat(), **rows[day]} for day in sorted(rows)]


def top_media(pavilion_id, limit=10):
    """[(media, plays)] of a pavilion, most played first."""
    plays = db.session.execute(
        select(StatCounter.metric, func.sum(StatCounter.value).label("n"))
        .where(StatCounter.scope == f"pavilion:{pavilion_id}", StatCounter.metric.like("play:%"))
        .group_by(StatCounter.metric).order_by(func.sum(StatCounter.value).desc()).limit(limit)).all()
    found = {m.id: m for m in db.session.scalars(select(Media).where(
        Media.id.in_([metric[5:] for metric, _n in plays])))}
    return [(found.get(metric[5:]), metric[5:], int(n)) for metric, n in plays]


def _cell(value):
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def to_csv(days):
    """DAYS as CSV; a cell that a spreadsheet would read as a formula is quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in days:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def bar_chart(days, field, width=640, height=160):
    """The geometry of a bar chart of FIELD per day, drawn as inline SVG by the template (no script needed)."""
    if not days:
        return None
    top = max(max(d[field] for d in days), 1)
    step = width / len(days)
    bars = []
    for i, day in enumerate(days):
        h = round((height - 20) * day[field] / top)
        bars.append({"x": round(i * step + step * 0.1, 1), "y": height - 20 - h, "w": round(step * 0.8, 1), "h": h,
                     "label": day["day"][5:], "title": f"{day['day']}: {day[field]}"})
    return {"width": width, "height": height, "bars": bars, "base": height - 5}


def now_day():
    """Today in the expo's time zone."""
    zone = ZoneInfo(current_app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))
    return datetime.now(zone).date()


stats.on_flush(forget)
