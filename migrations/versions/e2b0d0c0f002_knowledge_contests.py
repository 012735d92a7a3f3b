"""knowledge contests: question banks, questions, contests, attempts (one per person and contest)

Revision ID: e2b0d0c0f002
Revises: d4b8e1f07a26
Create Date: 2026-11-28 15:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e2b0d0c0f002'
down_revision = 'd4b8e1f07a26'
branch_labels = None
depends_on = None


def _when(name, **kw):
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade():
    op.create_table(
        "question_banks",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=24), sa.ForeignKey("users.id"), nullable=True),
        _when("created_at", nullable=False),
    )
    op.create_table(
        "questions",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("bank_id", sa.String(length=24), sa.ForeignKey("question_banks.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
    )
    op.create_table(
        "contests",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("bank_id", sa.String(length=24), sa.ForeignKey("question_banks.id"), nullable=False, index=True),
        sa.Column("fixed_question_ids", sa.JSON(), nullable=False),
        sa.Column("draw_count", sa.Integer(), nullable=False),
        _when("opens_at", nullable=False, index=True),
        _when("closes_at", nullable=False),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("pass_score", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=24), sa.ForeignKey("users.id"), nullable=True),
        _when("created_at", nullable=False),
    )
    op.create_table(
        "contest_attempts",
        sa.Column("id", sa.String(length=24), primary_key=True),
        sa.Column("contest_id", sa.String(length=24), sa.ForeignKey("contests.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.String(length=24), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("question_ids", sa.JSON(), nullable=False),
        _when("started_at", nullable=False),
        _when("deadline", nullable=False),
        _when("submitted_at", nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("max_score", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.UniqueConstraint("contest_id", "user_id", name="uq_contest_attempts_contest_user"),
    )


def downgrade():
    op.drop_table("contest_attempts")
    op.drop_table("contests")
    op.drop_table("questions")
    op.drop_table("question_banks")
