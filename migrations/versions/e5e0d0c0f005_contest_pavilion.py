"""the pavilion that hosts a contest

Revision ID: e5e0d0c0f005
Revises: e4d0d0c0f004
Create Date: 2026-11-28 16:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e5e0d0c0f005'
down_revision = 'e4d0d0c0f004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contests") as batch:
        batch.add_column(sa.Column("pavilion_id", sa.String(length=24), nullable=True))
        batch.create_index("ix_contests_pavilion_id", ["pavilion_id"])
        batch.create_foreign_key("fk_contests_pavilion_id_pavilions", "pavilions", ["pavilion_id"], ["id"])


def downgrade():
    with op.batch_alter_table("contests") as batch:
        batch.drop_constraint("fk_contests_pavilion_id_pavilions", type_="foreignkey")
        batch.drop_index("ix_contests_pavilion_id")
        batch.drop_column("pavilion_id")
