"""english name and summary of pavilions and revisions; featured pavilions

Revision ID: d4b8e1f07a26
Revises: c7e4a2d9b1f3
Create Date: 2026-11-28 15:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd4b8e1f07a26'
down_revision = 'c7e4a2d9b1f3'
branch_labels = None
depends_on = None


def upgrade():
    for table in ("pavilions", "revisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("name_en", sa.String(length=120), nullable=False, server_default=""))
            batch.add_column(sa.Column("summary_en", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("pavilions") as batch:
        batch.add_column(sa.Column("featured_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_pavilions_featured_at", ["featured_at"])


def downgrade():
    with op.batch_alter_table("pavilions") as batch:
        batch.drop_index("ix_pavilions_featured_at")
        batch.drop_column("featured_at")
    for table in ("pavilions", "revisions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("summary_en")
            batch.drop_column("name_en")
