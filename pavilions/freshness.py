"""What the public pages show changes only when a pavilion goes live, is replaced, is taken down, or is featured
or no longer featured on the hall; when a themed day or a cloud-class work is added or changed; and at midnight
in the expo's time zone, when the hall features the next themed day.

The page cache asks for the content generation on every anonymous request, so it is kept in memory and
re-read from the database at most once per GENERATION_TTL_S: another web node's publication shows within that
time. A commit in this process that changes what is live forgets the remembered value at once, so the node that
publishes never serves the old page.
"""
import threading
import time

from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from expo.extensions import db
from pavilions.models import Pavilion
from pavilions.programme.days_services import today
from pavilions.programme.models_days import DayPavilion, DayWork, ThemedDay, Work

CACHED_PAGES = {"tour.hall", "tour.pavilion", "days.day", "works.catalogue", "works.work"}
GENERATION_TTL_S = 1.0
_LIVE_FIELDS = ("live_revision_id", "published_at", "featured_at")
_lock = threading.Lock()
_known = {"value": None, "read_at": float("-inf")}


def _read():
    stamp, live, featured, picks = db.session.execute(select(
        func.max(Pavilion.published_at), func.count(Pavilion.live_revision_id), func.max(Pavilion.featured_at),
        func.count(Pavilion.featured_at))).one()
    days, days_changed, works, works_changed = db.session.execute(select(
        select(func.count(ThemedDay.id)).scalar_subquery(), select(func.max(ThemedDay.updated_at)).scalar_subquery(),
        select(func.count(Work.id)).scalar_subquery(), select(func.max(Work.updated_at)).scalar_subquery())).one()
    values = (stamp, live, featured, picks, days, days_changed, works, works_changed, today())
    return "|".join(str(v.isoformat() if hasattr(v, "isoformat") else v) for v in values)


def generation():
    """Return a value that changes whenever the published content changes."""
    now = time.monotonic()
    if now - _known["read_at"] > GENERATION_TTL_S:
        value = _read()
        with _lock:
            _known.update(value=value, read_at=now)
    return _known["value"]


def forget():
    """Make the next generation() read the database."""
    with _lock:
        _known["read_at"] = float("-inf")


@event.listens_for(Session, "after_flush")
def _note_live_changes(session, _context):
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ThemedDay | DayPavilion | DayWork | Work):
            session.info["expo_live_changed"] = True
            return
        if isinstance(obj, Pavilion):
            state = inspect(obj)
            if obj in session.new or obj in session.deleted or any(
                    state.attrs[name].history.has_changes() for name in _LIVE_FIELDS):
                session.info["expo_live_changed"] = True
                return


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session):
    if session.info.pop("expo_live_changed", False):
        forget()


@event.listens_for(Session, "after_rollback")
def _drop_note(session):
    session.info.pop("expo_live_changed", None)
