"""slug_redirects: a product's or category's retired slugs, so the shop's old address answers a
permanent redirect to the current one (``services.slugs.retire_slug``); unique per store, kind and
slug. Nothing to fill in: slugs changed before this revision were not kept.

Revision ID: 0029_slug_redirects
Revises: 0028_review_reward_basis
"""
import sqlalchemy as sa
from alembic import op

revision = '0029_slug_redirects'
down_revision = '0028_review_reward_basis'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('slug_redirects',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('slug', sa.String(length=220), nullable=False),
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.CheckConstraint("kind IN ('product', 'category')", name=op.f('ck_slug_redirects_kind')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_slug_redirects_store_id_stores'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slug_redirects')),
    sa.UniqueConstraint('store_id', 'kind', 'slug', name=op.f('uq_slug_redirects_store_id_kind_slug'))
    )
    with op.batch_alter_table('slug_redirects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slug_redirects_target_id'), ['target_id'], unique=False)


def downgrade():
    with op.batch_alter_table('slug_redirects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slug_redirects_target_id'))
    op.drop_table('slug_redirects')
