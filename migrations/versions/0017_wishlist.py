"""wishlist: wishlist_items (one row per user and product) and wishlist_shares (a revocable secret
link, stored as its SHA-256)

Revision ID: 0017_wishlist
Revises: 0016_audit
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_wishlist'
down_revision = '0016_audit'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wishlist_items',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('product_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_wishlist_items_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_wishlist_items_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wishlist_items_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wishlist_items')),
    sa.UniqueConstraint('user_id', 'product_id', name=op.f('uq_wishlist_items_user_id_product_id'))
    )
    with op.batch_alter_table('wishlist_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wishlist_items_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wishlist_items_store_id'), ['store_id'], unique=False)

    op.create_table('wishlist_shares',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_wishlist_shares_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wishlist_shares_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wishlist_shares')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_wishlist_shares_token_hash')),
    sa.UniqueConstraint('user_id', name=op.f('uq_wishlist_shares_user_id'))
    )
    with op.batch_alter_table('wishlist_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wishlist_shares_store_id'), ['store_id'], unique=False)


def downgrade():
    with op.batch_alter_table('wishlist_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wishlist_shares_store_id'))
    op.drop_table('wishlist_shares')
    with op.batch_alter_table('wishlist_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wishlist_items_store_id'))
        batch_op.drop_index(batch_op.f('ix_wishlist_items_product_id'))
    op.drop_table('wishlist_items')
