"""CMS pages; every existing store gets the default Terms, Privacy and Refund-policy pages

Revision ID: 0013_pages
Revises: 0011_campaigns
Create Date: 2026-11-29 22:00:00

"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0013_pages'
down_revision = '0011_campaigns'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pages',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('meta_description', sa.String(length=300), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('show_in_footer', sa.Boolean(), nullable=False),
    sa.Column('show_in_nav', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.String(length=36), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('store_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_pages_store_id_stores'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_pages_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pages')),
    sa.UniqueConstraint('store_id', 'slug', name=op.f('uq_pages_store_id_slug'))
    )
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pages_store_id'), ['store_id'], unique=False)

    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('page_links', sa.JSON(), nullable=False, server_default='[]'))

    # the default pages for the stores that exist (new stores get them from services.stores.create_store)
    from services.pages import DEFAULT_PAGES
    from services.text import markdown_to_html

    conn = op.get_bind()
    pages = sa.table('pages', *(sa.column(c) for c in (
        'id', 'store_id', 'title', 'slug', 'body', 'body_html', 'meta_description', 'is_active', 'show_in_footer',
        'show_in_nav', 'sort_order', 'created_at', 'updated_at')))
    now = datetime.now(UTC)
    rows = []
    for store_id, name in conn.execute(sa.text("SELECT id, name FROM stores")).all():
        for slug, title, order, body in DEFAULT_PAGES:
            text = body.format(store=name)
            rows.append({'id': str(uuid.uuid4()), 'store_id': store_id, 'title': title, 'slug': slug, 'body': text,
                         'body_html': markdown_to_html(text), 'meta_description': '', 'is_active': True,
                         'show_in_footer': True, 'show_in_nav': False, 'sort_order': order, 'created_at': now,
                         'updated_at': now})
    if rows:
        op.bulk_insert(pages, rows)
    stores = sa.table('stores', sa.column('id'), sa.column('page_links', sa.JSON()))
    links = [{"title": title, "slug": slug, "in_footer": True, "in_nav": False} for slug, title, _, _ in DEFAULT_PAGES]
    for (store_id,) in conn.execute(sa.text("SELECT id FROM stores")).all():
        conn.execute(stores.update().where(stores.c.id == store_id).values(page_links=links))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('page_links')
    with op.batch_alter_table('pages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pages_store_id'))
    op.drop_table('pages')
