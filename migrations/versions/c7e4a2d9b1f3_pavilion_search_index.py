"""pavilion search index: FTS5 trigram on SQLite, pg_trgm on PostgreSQL

Revision ID: c7e4a2d9b1f3
Revises: 15ca82367cc2
Create Date: 2026-11-29 10:00:00.000000

"""
import html.parser
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e4a2d9b1f3'
down_revision = '15ca82367cc2'
branch_labels = None
depends_on = None

FIELDS = ("name", "summary", "tags", "body")

# A frozen copy of pavilions.search.document() as of this revision: migrations must not follow later code.
_BREAKS = {"p", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "div",
           "tr", "td", "th"}


class _TextOf(html.parser.HTMLParser):
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


def _html_text(value):
    parser = _TextOf()
    parser.feed(value or "")
    parser.close()
    return _clean("".join(parser.parts))


def _block_text(block):
    parts = [_html_text(block.get("html"))] if block.get("kind") == "text" else []
    parts += [_clean(block.get(key)) for key in ("title", "caption", "alt")]
    parts += [_clean(spot.get("text")) for spot in block.get("hotspots") or [] if isinstance(spot, dict)]
    return " ".join(p for p in parts if p)


def _loads(value):
    return json.loads(value) if isinstance(value, str) else (value or [])


def _backfill(bind):
    live = bind.execute(sa.text(
        "SELECT p.id, r.id, r.name, r.summary, r.tags, r.blocks FROM pavilions p "
        "JOIN revisions r ON r.id = p.live_revision_id")).all()
    rows = [{"pavilion_id": pavilion_id, "revision_id": revision_id, "name": _clean(name),
             "summary": _clean(summary), "tags": "\n".join(_clean(t) for t in _loads(tags)),
             "body": "\n".join(t for t in (_block_text(b) for b in _loads(blocks)) if t)}
            for pavilion_id, revision_id, name, summary, tags, blocks in live]
    if rows:
        table = sa.table("pavilion_search", *(sa.column(c) for c in ("pavilion_id", "revision_id", *FIELDS)))
        op.bulk_insert(table, rows)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # Chinese has no spaces: index every three-character sequence. Needs SQLite 3.34 or later.
        op.execute("CREATE VIRTUAL TABLE pavilion_search USING fts5("
                   "pavilion_id UNINDEXED, revision_id UNINDEXED, name, summary, tags, body, tokenize='trigram')")
    else:
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_table(
            'pavilion_search',
            sa.Column('pavilion_id', sa.String(length=24), nullable=False),
            sa.Column('revision_id', sa.String(length=24), nullable=False),
            *(sa.Column(field, sa.Text(), nullable=False, server_default='') for field in FIELDS),
            sa.PrimaryKeyConstraint('pavilion_id', name=op.f('pk_pavilion_search')),
        )
        op.create_index(op.f('ix_pavilion_search_revision_id'), 'pavilion_search', ['revision_id'], unique=True)
        for field in FIELDS:
            op.execute(f"CREATE INDEX ix_pavilion_search_{field}_trgm ON pavilion_search "
                       f"USING gin ({field} gin_trgm_ops)")
    _backfill(bind)


def downgrade():
    # Drops the table (and FTS5's shadow tables); pg_trgm stays, as other objects may use it.
    op.execute("DROP TABLE pavilion_search")
