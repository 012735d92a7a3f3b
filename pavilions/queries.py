"""Read-side queries: the public hall, published pavilions, the review queue, change summaries."""
import base64
import binascii
import json
from collections import Counter
from datetime import datetime

from sqlalchemy import and_, or_, select

from expo.errors import Invalid, NotFound
from expo.extensions import db
from pavilions import search
from pavilions.models import Pavilion, Revision
from pavilions.programme.models_days import DayPavilion, ThemedDay
from pavilions.states import RevisionState

MAX_LIMIT = 100


def _encode_cursor(pavilion, rank=None):
    position = [pavilion.published_at.isoformat(), pavilion.id]
    raw = json.dumps(position if rank is None else [rank, *position]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor, ranked=False):
    """Return (published_at, pavilion id), with the rank first when RANKED; raise Invalid for a foreign cursor."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != 2 + ranked or (ranked and not search.valid_rank(values[0])):
            raise ValueError(cursor)
        *rank, stamp, pavilion_id = values
        return (*rank, datetime.fromisoformat(stamp), str(pavilion_id))
    except (ValueError, TypeError, binascii.Error):
        raise Invalid("The cursor is not one this API gave out; start again without it.", code="invalid_cursor") \
            from None


def parse_limit(value, default=24):
    """Return a page size from VALUE, or raise Invalid."""
    if value in (None, ""):
        return default
    try:
        limit = int(value)
    except ValueError:
        raise Invalid(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.", code="invalid_limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"'limit' must be a whole number from 1 to {MAX_LIMIT}.", code="invalid_limit")
    return limit


def _after(stamp, pavilion_id):
    return or_(Pavilion.published_at < stamp, and_(Pavilion.published_at == stamp, Pavilion.id < pavilion_id))


def published(q=None, tag=None, limit=24, cursor=None, kind=None, day=None):
    """Return (pairs of (pavilion, live revision), next cursor): best match first for Q, else newest first.

    TAG, KIND (a media kind the live revision has a block of) and DAY (a themed day's slug) narrow the list,
    with or without Q.
    """
    stmt = select(Pavilion, Revision).join(Revision, Revision.id == Pavilion.live_revision_id)
    if tag:
        stmt = stmt.where(Revision.tag_index.contains(f",{tag},", autoescape=True))
    if kind:
        stmt = stmt.where(search.has_kind(kind))
    if day:
        stmt = stmt.where(Pavilion.id.in_(select(DayPavilion.pavilion_id).join(
            ThemedDay, ThemedDay.id == DayPavilion.day_id).where(ThemedDay.slug == day)))
    phrase = search.normalise(q)
    if phrase:
        return _matching(stmt, phrase, limit, cursor)
    stmt = stmt.order_by(Pavilion.published_at.desc(), Pavilion.id.desc())
    if cursor:
        stmt = stmt.where(_after(*_decode_cursor(cursor)))
    rows = [tuple(row) for row in db.session.execute(stmt.limit(limit + 1))]
    page = rows[:limit]
    return page, (_encode_cursor(page[-1][0]) if len(rows) > limit else None)


def _matching(stmt, phrase, limit, cursor):
    """Page through the pavilions of STMT whose live revision contains PHRASE, by (rank, newest, id)."""
    hits = search.matches(phrase)
    # Joining on the revision id keeps the index to the live revision, even for a row a takedown missed.
    stmt = (stmt.add_columns(hits.c.rank).join(hits, hits.c.revision_id == Revision.id)
            .order_by(hits.c.rank, Pavilion.published_at.desc(), Pavilion.id.desc()))
    if cursor:
        rank, stamp, pavilion_id = _decode_cursor(cursor, ranked=True)
        stmt = stmt.where(or_(hits.c.rank > rank, and_(hits.c.rank == rank, _after(stamp, pavilion_id))))
    rows = [tuple(row) for row in db.session.execute(stmt.limit(limit + 1))]
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1][0], rank=page[-1][2]) if len(rows) > limit else None
    return [(pavilion, revision) for pavilion, revision, _rank in page], next_cursor


def featured(limit=6):
    """Return (pavilion, live revision) pairs a curator featured, most recently featured first."""
    stmt = (select(Pavilion, Revision).join(Revision, Revision.id == Pavilion.live_revision_id)
            .where(Pavilion.featured_at.is_not(None)).order_by(Pavilion.featured_at.desc()).limit(limit))
    return [tuple(row) for row in db.session.execute(stmt)]


def published_for_curators():
    """Return every published pavilion with its live revision, by name, for the curators' featuring page."""
    stmt = (select(Pavilion, Revision).join(Revision, Revision.id == Pavilion.live_revision_id)
            .order_by(Pavilion.featured_at.desc().nulls_last(), Revision.name))
    return [tuple(row) for row in db.session.execute(stmt)]


def hall_tags(limit=24):
    """Return the tags of published pavilions, most used first."""
    counts = Counter(tag for tags in db.session.scalars(
        select(Revision.tags).join(Pavilion, Pavilion.live_revision_id == Revision.id)) for tag in tags or [])
    return [tag for tag, _n in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]]


def published_by_slug(slug):
    """Return (pavilion, live revision) for SLUG, or raise NotFound if it was never published."""
    row = db.session.execute(select(Pavilion, Revision).join(Revision, Revision.id == Pavilion.live_revision_id)
                             .where(Pavilion.slug == slug)).first()
    if row is None:
        raise NotFound("No published pavilion has this address.", code="pavilion_not_found")
    return row


def review_queue():
    """Return pending revisions, oldest submission first."""
    return list(db.session.scalars(select(Revision).where(Revision.state == RevisionState.PENDING)
                                   .order_by(Revision.submitted_at, Revision.id)))


def live_revision(pavilion):
    return db.session.get(Revision, pavilion.live_revision_id) if pavilion.live_revision_id else None


def owned_by(actor):
    return list(db.session.scalars(select(Pavilion).where(Pavilion.owner_id == actor.id)
                                   .order_by(Pavilion.created_at.desc())))


def changes(revision):
    """Summarise what REVISION changes against the live revision of its pavilion."""
    live = live_revision(revision.pavilion)
    if live is None or live.id == revision.id:
        return {"first_publication": live is None, "fields": [], "added": [b["id"] for b in revision.blocks],
                "removed": [], "changed": [], "moved": False}
    before = {b["id"]: b for b in live.blocks}
    after = {b["id"]: b for b in revision.blocks}
    common_before = [i for i in before if i in after]
    common_after = [i for i in after if i in before]
    return {
        "first_publication": False,
        "fields": [f for f in ("name", "summary", "name_en", "summary_en", "tags")
                   if getattr(live, f) != getattr(revision, f)],
        "added": [i for i in after if i not in before],
        "removed": [i for i in before if i not in after],
        "changed": [i for i in common_after if before[i] != after[i]],
        "moved": common_before != common_after,
    }
