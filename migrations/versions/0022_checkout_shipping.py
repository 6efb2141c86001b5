"""checkout with physical goods: orders.shipping_address (snapshot), shipping_method_id/name;
order_adjustments.included (tax already inside tax-inclusive prices: shown, not added)

Revision ID: 0022_checkout_shipping
Revises: 0021_imports
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_checkout_shipping'
down_revision = '0021_imports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipping_address', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('shipping_method_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('shipping_method_name', sa.String(length=120), nullable=True))
    with op.batch_alter_table('order_adjustments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('included', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('order_adjustments', schema=None) as batch_op:
        batch_op.drop_column('included')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('shipping_method_name')
        batch_op.drop_column('shipping_method_id')
        batch_op.drop_column('shipping_address')
