"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL): a model
change without its migration, or a migration that drifted from its model, fails here."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from extensions import db
from models import Base


def test_the_migrated_database_matches_the_models(app):
    with app.app_context():
        context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
        dialect = db.engine.dialect.name
        db.session.rollback()
    if dialect == "sqlite":  # 0008 added stock_items.replacement_for_id with a plain ADD COLUMN, which
        # on SQLite cannot carry a foreign key (a batch copy of the biggest table was not worth it)
        diff = [d for d in diff if not (d[0] == "add_fk" and d[1].table.name == "stock_items"
                                        and [c.name for c in d[1].columns] == ["replacement_for_id"])]
    # The product search's indexes (migrations 0025, 0026), which the models do not declare:
    # PostgreSQL's trigram indexes (expression indexes of an extension), SQLite's FTS5 table with its
    # own tables, its keys table and the covering index of its lookups
    search = {"ix_products_title_trgm", "ix_products_description_trgm", "ix_products_search_lookup",
              "ix_products_visible"}  # and PostgreSQL's partial index of the listed products (0027)
    diff = [d for d in diff if not (d[0] == "remove_index" and d[1].name in search)
            and not (d[0] == "remove_table" and d[1].name.startswith("products_search"))]
    assert diff == [], diff
