"""product search: trigram indexes (PostgreSQL's pg_trgm) on the lowered title and description, so
the shop's and the API's free-text product search (``lower(col) LIKE '%term%'``) is an index lookup
instead of a read of every product of the store (bench/README.md, "Catalog speed, issue 16").

PostgreSQL only: SQLite has no such index (a trigram index is an extension of PostgreSQL's), and an
embedded store is small. The models do not declare them (``tests/unit/test_migrations.py`` knows).
pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it.

Revision ID: 0025_product_search
Revises: 0024_catalog_speed
"""
from alembic import op

revision = '0025_product_search'
down_revision = '0024_catalog_speed'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {"ix_products_title_trgm": "title", "ix_products_description_trgm": "description"}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON products USING gin (lower({column}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
