"""reports: orders by store and payment time, and by store and creation time; replacements by time

Revision ID: 0009_reports
Revises: 0008_replacements
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009_reports'
down_revision = '0008_replacements'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_store_paid_at', ['store_id', 'paid_at', 'is_gift', 'total', 'amount_refunded',
                                                           'item_count'], unique=False)
        batch_op.create_index('ix_orders_store_created_at', ['store_id', 'created_at'], unique=False)
    with op.batch_alter_table('stock_items', schema=None) as batch_op:
        batch_op.create_index('ix_stock_items_replacements', ['store_id', 'sold_at'], unique=False,
                              sqlite_where=sa.text('replacement_for_id IS NOT NULL'),
                              postgresql_where=sa.text('replacement_for_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('stock_items', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_items_replacements', sqlite_where=sa.text('replacement_for_id IS NOT NULL'),
                            postgresql_where=sa.text('replacement_for_id IS NOT NULL'))
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_created_at')
        batch_op.drop_index('ix_orders_store_paid_at')
