"""A plan-limit check serialises on (store, limit), not on the store's row: an import checks
``max_products`` per product and commits only at the end of its batch, and while it runs a settings
save or a page edit of the same store (which lock the store's row ``FOR NO KEY UPDATE``) must not
wait for it. A dry run takes no lock at all. PostgreSQL only: on SQLite every writer holds the
whole database (``BEGIN IMMEDIATE``), by design."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from extensions import db
from models import Plan, Store
from services import plans
from tenancy import tenant_scope


def _limited(app, store_id: str) -> None:
    with app.app_context(), tenant_scope(store_id):
        plan = Plan(slug="tight", name="Tight", monthly_price=100, currency="EUR", max_products=10,
                    custom_domain_allowed=False, features=[])
        db.session.add(plan)
        db.session.flush()
        db.session.get(Store, store_id).plan_id = plan.id
        db.session.commit()


def _other_connection(app, sql: str, **params):
    """Run ``sql`` on a connection of its own (not the session's), waiting at most 1 s for a lock."""
    with db.engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '1s'"))
        try:
            return conn.execute(text(sql), params).scalar()
        finally:
            conn.rollback()


def _postgres_only(app) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("on SQLite every writer holds the whole database (BEGIN IMMEDIATE)")


def test_a_store_row_write_is_not_blocked_by_an_open_product_limit_check(live):
    _, app, store_id = live
    _postgres_only(app)
    _limited(app, store_id)
    with app.app_context(), tenant_scope(store_id):
        plans.check_product_limit()  # its transaction stays open, like an import's batch
        try:
            # what a settings save or a page edit (services.pages) takes on the store's row
            assert _other_connection(app, "SELECT 1 FROM stores WHERE id = :id FOR NO KEY UPDATE", id=store_id) == 1
            # the check itself is still serialised: another check of the same limit would wait
            key = plans._limit_key(store_id, "max_products")
            assert _other_connection(app, "SELECT pg_try_advisory_xact_lock(:k)", k=key) is False
            assert _other_connection(app, "SELECT pg_try_advisory_xact_lock(:k)",
                                     k=plans._limit_key(store_id, "max_staff")) is True
        finally:
            db.session.rollback()


def test_a_dry_run_product_limit_check_takes_no_lock(live):
    _, app, store_id = live
    _postgres_only(app)
    _limited(app, store_id)
    with app.app_context(), tenant_scope(store_id):
        plans.check_product_limit(adding=3, lock=False)
        try:
            key = plans._limit_key(store_id, "max_products")
            assert _other_connection(app, "SELECT pg_try_advisory_xact_lock(:k)", k=key) is True
        finally:
            db.session.rollback()
