"""catalog speed: the shop's and the API's product lists read a page's ids and the total from an
index alone (store, sort column, id, is_enabled, deleted_at), then 24 rows by id
(bench/README.md, "Catalog speed, issue 16 (second pass)")

Revision ID: 0024_catalog_speed
Revises: 0023_big_stores
"""
from alembic import op


revision = '0024_catalog_speed'
down_revision = '0023_big_stores'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_products_list_created_at', 'products',
                    ['store_id', 'created_at', 'id', 'is_enabled', 'deleted_at'])
    op.create_index('ix_products_list_price', 'products', ['store_id', 'starting_at', 'id', 'is_enabled', 'deleted_at'])


def downgrade():
    op.drop_index('ix_products_list_price', table_name='products')
    op.drop_index('ix_products_list_created_at', table_name='products')
