"""product search on SQLite, faster for a big store: the FTS5 table keeps no copy of the text
(contentless, ``content=''``) and its rowids are stable integer keys of a narrow table,
``products_search_keys`` (key, product_id); a covering index on products answers the search's
filters and the page's sort keys for the matching ids without reading their rows.

Before (0025), the search read each match's product id out of the FTS table's own copy of the
rows (title and description included) and then each product by its text primary key and its row:
on the big store (10,000 products, ~700 matches for "steam") 6-7 ms of a 7.8 ms statement. Now
the rowids come from the index alone, each key is one integer lookup and each product one lookup
in ``ix_products_search_lookup`` (bench/README.md, "Product search on SQLite, fourth pass").

A contentless FTS5 table forgets what it indexed, so a row is removed by the 'delete' command
with the values it was indexed with: the triggers pass the product's old title and description,
which are exactly those (every change of either goes through the update trigger). The keys are a
table of their own, not the products' rowids, which a VACUUM may renumber.

PostgreSQL: nothing (its trigram indexes of 0025 stay). Neither the keys table nor the covering
index are declared by the models (``tests/unit/test_migrations.py`` knows).

Revision ID: 0026_search_keys
Revises: 0025_product_search
"""
from alembic import op

revision = '0026_search_keys'
down_revision = '0025_product_search'
branch_labels = None
depends_on = None

_KEY_OF_OLD = "(SELECT key FROM products_search_keys WHERE product_id = old.id)"
_FORGET_OLD = ("INSERT INTO products_search (products_search, rowid, title, description) "
               f"VALUES ('delete', {_KEY_OF_OLD}, old.title, old.description);")
_INDEX_NEW = ("INSERT INTO products_search (rowid, title, description) VALUES "
              "((SELECT key FROM products_search_keys WHERE product_id = new.id), new.title, new.description);")
TRIGGERS = ("products_search_insert", "products_search_delete", "products_search_update")
SQLITE = [
    *(f"DROP TRIGGER IF EXISTS {trigger}" for trigger in TRIGGERS),
    "DROP TABLE IF EXISTS products_search",
    "CREATE TABLE products_search_keys (key INTEGER PRIMARY KEY, product_id VARCHAR(36) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE products_search USING fts5(title, description, content='', tokenize='trigram')",
    "INSERT INTO products_search_keys (product_id) SELECT id FROM products ORDER BY rowid",
    "INSERT INTO products_search (rowid, title, description) SELECT k.key, p.title, p.description "
    "FROM products AS p JOIN products_search_keys AS k ON k.product_id = p.id",
    "CREATE INDEX ix_products_search_lookup ON products (id, store_id, is_enabled, deleted_at, created_at, starting_at)",
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_search_keys (product_id) VALUES (new.id); " + _INDEX_NEW + " END",
    "CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN " + _FORGET_OLD +
    " DELETE FROM products_search_keys WHERE product_id = old.id; END",
    "CREATE TRIGGER products_search_update AFTER UPDATE OF id, title, description ON products BEGIN " + _FORGET_OLD +
    " UPDATE products_search_keys SET product_id = new.id WHERE product_id = old.id; " + _INDEX_NEW + " END",
    # the new index's statistics: without them a database analysed before (``flask seed-load``, or
    # an operator) plans the list's join by walking every product of the store (measured: the big
    # store's list 1.13x -> 1.6x its small figure until this ran)
    "ANALYZE products",
]

# 0025's table and triggers, brought back by a downgrade
_OLD_MATCH = "products_search MATCH 'product_id : \"' || old.id || '\"'"
SQLITE_0025 = [
    "CREATE VIRTUAL TABLE products_search USING fts5(product_id, title, description, tokenize='trigram')",
    "INSERT INTO products_search (product_id, title, description) SELECT id, title, description FROM products",
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_search (product_id, title, description) VALUES (new.id, new.title, new.description); END",
    f"CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN DELETE FROM products_search WHERE {_OLD_MATCH}; END",
    "CREATE TRIGGER products_search_update AFTER UPDATE OF id, title, description ON products BEGIN "
    f"DELETE FROM products_search WHERE {_OLD_MATCH}; "
    "INSERT INTO products_search (product_id, title, description) VALUES (new.id, new.title, new.description); END",
]


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP INDEX IF EXISTS ix_products_search_lookup")
        op.execute("DROP TABLE IF EXISTS products_search")
        op.execute("DROP TABLE IF EXISTS products_search_keys")
        for statement in SQLITE_0025:
            op.execute(statement)
