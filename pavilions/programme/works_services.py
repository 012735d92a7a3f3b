"""Cloud-class rules: create works, list the published ones, publish their media. Each write takes the actor."""
import base64
import binascii
import json
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, func, or_, select

from expo.errors import DomainError, Invalid, NotFound
from expo.extensions import db, utcnow
from media import services as media_services
from media.models import Media
from media.states import MediaKind
from pavilions.blocks import sanitise_html
from pavilions.programme import fields
from pavilions.programme.models_days import PROGRAMME_HOLDER, ThemedDay, Work

KINDS = ("video", "audio", "image", "h5", "article")
SCENARIOS = ("office", "daily_life", "epidemic_prevention", "other")
KNOWN_TOPICS = ("network_security", "data_security", "personal_information", "anti_fraud", "minors_online")
MAX_TOPICS = 10
MAX_IMAGES = 50
_TOPIC = re.compile(r"^[a-z0-9_]{1,40}$")
# The one media kind each work kind plays; an article may illustrate itself with images.
MEDIA_OF = {"video": MediaKind.VIDEO, "audio": MediaKind.AUDIO, "image": MediaKind.IMAGE, "h5": MediaKind.H5,
            "article": MediaKind.IMAGE}



def _text(data, field, limit, required=False):
    return fields.text(data, field, limit, required, "A work")


def clean_topics(value):
    """Return a list of distinct topic names from VALUE (a list, or text separated by ';' or ',')."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[;,]", value)
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Invalid("'topics' must be a list of topic names.", code="invalid_topics")
    topics = list(dict.fromkeys(t.strip().lower() for t in value if t.strip()))
    bad = [t for t in topics if not _TOPIC.match(t)]
    if bad:
        raise Invalid(f"Topic '{bad[0]}' is not a topic name: use a-z, 0-9 and '_', e.g. "
                      f"{', '.join(KNOWN_TOPICS[:3])}.", code="invalid_topics")
    if len(topics) > MAX_TOPICS:
        raise Invalid(f"A work has at most {MAX_TOPICS} topics.", code="too_many_topics")
    return topics


def clean_fields(data):
    """Check everything about a work but its media; return the column values."""
    if not isinstance(data, dict):
        raise Invalid("Send the work as a JSON object.", code="invalid_body")
    kind, scenario = data.get("kind"), data.get("scenario") or "other"
    if kind not in KINDS:
        raise Invalid(f"'kind' must be one of {', '.join(KINDS)}.", code="invalid_kind")
    if scenario not in SCENARIOS:
        raise Invalid(f"'scenario' must be one of {', '.join(SCENARIOS)}.", code="invalid_scenario")
    published = data.get("published", True)
    if not isinstance(published, bool):
        raise Invalid("'published' must be true or false.", code="invalid_published")
    body = _text(data, "body", 100_000, required=kind == "article")
    return {"title": _text(data, "title", 200, required=True), "title_en": _text(data, "title_en", 200),
            "kind": kind, "scenario": scenario, "topics": clean_topics(data.get("topics")),
            "summary": _text(data, "summary", 2000), "summary_en": _text(data, "summary_en", 2000),
            "body": sanitise_html(body) if body else "", "published": published}


def check_media(kind, ids):
    """Return IDS if they suit a work of KIND: programme uploads of the kind it plays (a video may add captions)."""
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Invalid("'media' must be a list of media ids.", code="invalid_media")
    ids = list(dict.fromkeys(ids))
    found = media_services.load_many(ids)
    for media_id in ids:
        media = found.get(media_id)
        if media is None or media.pavilion_id != PROGRAMME_HOLDER:
            raise Invalid(f"Media {media_id} was not uploaded for the programme; upload it through "
                          "POST /api/v1/works/media or the curators' works page.", code="unknown_media")
        if media.kind != MEDIA_OF[kind] and not (kind == "video" and media.kind == MediaKind.CAPTIONS):
            raise Invalid(f"Media {media_id} is {media.kind}; a {kind} work takes {MEDIA_OF[kind]}.",
                          code="media_kind_mismatch")
    main = [i for i in ids if found[i].kind == MEDIA_OF[kind]]
    if kind in ("video", "audio", "h5") and len(main) != 1:
        raise Invalid(f"A {kind} work takes exactly one {kind} media item.", code="media_count")
    if kind == "video" and len(ids) - len(main) > 1:
        raise Invalid("A video work takes at most one captions file.", code="media_count")
    if kind == "image" and not 1 <= len(ids) <= MAX_IMAGES:
        raise Invalid(f"An image work takes 1 to {MAX_IMAGES} images.", code="media_count")
    return ids


def create_work(actor, data):
    """Create a work from DATA (see clean_fields) with its media; publish its media if it is published."""
    values = clean_fields(data)
    values["media"] = check_media(values["kind"], data.get("media") or [])
    work = Work(**values, topic_index="," + "".join(f"{t}," for t in values["topics"]), created_by=actor.id)
    db.session.add(work)
    db.session.flush()
    publish_media()
    return work


def set_published(work, published):
    """Show or hide WORK in the cloud class."""
    work.published = bool(published)
    work.updated_at = utcnow()
    db.session.flush()
    publish_media()


def publish_media():
    """Make exactly the media of published works and of day banners publicly servable."""
    ids = {m for media in db.session.scalars(select(Work.media).where(Work.published.is_(True))) for m in media}
    ids |= set(db.session.scalars(select(ThemedDay.banner_media_id).where(ThemedDay.banner_media_id.is_not(None))))
    media_services.set_public(PROGRAMME_HOLDER, ids)


def get(work_id):
    work = db.session.get(Work, work_id)
    if work is None:
        raise NotFound("No work has this id.", code="work_not_found")
    return work


def get_published(work_id):
    work = db.session.get(Work, work_id)
    if work is None or not work.published:
        raise NotFound("No published work has this id.", code="work_not_found")
    return work


def _encode_cursor(work):
    raw = json.dumps([work.created_at.isoformat(), work.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor):
    try:
        stamp, work_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(stamp), str(work_id)
    except (ValueError, TypeError, binascii.Error):
        raise Invalid("The cursor is not one this API gave out; start again without it.", code="invalid_cursor") \
            from None


def published(scenario=None, topic=None, q=None, limit=24, cursor=None):
    """Return (published works, next cursor), newest first, narrowed by SCENARIO, TOPIC and the text Q."""
    stmt = select(Work).where(Work.published.is_(True))
    if scenario:
        if scenario not in SCENARIOS:
            raise Invalid(f"'scenario' must be one of {', '.join(SCENARIOS)}.", code="invalid_scenario")
        stmt = stmt.where(Work.scenario == scenario)
    if topic:
        stmt = stmt.where(Work.topic_index.contains(f",{topic},", autoescape=True))
    phrase = (q or "").strip().lower()[:100]
    if phrase:
        # A substring match: good enough for Chinese, which has no spaces between words.
        stmt = stmt.where(or_(*(func.lower(col).contains(phrase, autoescape=True)
                                for col in (Work.title, Work.title_en, Work.summary, Work.summary_en))))
    if cursor:
        stamp, work_id = _decode_cursor(cursor)
        stmt = stmt.where(or_(Work.created_at < stamp, and_(Work.created_at == stamp, Work.id < work_id)))
    rows = list(db.session.scalars(stmt.order_by(Work.created_at.desc(), Work.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return page, (_encode_cursor(page[-1]) if len(rows) > limit else None)


def expand_media(works):
    """Return {work id: [described media]} for WORKS in one query."""
    found = media_services.load_many({m for w in works for m in w.media})
    return {w.id: [media_services.describe(found[m]) if m in found else
                   {"id": m, "kind": None, "meta": {}, "renditions": {}} for m in w.media] for w in works}


def api_item(work, media):
    """Return the API form of WORK, with its media described."""
    return {"id": work.id, "title": work.title, "kind": work.kind, "scenario": work.scenario,
            "topics": work.topics, "media": media}


def blocks(work, media):
    """Return WORK as blocks of the pavilion players (tour/_blocks.html), from its described MEDIA."""
    main = [m for m in media if m["kind"] != "captions"]
    captions = next((m for m in media if m["kind"] == "captions"), None)
    if work.kind == "article":
        out = [{"id": "text", "kind": "text", "html": work.body}]
        return out + ([{"id": "images", "kind": "image", "media": main, "alt": work.title}] if main else [])
    if work.kind == "image":
        return [{"id": "images", "kind": "image", "media": main, "alt": work.title}]
    block = {"id": "main", "kind": work.kind, "media": main[0] if main else {"renditions": {}}}
    if captions:
        block["captions"] = captions
    return [block]


def all_for_curators():
    return list(db.session.scalars(select(Work).order_by(Work.created_at.desc(), Work.id.desc())))


def programme_media(kind=None):
    """Return the programme's uploads (for the curators' pickers), newest first."""
    stmt = select(Media).where(Media.pavilion_id == PROGRAMME_HOLDER)
    if kind:
        stmt = stmt.where(Media.kind == kind)
    return list(db.session.scalars(stmt.order_by(Media.created_at.desc()).limit(200)))


IMPORT_COLUMNS = ("title", "kind", "scenario", "topics", "file", "summary")


def importer(email=None):
    """Return the user a CSV import acts as: EMAIL's (a curator or admin), else the first curator or admin."""
    from expo.models import Role, User

    staff = (Role.CURATOR, Role.ADMIN)
    stmt = select(User).where(User.role.in_(staff), User.active.is_(True))
    user = db.session.scalar(stmt.where(User.email == email.strip().lower()) if email else
                             stmt.order_by(User.created_at, User.id))
    if user is None:
        raise Invalid(f"{email} is not an active curator or admin." if email else
                      "There is no active curator or admin to import as; create one with "
                      "`flask --app expo user create EMAIL --role curator`.", code="no_importer")
    return user


def check_columns(rows):
    """Raise Invalid unless ROWS (from csv.DictReader) have the import's columns."""
    present = set(rows[0]) if rows else set()
    missing = [c for c in IMPORT_COLUMNS if c not in present]
    if rows and missing:
        raise Invalid(f"The CSV lacks the column(s) {', '.join(missing)}; its header must name "
                      f"{', '.join(IMPORT_COLUMNS)} (and optionally title_en).", code="csv_columns")


def _row_file(row, folder):
    name = (row.get("file") or "").strip()
    if not name:
        raise Invalid("the 'file' column is empty.", code="file_required")
    path = (Path(folder) / name).resolve()
    if not path.is_file():
        raise Invalid(f"the file {name} does not exist next to the CSV.", code="file_missing")
    return path


def import_row(actor, row, folder):
    """Create one work from a CSV ROW, ingesting its file from FOLDER; commit it and queue its media.

    Return (done, a line saying what was done or why the row was refused); a refused row changes nothing.
    """
    data = {k: (row.get(k) or "").strip() for k in ("title", "title_en", "kind", "scenario", "topics", "summary")}
    try:
        fields = clean_fields({**data, "body": "-" if data["kind"] == "article" else ""})
        path = _row_file(row, folder)
        media = None
        if fields["kind"] == "article":
            fields["body"] = path.read_text(encoding="utf-8")
        else:
            with path.open("rb") as stream:
                media = media_services.ingest(stream, path.name, actor, PROGRAMME_HOLDER, MEDIA_OF[fields["kind"]])
            db.session.flush()
        work = create_work(actor, {**data, "body": fields["body"], "media": [media.id] if media else []})
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return False, f"refused: {error.message[0].lower() + error.message[1:]}"
    if media is not None:
        media_services.enqueue(media.id, media.kind)
    return True, f"created work {work.id} ({work.kind}, {work.title})" + (
        f"; media {media.id} queued for processing" if media else "")
