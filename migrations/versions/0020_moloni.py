"""moloni: moloni_connections (one per store, tokens encrypted), moloni_invoices (one per order),
orders.customer_tax_number

Revision ID: 0020_moloni
Revises: 0019_accounts
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_moloni'
down_revision = '0019_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('moloni_connections',
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=120), nullable=True),
    sa.Column('client_secret', sa.Text(), nullable=True),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('connected_by_id', sa.String(length=36), nullable=True),
    sa.Column('oauth_nonce_hash', sa.String(length=64), nullable=True),
    sa.Column('oauth_started_by_id', sa.String(length=36), nullable=True),
    sa.Column('company_id', sa.BigInteger(), nullable=True),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('document_set_id', sa.BigInteger(), nullable=True),
    sa.Column('document_set_name', sa.String(length=200), nullable=True),
    sa.Column('tax_id', sa.BigInteger(), nullable=True),
    sa.Column('tax_name', sa.String(length=120), nullable=True),
    sa.Column('tax_rate_bps', sa.Integer(), nullable=True),
    sa.Column('exemption_reason', sa.String(length=10), nullable=True),
    sa.Column('auto_invoice', sa.Boolean(), nullable=False),
    sa.Column('category_id', sa.BigInteger(), nullable=True),
    sa.Column('unit_id', sa.BigInteger(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['connected_by_id'], ['users.id'], name=op.f('fk_moloni_connections_connected_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['oauth_started_by_id'], ['users.id'], name=op.f('fk_moloni_connections_oauth_started_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_moloni_connections_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moloni_connections'))
    )
    with op.batch_alter_table('moloni_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moloni_connections_store_id'), ['store_id'], unique=True)

    op.create_table('moloni_invoices',
    sa.Column('order_id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('our_reference', sa.String(length=60), nullable=False),
    sa.Column('document_id', sa.BigInteger(), nullable=True),
    sa.Column('number', sa.String(length=80), nullable=True),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('invoiced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('credit_status', sa.String(length=12), nullable=True),
    sa.Column('credit_document_id', sa.BigInteger(), nullable=True),
    sa.Column('credit_number', sa.String(length=80), nullable=True),
    sa.Column('credit_failure_reason', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.CheckConstraint("status IN ('PENDING', 'INVOICED', 'FAILED')", name=op.f('ck_moloni_invoices_status')),
    sa.CheckConstraint("credit_status IS NULL OR credit_status IN ('PENDING', 'ISSUED', 'FAILED')", name=op.f('ck_moloni_invoices_credit_status')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_moloni_invoices_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_moloni_invoices_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moloni_invoices')),
    sa.UniqueConstraint('order_id', name=op.f('uq_moloni_invoices_order_id'))
    )
    with op.batch_alter_table('moloni_invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moloni_invoices_store_id'), ['store_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_tax_number', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('customer_tax_number')
    with op.batch_alter_table('moloni_invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moloni_invoices_store_id'))
    op.drop_table('moloni_invoices')
    with op.batch_alter_table('moloni_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moloni_connections_store_id'))
    op.drop_table('moloni_connections')
