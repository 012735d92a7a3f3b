"""Full-text search over the live revision of each published pavilion, in Chinese and English.

The index (table `pavilion_search`, made by migration c7e4a2d9b1f3) holds one row per published pavilion with
the text of its live revision only, replaced when another revision goes live. Chinese has no spaces to split
words on, so both backends index character trigrams: an FTS5 table with the `trigram` tokenizer on SQLite, a
plain table with pg_trgm GIN indexes on PostgreSQL. Every dialect-specific statement lives in this module.

A query matches as one phrase (spaces collapsed), anywhere in the name, summary, tags or text of a pavilion,
ignoring case.
"""
import math
import operator
import re
from functools import reduce
from html.parser import HTMLParser

from markupsafe import Markup, escape
from sqlalchemy import (
    Column,
    Double,
    MetaData,
    String,
    Table,
    Text,
    case,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB

from expo.errors import Invalid
from expo.extensions import db
from pavilions.models import Revision

KINDS = ("video", "audio", "image", "h5", "panorama")  # the media kinds a visitor can filter the hall by
MAX_QUERY = 100
# How much a hit counts in each field (bm25 column weights on SQLite, hit and similarity weights on PostgreSQL).
WEIGHTS = {"name": 10.0, "summary": 4.0, "tags": 6.0, "body": 1.0}
SNIPPET_BEFORE, SNIPPET_WIDTH = 30, 120

# Not in db.metadata: the migration owns this table, whose shape differs per dialect (an FTS5 virtual table
# on SQLite). The columns are in FTS5 order, which bm25() weights follow.
index_table = Table("pavilion_search", MetaData(),
                    Column("pavilion_id", String(24)), Column("revision_id", String(24)), Column("name", Text),
                    Column("summary", Text), Column("tags", Text), Column("body", Text))

_BREAKS = {"p", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "div",
           "tr", "td", "th"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _TextOf(HTMLParser):
    """Collect the text of sanitised HTML; block elements separate words, inline ones do not (个人<b>信息</b>)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_starttag(self, tag, attrs):
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in _BREAKS:
            self.parts.append(" ")


def _clean(text):
    return " ".join(str(text or "").split())


def html_text(html):
    """Return the plain text of HTML, whitespace collapsed."""
    parser = _TextOf()
    parser.feed(html or "")
    parser.close()
    return _clean("".join(parser.parts))


def _block_text(block):
    parts = [html_text(block.get("html")), html_text(block.get("html_en"))] if block.get("kind") == "text" else []
    parts += [_clean(block.get(key)) for key in ("title", "caption", "alt")]
    parts += [_clean(spot.get("text")) for spot in block.get("hotspots") or [] if isinstance(spot, dict)]
    return " ".join(p for p in parts if p)


def document(revision):
    """Return the searchable text of REVISION per field; newlines keep a phrase from spanning two tags or blocks."""
    def both(field):  # the main text and its English
        return "\n".join(t for t in (_clean(getattr(revision, field, "")), _clean(getattr(revision, f"{field}_en", "")))
                         if t)

    return {"name": both("name"), "summary": both("summary"),
            "tags": "\n".join(_clean(t) for t in revision.tags or []),
            "body": "\n".join(t for t in (_block_text(b) for b in revision.blocks or []) if t)}


def index(pavilion, revision):
    """Make REVISION the searchable text of PAVILION (call when it goes live)."""
    forget(pavilion)
    db.session.execute(insert(index_table).values(pavilion_id=pavilion.id, revision_id=revision.id,
                                                  **document(revision)))


def forget(pavilion):
    """Take PAVILION out of the search index (call when it stops being published)."""
    db.session.execute(delete(index_table).where(index_table.c.pavilion_id == pavilion.id))


def normalise(q):
    """Return Q as a search phrase (spaces collapsed, at most MAX_QUERY characters), or None when it is empty."""
    if not isinstance(q, str):
        return None
    phrase = _clean(_CONTROL.sub(" ", q))[:MAX_QUERY].strip()
    return phrase or None


def _dialect():
    return db.session.get_bind().dialect.name


def _like_pattern(phrase):
    return "%" + phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _hits(postgres, phrase):
    """Return {field: condition that the field contains PHRASE}, ignoring case."""
    pattern = _like_pattern(phrase)
    # SQLite's LIKE already ignores ASCII case; ilike() there would wrap both sides in lower().
    return {field: (index_table.c[field].ilike if postgres else index_table.c[field].like)(pattern, escape="\\")
            for field in WEIGHTS}


def _total(terms):
    return reduce(operator.add, terms)


def matches(phrase):
    """Return a subquery of (revision_id, rank) for the indexed revisions that contain PHRASE; lower rank is better."""
    postgres = _dialect() == "postgresql"
    hits = _hits(postgres, phrase)
    if len(phrase) < 3:
        # One or two characters (common in Chinese: "安全") hold no trigram, so neither FTS5 MATCH nor a pg_trgm
        # index can look them up: scan the same indexed text with LIKE instead, ranked by the fields it is in.
        score = _total(case((hit, WEIGHTS[field]), else_=0.0) for field, hit in hits.items())
        where = or_(*hits.values())
    elif postgres:
        # The GIN trigram indexes serve ILIKE '%phrase%'; word_similarity ranks within the fields that hold it.
        score = _total(weight * (case((hits[field], 1.0), else_=0.0)
                                 + func.word_similarity(phrase, index_table.c[field]))
                       for field, weight in WEIGHTS.items())
        where = or_(*hits.values())
    else:
        table = literal_column("pavilion_search")
        score = -func.bm25(table, 0.0, 0.0, *WEIGHTS.values())  # bm25() is negative: more negative is better
        where = table.op("MATCH")('"' + phrase.replace('"', '""') + '"')  # one FTS5 string: a trigram phrase
    return select(index_table.c.revision_id, cast(-score, Double).label("rank")).where(where).subquery("hits")


def has_kind(kind):
    """Return a condition that the revision has a block of KIND, or raise Invalid for an unknown kind."""
    if kind not in KINDS:
        raise Invalid(f"'kind' must be one of {', '.join(KINDS)}.", code="invalid_kind")
    if _dialect() == "postgresql":
        return cast(Revision.blocks, JSONB).contains([{"kind": kind}])
    blocks = func.json_each(Revision.blocks).table_valued("value")
    return select(1).select_from(blocks).where(func.json_extract(blocks.c.value, "$.kind") == kind).exists()


def valid_rank(value):
    """Tell whether VALUE can be a rank from a cursor."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _marked(text, pattern):
    out, last = [], 0
    for hit in pattern.finditer(text):
        out += [escape(text[last:hit.start()]), Markup("<mark>%s</mark>") % hit.group()]
        last = hit.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def snippet(revision, phrase):
    """Return REVISION's text around PHRASE as HTML: each hit in <mark>, everything else escaped; or None."""
    pattern = re.compile(re.escape(phrase), re.IGNORECASE)
    fields = document(revision)
    for field in ("body", "summary", "tags", "name"):
        text = fields[field].replace("\n", " ")
        found = pattern.search(text)
        if found:
            break
    else:
        return None
    start = max(0, min(found.start() - SNIPPET_BEFORE, len(text) - SNIPPET_WIDTH))  # whole text when it fits
    end = max(found.end(), start + SNIPPET_WIDTH)
    return Markup("").join(["…" if start else "", _marked(text[start:end], pattern), "…" if end < len(text) else ""])


def snippets(rows, q):
    """Return {revision id: snippet} for the (pavilion, revision) ROWS of a search for Q; None when Q is empty."""
    phrase = normalise(q)
    if phrase is None:
        return None
    return {revision.id: snippet(revision, phrase) for _pavilion, revision in rows}
