"""themed days and the cloud class's works

Revision ID: e1a0d0c0f001
Revises: d4b8e1f07a26
Create Date: 2026-11-28 15:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e1a0d0c0f001'
down_revision = 'd4b8e1f07a26'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "themed_days",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("slug", sa.String(length=64), nullable=False, unique=True),
        sa.Column("date", sa.Date(), nullable=False, unique=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False, server_default=""),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("summary_en", sa.Text(), nullable=False, server_default=""),
        sa.Column("banner_media_id", sa.String(length=24), nullable=True),
        sa.Column("contest_ids", sa.JSON(), nullable=False),
        sa.Column("broadcast_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=24), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "works",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("kind", sa.String(length=16), nullable=False, index=True),
        sa.Column("scenario", sa.String(length=32), nullable=False, index=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("topic_index", sa.String(length=500), nullable=False, server_default=","),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("summary_en", sa.Text(), nullable=False, server_default=""),
        sa.Column("published", sa.Boolean(), nullable=False, index=True),
        sa.Column("created_by", sa.String(length=24), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "day_pavilions",
        sa.Column("day_id", sa.String(length=24), sa.ForeignKey("themed_days.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("pavilion_id", sa.String(length=24), sa.ForeignKey("pavilions.id", ondelete="CASCADE"),
                  primary_key=True, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_table(
        "day_works",
        sa.Column("day_id", sa.String(length=24), sa.ForeignKey("themed_days.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("work_id", sa.String(length=24), sa.ForeignKey("works.id", ondelete="CASCADE"),
                  primary_key=True, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )


def downgrade():
    op.drop_table("day_works")
    op.drop_table("day_pavilions")
    op.drop_table("works")
    op.drop_table("themed_days")
