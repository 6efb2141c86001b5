"""sales columns: each order's cost of the units sold, each line's payment time, gift flag and cost,
and the covering indexes the dashboard and the reports read alone

Revision ID: 0014_sales_columns
Revises: 0013_pages
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_sales_columns'
down_revision = '0013_pages'
branch_labels = None
depends_on = None

# the units sold to an order (replacements are counted apart, by their own time) and their batch costs
_SOLD = ("FROM stock_items i JOIN stock_batches b ON b.id = i.batch_id "
         "WHERE i.is_sold = true AND i.replacement_for_id IS NULL AND {match}")


def backfill_statements() -> list[str]:
    """One UPDATE per table, correlated subqueries that both databases run."""
    by_order = _SOLD.format(match="i.order_id = orders.id")
    by_line = _SOLD.format(match="i.order_line_id = order_lines.id AND i.order_id = order_lines.order_id")
    return [f"""UPDATE orders SET
        cost_total = COALESCE((SELECT SUM(b.unit_cost) {by_order}), 0),
        cost_known_units = (SELECT COUNT(b.unit_cost) {by_order})
        WHERE paid_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM stock_items s WHERE s.order_id = orders.id AND s.is_sold = true)""",
            f"""UPDATE order_lines SET
        paid_at = (SELECT o.paid_at FROM orders o WHERE o.id = order_lines.order_id),
        is_gift = (SELECT o.is_gift FROM orders o WHERE o.id = order_lines.order_id),
        cost = COALESCE((SELECT SUM(b.unit_cost) {by_line}), 0),
        cost_known_units = (SELECT COUNT(b.unit_cost) {by_line})"""]


def upgrade():
    # plain ADD COLUMN (server defaults), no batch copy of the two biggest tables
    op.add_column('orders', sa.Column('cost_total', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('cost_known_units', sa.Integer(), server_default='0', nullable=False))
    op.add_column('order_lines', sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('order_lines', sa.Column('is_gift', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('order_lines', sa.Column('cost', sa.BigInteger(), server_default='0', nullable=False))
    op.add_column('order_lines', sa.Column('cost_known_units', sa.Integer(), server_default='0', nullable=False))

    # Backfill, set-based, the same numbers services.orders.record_sale writes from now on.
    for statement in backfill_statements():
        op.execute(statement)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_paid_at')
        batch_op.drop_index('ix_orders_store_created_at')
        # replaced by store-scoped composites (as many indexes as before on the orders)
        batch_op.drop_index('ix_orders_buyer_id')
        batch_op.drop_index('ix_orders_status')
        batch_op.create_index('ix_orders_store_buyer_id', ['store_id', 'buyer_id', 'paid_at', 'is_gift', 'total',
                                                            'amount_refunded'], unique=False)
        batch_op.create_index('ix_orders_store_status', ['store_id', 'status', 'payment_method', 'payment_status'],
                              unique=False)
        batch_op.create_index('ix_orders_store_paid_at', ['store_id', 'paid_at', 'is_gift', 'total', 'amount_refunded',
                                                           'item_count', 'cost_total', 'cost_known_units', 'buyer_id'],
                                  unique=False)
        batch_op.create_index('ix_orders_store_created_at', ['store_id', 'created_at', 'status', 'payment_method',
                                                              'paid_at', 'total', 'amount_refunded'], unique=False)
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index('ix_order_lines_store_paid_at', ['store_id', 'paid_at', 'is_gift', 'product_id',
                                                                'variant_id', 'quantity', 'line_subtotal', 'cost',
                                                                'cost_known_units', 'order_id', 'product_title'],
                                  unique=False)


def downgrade():
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_order_lines_store_paid_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_status')
        batch_op.drop_index('ix_orders_store_buyer_id')
        batch_op.create_index('ix_orders_status', ['status'], unique=False)
        batch_op.create_index('ix_orders_buyer_id', ['buyer_id'], unique=False)
        batch_op.drop_index('ix_orders_store_created_at')
        batch_op.drop_index('ix_orders_store_paid_at')
        batch_op.create_index('ix_orders_store_paid_at', ['store_id', 'paid_at', 'is_gift', 'total', 'amount_refunded',
                                                           'item_count'], unique=False)
        batch_op.create_index('ix_orders_store_created_at', ['store_id', 'created_at'], unique=False)
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_column('cost_known_units')
        batch_op.drop_column('cost')
        batch_op.drop_column('is_gift')
        batch_op.drop_column('paid_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('cost_known_units')
        batch_op.drop_column('cost_total')
