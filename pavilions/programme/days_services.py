"""Themed-day rules: create and change days, what each day shows, which day is today. Writes take the actor."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select

from expo.errors import Conflict, Invalid, NotFound
from expo.extensions import db, utcnow
from media import services as media_services
from media.states import MediaKind
from pavilions.models import Pavilion, Revision
from pavilions.programme import fields, works_services
from pavilions.programme.models_days import PROGRAMME_HOLDER, DayPavilion, DayWork, ThemedDay, Work
from pavilions.services import SLUG_RE

MAX_ATTACHED = 100


def today():
    """Return today's date in the expo's time zone (EXPO_TIMEZONE)."""
    return datetime.now(ZoneInfo(current_app.config.get("EXPO_TIMEZONE", "Asia/Shanghai"))).date()



def _text(data, field, limit, required=False):
    return fields.text(data, field, limit, required, "A themed day")


def _date(value):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid("'date' must be a date written YYYY-MM-DD.", code="invalid_date") from None


def _ids(data, field):
    value = data.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise Invalid(f"'{field}' must be a list of ids.", code=f"invalid_{field}")
    if len(value) > MAX_ATTACHED:
        raise Invalid(f"A day takes at most {MAX_ATTACHED} {field}.", code=f"too_many_{field}")
    return list(dict.fromkeys(value))


def _pavilion_ids(refs):
    """Return the ids of the pavilions named by REFS (slugs or ids), in order; raise Invalid for an unknown one."""
    found = db.session.execute(select(Pavilion.id, Pavilion.slug).where(
        or_(Pavilion.slug.in_(refs), Pavilion.id.in_(refs)))).all()
    by_ref = {**{slug: pid for pid, slug in found}, **{pid: pid for pid, _slug in found}}
    missing = [r for r in refs if r not in by_ref]
    if missing:
        raise Invalid(f"No pavilion has the slug or id '{missing[0]}'; list pavilions by their address "
                      "(slug) or id.", code="unknown_pavilion")
    return list(dict.fromkeys(by_ref[r] for r in refs))


def _work_ids(ids):
    found = set(db.session.scalars(select(Work.id).where(Work.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid(f"No work has the id '{missing[0]}'.", code="unknown_work")
    return ids


def _banner(media_id):
    if not media_id:
        return None
    media = media_services.load_many([media_id]).get(media_id)
    if media is None or media.pavilion_id != PROGRAMME_HOLDER or media.kind != MediaKind.IMAGE:
        raise Invalid("The banner must be an image uploaded for the programme (POST /api/v1/works/media).",
                      code="invalid_banner")
    return media_id


def _values(data):
    if not isinstance(data, dict):
        raise Invalid("Send the day as a JSON object.", code="invalid_body")
    slug = data.get("slug")
    if not (isinstance(slug, str) and SLUG_RE.match(slug)):
        raise Invalid("The slug may use a-z, 0-9 and '-', 1 to 64 characters, not starting or ending with '-'.",
                      code="invalid_slug")
    broadcast = data.get("broadcast")
    if broadcast is not None and not (isinstance(broadcast, str) and len(broadcast) <= 64):
        raise Invalid("'broadcast' must be a broadcast id.", code="invalid_broadcast")
    return {"slug": slug, "date": _date(data.get("date")), "name": _text(data, "name", 120, required=True),
            "name_en": _text(data, "name_en", 120), "summary": _text(data, "summary", 2000),
            "summary_en": _text(data, "summary_en", 2000), "banner_media_id": _banner(data.get("banner")),
            "contest_ids": _ids(data, "contests"), "broadcast_id": broadcast or None}


def save_day(actor, data, day=None):
    """Create a themed day from DATA, or replace DAY's fields and attachments; return it."""
    values = _values(data)
    pavilions = _pavilion_ids(_ids(data, "pavilions"))
    works = _work_ids(_ids(data, "works"))
    others = select(ThemedDay.id).where(ThemedDay.id != (day.id if day else ""))
    if db.session.scalar(others.where(ThemedDay.slug == values["slug"])):
        raise Conflict(f"The address '{values['slug']}' is taken by another day; choose another slug.",
                       code="slug_taken")
    if db.session.scalar(others.where(ThemedDay.date == values["date"])):
        raise Conflict(f"{values['date'].isoformat()} already has a themed day; change that day or pick "
                       "another date.", code="date_taken")
    if day is None:
        day = ThemedDay(created_by=actor.id)
        db.session.add(day)
    for name, value in values.items():
        setattr(day, name, value)
    day.updated_at = utcnow()
    day.pavilion_links = [DayPavilion(pavilion_id=p, position=n) for n, p in enumerate(pavilions)]
    day.work_links = [DayWork(work_id=w, position=n) for n, w in enumerate(works)]
    db.session.flush()
    works_services.publish_media()
    return day


def by_slug(slug):
    day = db.session.scalar(select(ThemedDay).where(ThemedDay.slug == slug))
    if day is None:
        raise NotFound("No themed day has this address.", code="day_not_found")
    return day


def all_days():
    """Return every themed day in date order."""
    return list(db.session.scalars(select(ThemedDay).order_by(ThemedDay.date)))


def of_date(when):
    return db.session.scalar(select(ThemedDay).where(ThemedDay.date == when))


def shown_pavilions(days):
    """Return {day id: [(pavilion, live revision)]}: the PUBLISHED pavilions of DAYS, in the day's order."""
    links = db.session.execute(
        select(DayPavilion.day_id, Pavilion, Revision).join(Pavilion, Pavilion.id == DayPavilion.pavilion_id)
        .join(Revision, Revision.id == Pavilion.live_revision_id)
        .where(DayPavilion.day_id.in_([d.id for d in days])).order_by(DayPavilion.position)).all()
    shown = {d.id: [] for d in days}
    for day_id, pavilion, revision in links:
        shown[day_id].append((pavilion, revision))
    return shown


def shown_works(days):
    """Return {day id: [work]}: the published works of DAYS, in the day's order."""
    links = db.session.execute(
        select(DayWork.day_id, Work).join(Work, Work.id == DayWork.work_id)
        .where(DayWork.day_id.in_([d.id for d in days]), Work.published.is_(True))
        .order_by(DayWork.position)).all()
    shown = {d.id: [] for d in days}
    for day_id, work in links:
        shown[day_id].append(work)
    return shown


def api_list(days):
    """Return DAYS in the contract's shape: only published pavilions and works appear."""
    pavilions, works = shown_pavilions(days), shown_works(days)
    return [{"slug": d.slug, "name": d.name, "date": d.date.isoformat(), "summary": d.summary,
             "pavilions": [p.slug for p, _r in pavilions[d.id]], "works": [w.id for w in works[d.id]],
             "contests": list(d.contest_ids or [])} for d in days]


def banner(day):
    """Return the described banner image of DAY, or None while it has none (or it is not processed yet)."""
    media = media_services.load_many([day.banner_media_id]).get(day.banner_media_id) if day.banner_media_id else None
    return media_services.describe(media) if media is not None and media.renditions else None
