"""Pagination, the CLI commands and configuration."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from config import ConfigError, load_config
from extensions import db
from models import Store, User
from services.pagination import paginate
from tenancy import tenant_scope


def test_paginate_counts_and_slices_within_the_store(app, store, other_store, make):
    for i in range(7):
        make.user(store, username=f"page{i}", email=f"page{i}@example.com")
    make.user(other_store, username="elsewhere", email="elsewhere@example.com")
    with app.app_context(), tenant_scope(store):
        page = paginate(select(User).order_by(User.username), page=2, page_size=3)
        assert page["total"] == 7 and page["pages"] == 3 and page["page"] == 2
        assert [u.username for u in page["items"]] == ["page3", "page4", "page5"]
        capped = paginate(select(User), page=1, page_size=10_000)
        assert capped["page_size"] == 100 and len(capped["items"]) == 7
        beyond = paginate(select(User), page=99, page_size=5)
        assert beyond["items"] == [] and beyond["total"] == 7


def test_cli_creates_stores_and_users_and_refuses_bad_input(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["create-store", "acme", "--name", "Acme Keys", "--domain", "keys.acme.example"])
    assert created.exit_code == 0, created.output
    duplicate = runner.invoke(args=["create-store", "acme", "--name", "Again"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    bad_slug = runner.invoke(args=["create-store", "Bad Slug!", "--name", "X"])
    assert bad_slug.exit_code != 0 and "slug" in bad_slug.output
    user = runner.invoke(args=["create-user", "owner@acme.example", "--password", "owner-password-1",
                               "--role", "ADMIN", "--store", "acme"])
    assert user.exit_code == 0 and "Created ADMIN owner" in user.output
    promoted = runner.invoke(args=["create-user", "owner@acme.example", "--password", "owner-password-2",
                                   "--role", "MANAGER", "--store", "acme"])
    assert "Updated MANAGER" in promoted.output
    sysadmin = runner.invoke(args=["create-user", "ops@platform.example", "--password", "platform-pass-1",
                                   "--role", "SYSADMIN"])
    assert sysadmin.exit_code == 0, sysadmin.output
    with app.app_context():
        acme = db.session.scalar(select(Store).where(Store.slug == "acme"))
        assert acme.custom_domain == "keys.acme.example" and acme.is_default
        ops = db.session.scalar(select(User).where(User.email == "ops@platform.example").execution_options(all_stores=True))
        assert ops.store_id is None and ops.role == "SYSADMIN"
        with tenant_scope(acme):
            owner = db.session.scalar(select(User).where(User.email == "owner@acme.example"))
            assert owner.role == "MANAGER" and owner.token_version == 1


def test_seed_demo_is_idempotent_and_prints_credentials(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output
    assert "admin@demo.store" in first.output and "password:" in first.output
    assert "Catalog created with" in first.output and "Catalog created" not in second.output
    base = app.config["PUBLIC_BASE_URL"]
    assert f"shop     {base}/" in first.output and f"dashboard: {base}/admin/" in first.output
    credentials = [line for line in first.output.splitlines() if "password:" in line]
    assert credentials == [line for line in second.output.splitlines() if "password:" in line]
    with app.app_context():
        stores = db.session.scalars(select(Store).where(Store.slug == "demo")).all()
        assert len(stores) == 1
        with tenant_scope(stores[0]):
            assert len(db.session.scalars(select(User)).all()) == 2
            from models import BalanceTransaction

            # the shopper can try a checkout by balance at once: 100.00, once, on the ledger
            shopper = db.session.scalar(select(User).where(User.email == "shopper@demo.store"))
            ledger = db.session.scalars(select(BalanceTransaction).where(BalanceTransaction.user_id == shopper.id)).all()
            assert shopper.balance == 100_00 and [(t.kind, t.amount) for t in ledger] == [("gift", 100_00)]
            from models import Product, StockItem

            products = db.session.scalars(select(Product)).all()
            assert len(products) == 10 and all(p.primary_image_url for p in products)
            assert len(db.session.scalars(select(StockItem)).all()) > 200
            from services import shipping  # the hoodie ships anywhere: a demo shopper can check it out

            assert [o.name for o in shipping.options_for("PT", "1100-048", 800, 3900)] == ["Standard post", "Express"]
            assert shipping.options_for("US", "94105", 800, 7500)[0].price == 0  # free from 75.00


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = {"APP_ENV": "production", "INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="SECRET_KEY, JWT_SECRET_KEY, DELIVERABLE_KEYS, DELIVERABLE_HASH_KEY"):
        load_config(environ=env)
    with pytest.raises(ConfigError, match="Fernet"):
        load_config(environ={**env, "SECRET_KEY": "a", "JWT_SECRET_KEY": "b", "DELIVERABLE_KEYS": "not-a-key", "DELIVERABLE_HASH_KEY": "h"})
    assert not (tmp_path / "dev-secrets.json").exists()


def test_development_generates_secrets_once_and_keeps_them(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    first, second = load_config(environ=env), load_config(environ=env)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) > 40
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'store.db'}"
    assert first["JOBS_INLINE"] is True and first["MAIL_BACKEND"] == "console"
    assert oct((tmp_path / "dev-secrets.json").stat().st_mode)[-3:] == "600"
    pg = load_config(environ={**env, "DATABASE_URL": "postgres://u@h/db", "REDIS_URL": "redis://r:6379/0"})
    assert pg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert pg["JOBS_INLINE"] is False and pg["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"


def test_links_follow_the_address_the_local_server_runs_on(tmp_path):
    env = {"INSTANCE_PATH": str(tmp_path)}
    assert load_config(environ=env)["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert load_config(environ={**env, "PORT": "8123"})["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert load_config(environ={**env, "HOST": "0.0.0.0", "PORT": "9000"})["PUBLIC_BASE_URL"] == "http://127.0.0.1:9000"
    chosen = load_config(environ={**env, "PORT": "8123", "PUBLIC_BASE_URL": "https://keys.example/"})
    assert chosen["PUBLIC_BASE_URL"] == "https://keys.example"
