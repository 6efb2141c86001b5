"""the platform: plans, addons, a store's plan and addons, soft-deleted stores

A fresh or existing install gets the plan "Everything" (every feature, no limits, free) and
every store is put on it, so nothing that worked before meets a gate.

Revision ID: 0015_platform
Revises: 0014_sales_columns
Create Date: 2026-12-10 10:00:00

"""
import uuid
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0015_platform'
down_revision = '0014_sales_columns'
branch_labels = None
depends_on = None

ADDONS = [
    ("wishlist", "Wishlist", "Shoppers save products for later and share their lists.", 300),
    ("campaigns", "Email campaigns", "Email your customers, with one-click unsubscribe.", 900),
    ("moloni", "Moloni invoicing", "Certified invoices for every paid order (Portugal).", 1200),
    ("custom_theme", "Custom branding", "Your own colours and fonts on every store template.", 500),
]


def upgrade():
    op.create_table(
        'plans',
        sa.Column('slug', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('monthly_price', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('max_products', sa.Integer(), nullable=True),
        sa.Column('max_staff', sa.Integer(), nullable=True),
        sa.Column('custom_domain_allowed', sa.Boolean(), nullable=False),
        sa.Column('features', sa.JSON(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
        sa.UniqueConstraint('slug', name=op.f('uq_plans_slug')),
    )
    op.create_table(
        'addons',
        sa.Column('slug', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('monthly_price', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_addons')),
        sa.UniqueConstraint('slug', name=op.f('uq_addons_slug')),
    )
    op.create_table(
        'store_addons',
        sa.Column('store_id', sa.String(length=36), nullable=False),
        sa.Column('addon_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_addons_store_id_stores'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['addon_id'], ['addons.id'], name=op.f('fk_store_addons_addon_id_addons'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('store_id', 'addon_id', name=op.f('pk_store_addons')),
    )
    op.create_index(op.f('ix_store_addons_addon_id'), 'store_addons', ['addon_id'], unique=False)
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_stores_plan_id'), ['plan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stores_plan_id_plans'), 'plans', ['plan_id'], ['id'],
                                    ondelete='RESTRICT')

    # data: the addons, the plan "Everything", every existing store on it
    now = datetime.now(timezone.utc)
    addons = sa.table('addons', *(sa.column(c) for c in (
        'id', 'slug', 'name', 'description', 'monthly_price', 'currency', 'is_active', 'created_at')))
    op.bulk_insert(addons, [dict(id=str(uuid.uuid4()), slug=slug, name=name, description=text, monthly_price=price,
                                 currency='EUR', is_active=True, created_at=now)
                            for slug, name, text, price in ADDONS])
    plan_id = str(uuid.uuid4())
    plans = sa.table('plans', sa.column('id'), sa.column('slug'), sa.column('name'), sa.column('description'),
                     sa.column('monthly_price'), sa.column('currency'), sa.column('max_products'),
                     sa.column('max_staff'), sa.column('custom_domain_allowed'), sa.column('features', sa.JSON()),
                     sa.column('is_active'), sa.column('created_at'), sa.column('updated_at'))
    op.bulk_insert(plans, [dict(id=plan_id, slug='everything', name='Everything',
                                description='Every feature, no limits: a single-store install.', monthly_price=0,
                                currency='EUR', max_products=None, max_staff=None, custom_domain_allowed=True,
                                features=[slug for slug, *_ in ADDONS], is_active=False, created_at=now,
                                updated_at=now)])
    op.execute(sa.text("UPDATE stores SET plan_id = :plan").bindparams(plan=plan_id))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stores_plan_id_plans'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stores_plan_id'))
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('plan_id')
    op.drop_index(op.f('ix_store_addons_addon_id'), table_name='store_addons')
    op.drop_table('store_addons')
    op.drop_table('addons')
    op.drop_table('plans')
