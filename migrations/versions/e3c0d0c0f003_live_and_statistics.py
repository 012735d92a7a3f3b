"""live broadcasts and their viewers; visitor statistics (daily counters, distinct visitors, last seen)

Revision ID: e3c0d0c0f003
Revises: d4b8e1f07a26
Create Date: 2026-11-28 15:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e3c0d0c0f003'
down_revision = 'd4b8e1f07a26'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hls_url", sa.String(length=1000), nullable=False),
        sa.Column("replay_media_id", sa.String(length=24), nullable=True),
        sa.Column("created_by", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name="fk_broadcasts_created_by_users"),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_starts_at", "broadcasts", ["starts_at"])
    op.create_index("ix_broadcasts_ends_at", "broadcasts", ["ends_at"])
    op.create_table(
        "live_viewers",
        sa.Column("broadcast_id", sa.String(length=24), nullable=False),
        sa.Column("viewer", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"], ondelete="CASCADE",
                                name="fk_live_viewers_broadcast_id_broadcasts"),
        sa.PrimaryKeyConstraint("broadcast_id", "viewer", name="pk_live_viewers"),
    )
    op.create_index("ix_live_viewers_last_seen", "live_viewers", ["last_seen"])
    op.create_table(
        "stat_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "scope", "metric", name="pk_stat_counters"),
    )
    op.create_table(
        "stat_visitors",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("day", "scope", "visitor", name="pk_stat_visitors"),
    )
    op.create_table(
        "stat_last_seen",
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("visitor", name="pk_stat_last_seen"),
    )
    op.create_index("ix_stat_last_seen_last_seen", "stat_last_seen", ["last_seen"])


def downgrade():
    op.drop_index("ix_stat_last_seen_last_seen", table_name="stat_last_seen")
    op.drop_table("stat_last_seen")
    op.drop_table("stat_visitors")
    op.drop_table("stat_counters")
    op.drop_index("ix_live_viewers_last_seen", table_name="live_viewers")
    op.drop_table("live_viewers")
    op.drop_index("ix_broadcasts_ends_at", table_name="broadcasts")
    op.drop_index("ix_broadcasts_starts_at", table_name="broadcasts")
    op.drop_table("broadcasts")
