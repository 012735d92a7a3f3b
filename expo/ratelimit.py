"""Fixed-window rate limits kept in the database, so every web node shares them."""
import time

from sqlalchemy import delete
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


def hit(key, limit, window_s, message):
    """Count one hit on KEY; raise RateLimited once LIMIT hits fell in the current window."""
    window = int(time.time()) // window_s
    count = _bump(key[:200], window)
    if window % 16 == 0:
        db.session.execute(delete(RateCounter).where(RateCounter.window_start < window - 2))
    # The counter is its own boundary: a refused or failed request must still count.
    db.session.commit()
    if count > limit:
        raise RateLimited(message)


def peek(key, window_s):
    """Return the hits counted on KEY in the current window."""
    row = db.session.get(RateCounter, (key[:200], int(time.time()) // window_s))
    return row.hits if row else 0
