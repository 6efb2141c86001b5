"""users: erased_at (an erased account stays, anonymised) and the merchant's note

Revision ID: 0010_users
Revises: 0009_reports
Create Date: 2026-11-30 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_users'
down_revision = '0009_reports'
branch_labels = None
depends_on = None


def upgrade():
    # plain ADD COLUMN: nullable / with a server default, no batch copy of the table
    op.add_column('users', sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('note', sa.String(length=1000), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('note')
        batch_op.drop_column('erased_at')
