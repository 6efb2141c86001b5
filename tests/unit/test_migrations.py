"""The migrations build exactly the schema the models describe (on SQLite and PostgreSQL): a model
change without its migration, or a migration that drifted from its model, fails here."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Base
from tests.conftest import base_config, create_pg_database, drop_pg_database, make_app


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


def _database_at(request, tmp_path, revision: str):
    """A database of its own migrated to ``revision`` (the session's database stays at the head)."""
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'at_revision.db'}"
    else:
        pg_name = f"vstore_test_{os.getpid()}_{revision[:4]}"
        url = create_pg_database(pg_name)
    application = make_app(base_config(tmp_path, url))
    with application.app_context():
        upgrade(revision=revision)
    yield application
    with application.app_context():
        db.engine.dispose()
    if pg_name:
        drop_pg_database(pg_name)


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0027(request, tmp_path):
    yield from _database_at(request, tmp_path, "0027_products_visible")


@pytest.fixture(params=["sqlite", "postgresql"])
def at_0028(request, tmp_path):
    yield from _database_at(request, tmp_path, "0028_review_reward_basis")


def test_0028_fills_in_the_basis_of_the_rewards_paid_before_it(at_0027):
    """A reward paid before 0028 was paid on what the buyer had kept then (total less the refunds
    made before it): the upgrade writes that basis; a review without a reward keeps NULL."""
    tables = Base.metadata.tables
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    at = {n: start + timedelta(hours=n) for n in range(6)}
    with at_0027.app_context(), db.engine.begin() as conn:
        store = conn.execute(tables["stores"].insert().values(slug="old", name="Old")
                             .returning(tables["stores"].c.id)).scalar_one()
        buyer = conn.execute(tables["users"].insert().values(
            store_id=store, username="buyer", email="buyer@example.com", password_hash="x")
            .returning(tables["users"].c.id)).scalar_one()

        def order(number, total, refunded):
            return conn.execute(tables["orders"].insert().values(
                store_id=store, order_number=number, email="buyer@example.com", payment_method="BALANCE",
                currency="EUR", status="COMPLETED", total=total, amount_refunded=refunded, created_at=at[0])
                .returning(tables["orders"].c.id)).scalar_one()

        def refund(order_id, amount, when, status="SUCCEEDED"):
            conn.execute(tables["refunds"].insert().values(
                store_id=store, order_id=order_id, amount=amount, currency="EUR", destination="balance",
                status=status, created_at=when))

        def ledger(order_id, amount, when):
            return conn.execute(tables["balance_transactions"].insert().values(
                store_id=store, user_id=buyer, kind="review_reward", amount=amount, balance_after=100,
                order_id=order_id, created_at=when).returning(tables["balance_transactions"].c.id)).scalar_one()

        def review(order_id, paid_row=None):
            return conn.execute(tables["reviews"].insert().values(
                store_id=store, order_id=order_id, user_id=buyer, reviewed_by="buyer", rating=5,
                product_name="Thing", reward_credited=paid_row is not None, reward_transaction_id=paid_row)
                .returning(tables["reviews"].c.id)).scalar_one()

        rewarded = order(1, 1000, 750)
        refund(rewarded, 500, at[1])
        refund(rewarded, 100, at[2], status="FAILED")  # failed before the reward: not counted
        paid = ledger(rewarded, 25, at[3])
        refund(rewarded, 250, at[4])  # after the reward: its take-back, not its basis
        ledger(rewarded, -6, at[5])
        paid_review = review(rewarded, paid)

        plain = order(2, 1000, 500)
        refund(plain, 500, at[1])
        plain_review = review(plain)

        # the reward's ledger row gone (SET NULL): the order's earliest positive review_reward row
        orphan = order(3, 800, 200)
        refund(orphan, 200, at[1])
        ledger(orphan, 20, at[3])
        orphan_review = review(orphan)
        conn.execute(tables["reviews"].update().where(tables["reviews"].c.id == orphan_review)
                     .values(reward_credited=True))

        # credited, but no ledger row to place it by: stays NULL (the order's total)
        lost = order(4, 600, 0)
        lost_review = review(lost)
        conn.execute(tables["reviews"].update().where(tables["reviews"].c.id == lost_review)
                     .values(reward_credited=True))

    with at_0027.app_context():
        upgrade(revision="0028_review_reward_basis")
        with db.engine.connect() as conn:
            basis = dict(conn.execute(text("SELECT id, reward_basis FROM reviews")).all())
        assert basis == {paid_review: 500, plain_review: None, orphan_review: 600, lost_review: None}
        downgrade(revision="0027_products_visible")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa_inspect(conn).get_columns("reviews")}
        assert "reward_basis" not in columns
        upgrade()


def test_0029_adds_the_retired_slugs_unique_per_store_kind_and_slug_and_drops_them_again(at_0028):
    tables = Base.metadata.tables
    with at_0028.app_context():
        upgrade(revision="0029_slug_redirects")
        with db.engine.begin() as conn:
            store = conn.execute(tables["stores"].insert().values(slug="old", name="Old")
                                 .returning(tables["stores"].c.id)).scalar_one()
            row = {"store_id": store, "kind": "product", "slug": "old-name", "target_id": "p1"}
            conn.execute(tables["slug_redirects"].insert().values(**row))
            conn.execute(tables["slug_redirects"].insert().values(**{**row, "kind": "category"}))
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(tables["slug_redirects"].insert().values(**{**row, "target_id": "p2"}))
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT kind, target_id FROM slug_redirects ORDER BY kind")).all() == [
                ("category", "p1"), ("product", "p1")]
        downgrade(revision="0028_review_reward_basis")
        with db.engine.connect() as conn:
            assert "slug_redirects" not in sa_inspect(conn).get_table_names()
        upgrade()
