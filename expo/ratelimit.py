"""Sliding-window rate limits kept in the database, so every web node shares them.

Each key counts hits per fixed window; a limit is checked against the estimate
``previous window × (part of it still inside the sliding window) + current window``,
so a burst cannot double its allowance by straddling a window boundary.
"""
import time

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from expo.errors import RateLimited
from expo.extensions import db
from expo.models import RateCounter

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _bump(key, window):
    insert = _INSERTS[db.engine.dialect.name]
    stmt = insert(RateCounter).values(key=key, window_start=window, hits=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"hits": RateCounter.hits + 1}
    ).returning(RateCounter.hits)
    return db.session.execute(stmt).scalar_one()


def _previous(key, window):
    return db.session.scalar(
        select(RateCounter.hits).where(RateCounter.key == key, RateCounter.window_start == window - 1)
    ) or 0


def _estimate(key, window_s, current, now):
    window = int(now) // window_s
    overlap = 1.0 - (now - window * window_s) / window_s
    return current + _previous(key, window) * overlap


def hit(key, limit, window_s, message):
    """Count one hit on KEY; raise RateLimited once more than LIMIT hits fell in the last WINDOW_S seconds."""
    key = key[:200]
    now = time.time()
    window = int(now) // window_s
    count = _bump(key, window)
    estimate = _estimate(key, window_s, count, now)
    if window % 16 == 0:
        db.session.execute(delete(RateCounter).where(RateCounter.window_start < window - 2))
    # The counter is its own boundary: a refused or failed request must still count.
    db.session.commit()
    if estimate > limit:
        raise RateLimited(message)


def count(keys, window_s):
    """Count one hit on each of KEYS, in one commit, without checking any limit; `peek` weighs them later."""
    for key in keys:
        _bump(key[:200], int(time.time()) // window_s)
    db.session.commit()


def peek(key, window_s):
    """Return the (estimated) hits counted on KEY in the last WINDOW_S seconds."""
    key = key[:200]
    now = time.time()
    row = db.session.get(RateCounter, (key, int(now) // window_s))
    return _estimate(key, window_s, row.hits if row else 0, now)
