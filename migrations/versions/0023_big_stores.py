"""big stores: the admin orders list reads a page's ids and the total from one index per sort
(created_at with the filters, total, status), deep pages included (bench/README.md, "Big stores")

Revision ID: 0023_big_stores
Revises: 0022_checkout_shipping
"""
from alembic import op


revision = '0023_big_stores'
down_revision = '0022_checkout_shipping'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_list_created_at', 'orders', ['store_id', 'created_at', 'id', 'status', 'payment_status'])
    op.create_index('ix_orders_list_total', 'orders', ['store_id', 'total', 'id'])
    op.create_index('ix_orders_list_status', 'orders', ['store_id', 'status', 'id'])


def downgrade():
    op.drop_index('ix_orders_list_status', table_name='orders')
    op.drop_index('ix_orders_list_total', table_name='orders')
    op.drop_index('ix_orders_list_created_at', table_name='orders')
