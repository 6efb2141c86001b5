"""customer self-service and addresses: the profile columns on users, the addresses table

Revision ID: 0019_accounts
Revises: 0018_shipping_taxes
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_accounts'
down_revision = '0018_shipping_taxes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('full_name', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=32), server_default='', nullable=False))
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))

    op.create_table('addresses',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('company', sa.String(length=120), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=False),
    sa.Column('line2', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('region', sa.String(length=120), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('is_default_shipping', sa.Boolean(), nullable=False),
    sa.Column('is_default_billing', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_addresses_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_addresses_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_addresses_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_addresses_default_shipping', ['user_id'], unique=True,
                              sqlite_where=sa.text('is_default_shipping'),
                              postgresql_where=sa.text('is_default_shipping'))
        batch_op.create_index('uq_addresses_default_billing', ['user_id'], unique=True,
                              sqlite_where=sa.text('is_default_billing'),
                              postgresql_where=sa.text('is_default_billing'))


def downgrade():
    op.drop_table('addresses')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locale')
        batch_op.drop_column('phone')
        batch_op.drop_column('full_name')
