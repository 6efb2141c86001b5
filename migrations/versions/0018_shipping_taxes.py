"""shipping zones and methods, tax rules, products.tax_class

Revision ID: 0018_shipping_taxes
Revises: 0017_wishlist
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018_shipping_taxes'
down_revision = '0017_wishlist'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shipping_zones',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('countries', sa.JSON(), nullable=False),
    sa.Column('postal_prefixes', sa.JSON(), nullable=False),
    sa.Column('rest_of_world', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_shipping_zones_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_zones'))
    )
    with op.batch_alter_table('shipping_zones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipping_zones_store_id'), ['store_id'], unique=False)

    op.create_table('shipping_methods',
    sa.Column('zone_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('weight_bands', sa.JSON(), nullable=False),
    sa.Column('free_threshold', sa.BigInteger(), nullable=True),
    sa.Column('min_days', sa.Integer(), nullable=True),
    sa.Column('max_days', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.CheckConstraint("kind IN ('flat', 'weight', 'free')", name=op.f('ck_shipping_methods_kind')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_shipping_methods_price_not_negative')),
    sa.CheckConstraint('free_threshold IS NULL OR free_threshold >= 0',
                       name=op.f('ck_shipping_methods_threshold_not_negative')),
    sa.CheckConstraint('min_days IS NULL OR min_days >= 0', name=op.f('ck_shipping_methods_min_days_not_negative')),
    sa.CheckConstraint('max_days IS NULL OR min_days IS NULL OR max_days >= min_days',
                       name=op.f('ck_shipping_methods_days_in_order')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_shipping_methods_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['zone_id'], ['shipping_zones.id'], name=op.f('fk_shipping_methods_zone_id_shipping_zones'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_methods'))
    )
    with op.batch_alter_table('shipping_methods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipping_methods_store_id'), ['store_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipping_methods_zone_id'), ['zone_id'], unique=False)

    op.create_table('tax_rules',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('tax_class', sa.String(length=32), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.CheckConstraint('rate_bps >= 0 AND rate_bps <= 100000', name=op.f('ck_tax_rules_rate_in_range')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_tax_rules_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rules'))
    )
    with op.batch_alter_table('tax_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_rules_store_id'), ['store_id'], unique=False)

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_class', sa.String(length=32), nullable=False, server_default='standard'))


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('tax_class')
    op.drop_table('tax_rules')
    op.drop_table('shipping_methods')
    op.drop_table('shipping_zones')
