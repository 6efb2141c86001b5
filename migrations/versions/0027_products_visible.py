"""the count of a store's visible products, on PostgreSQL: a partial index of the store ids of
the products the shop lists (``is_enabled IS TRUE AND deleted_at IS NULL``, the shop's and the
JSON list's own conditions, written the way the ORM writes them so the planner can prove they
hold). The list's total then counts from it alone (an index-only scan of a dozen pages for 10,000
products, 0.8 ms) whatever the planner thinks of the list indexes.

Before, the total kept the list's ORDER BY so that the planner would count along
``ix_products_list_created_at``; whether it did was a matter of cost estimates. On a database
seeded afresh it chose a sequential scan and a sort of every product instead (5-11 ms for the big
store; bench/README.md, "Issue 16, fourth pass"). SQLite counts from its covering list index
either way and gets nothing here. Not declared by the models (``tests/unit/test_migrations.py``).

Revision ID: 0027_products_visible
Revises: 0026_search_keys
"""
from alembic import op

revision = '0027_products_visible'
down_revision = '0026_search_keys'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_products_visible ON products (store_id) "
                   "WHERE is_enabled IS TRUE AND deleted_at IS NULL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_products_visible")
