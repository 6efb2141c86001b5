"""product search: an index for the shop's and the API's free-text product search (a substring of
the title or the description, three characters or more), so a big store's search is a lookup
instead of a read of every product of the store (bench/README.md, "Product search").

- PostgreSQL: trigram indexes (pg_trgm, a trusted extension since PostgreSQL 13: a database owner
  may create it) on the lowered title and description; ``lower(col) LIKE '%term%'`` uses them.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+), ``products_search``: the
  product's id and a copy of its title and description, kept by three triggers (an UPDATE only
  when the title or the description changes: a page view's count does not touch it). It keeps its
  own copy rather than pointing at the products' rowids, which a VACUUM may renumber.

The search reads its matching ids apart from the page's order (``services.products``). Neither is
declared by the models (``tests/unit/test_migrations.py`` knows).

Revision ID: 0025_product_search
Revises: 0024_catalog_speed
"""
from alembic import op

revision = '0025_product_search'
down_revision = '0024_catalog_speed'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = {"ix_products_title_trgm": "title", "ix_products_description_trgm": "description"}

# the rows of one product in the FTS table (its id is a column of its own, matched whole)
_OLD = "products_search MATCH 'product_id : \"' || old.id || '\"'"
SQLITE = [
    "CREATE VIRTUAL TABLE products_search USING fts5(product_id, title, description, tokenize='trigram')",
    "INSERT INTO products_search (product_id, title, description) SELECT id, title, description FROM products",
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_search (product_id, title, description) VALUES (new.id, new.title, new.description); END",
    f"CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN DELETE FROM products_search WHERE {_OLD}; END",
    "CREATE TRIGGER products_search_update AFTER UPDATE OF id, title, description ON products BEGIN "
    f"DELETE FROM products_search WHERE {_OLD}; "
    "INSERT INTO products_search (product_id, title, description) VALUES (new.id, new.title, new.description); END",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON products USING gin (lower({column}) gin_trgm_ops)")
    elif dialect == "sqlite":
        for statement in SQLITE:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name in TRIGRAM_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    elif dialect == "sqlite":
        for trigger in ("products_search_insert", "products_search_delete", "products_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS products_search")
