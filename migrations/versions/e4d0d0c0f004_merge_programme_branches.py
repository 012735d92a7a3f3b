"""merge the programme's branches (days and works, contests, live and statistics)

Revision ID: e4d0d0c0f004
Revises: e1a0d0c0f001, e2b0d0c0f002, e3c0d0c0f003
Create Date: 2026-11-28 16:00:00

"""
revision = 'e4d0d0c0f004'
down_revision = ('e1a0d0c0f001', 'e2b0d0c0f002', 'e3c0d0c0f003')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
