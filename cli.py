"""Command line: create-store, create-user, seed-demo, seed-load, worker (``flask --app app <command>``)."""
from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from extensions import db
from jobs.runner import AppWorker, set_worker_app
from jobs.schedule import start_cron
from models import Role, Store, User
from services import auth as auth_service
from services import payments as payment_service
from services import stores as store_service
from services import tenants as tenant_service
from services.demo import credit_demo_shopper, seed_catalog
from services.errors import DomainError
from services.load_seed import seed_load as fill_store
from services.load_seed import vacuum_analyze
from tenancy import platform_scope, tenant_scope
from transactions import queue, redis_connection


def _fail(error: DomainError):
    raise click.ClickException(error.message)


def register_cli(app: Flask) -> None:
    @app.cli.command("create-store")
    @click.argument("slug")
    @click.option("--name", required=True, help="The store's display name")
    @click.option("--domain", default=None, help="A custom domain that serves this store")
    @click.option("--currency", default="EUR", show_default=True)
    @click.option("--plan", default=None, help="A plan's slug (default: everything)")
    @click.option("--locale", default="en", show_default=True)
    @click.option("--timezone", default="UTC", show_default=True)
    @click.option("--admin-email", default=None, help="Its first ADMIN, emailed a link to set a password")
    @click.option("--default", "make_default", is_flag=True, help="Serve it when no host matches")
    def create_store(slug, name, domain, currency, plan, locale, timezone, admin_email, make_default):
        """Create a store (the first one becomes the default store), as the sysadmin's form does."""
        try:
            store, admin = tenant_service.create_tenant(
                slug=slug, name=name, custom_domain=domain, currency=currency, plan=plan, locale=locale,
                timezone=timezone, admin_email=admin_email)
            if make_default:
                for other in db.session.scalars(select(Store).where(Store.id != store.id, Store.is_default.is_(True))):
                    other.is_default = False
                store.is_default = True
            db.session.commit()
        except DomainError as error:
            _fail(error)
        click.echo(f"Created store {store.slug} ({store.id}){' [default]' if store.is_default else ''}"
                   + (f"; {admin.email} was emailed a link to set a password" if admin else ""))

    @app.cli.command("purge-stores")
    @click.option("--older-than-days", default=tenant_service.PURGE_GRACE_DAYS, show_default=True, type=int,
                  help="Purge stores soft-deleted at least this many days ago")
    def purge_stores(older_than_days):
        """Hard-delete soft-deleted stores past the grace period, with all their data and uploads."""
        purged = tenant_service.purge_deleted(older_than_days)
        db.session.commit()
        click.echo(f"Purged {len(purged)} store(s)" + (": " + ", ".join(purged) if purged else ""))

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--password", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role if r != Role.GUEST], case_sensitive=False),
                  default="USER", show_default=True)
    @click.option("--store", "store_slug", default=None, help="Store slug (default: the default store; none for SYSADMIN)")
    @click.option("--username", default=None, help="Defaults to the part of the email before @")
    def create_user(email, password, role, store_slug, username):
        """Create a user; with an existing email, update its role and password instead."""
        role = Role(role.upper())
        username = username or email.split("@", 1)[0]
        try:
            if role == Role.SYSADMIN:
                scope = platform_scope()
            else:
                store = store_service.get_store_by_slug(store_slug) if store_slug else store_service.default_store()
                if store is None:
                    raise click.ClickException("No store yet: run create-store first")
                scope = tenant_scope(store)
            with scope:
                email_n = auth_service.normalize_email(email)
                query = select(User).where(User.email == email_n)
                if role == Role.SYSADMIN:
                    query = query.where(User.store_id.is_(None))
                user = db.session.scalar(query)
                if user is None:
                    user = auth_service.create_user(username=username, email=email_n, password=password, role=role)
                    action = "Created"
                else:
                    auth_service.check_password_strength(password)
                    user.password_hash = auth_service.hash_password(password)
                    user.role = role.value
                    user.token_version += 1
                    action = "Updated"
                db.session.commit()
        except DomainError as error:
            _fail(error)
        click.echo(f"{action} {user.role} {user.username} <{user.email}>")

    @app.cli.command("seed-demo")
    def seed_demo():
        """Idempotent: a demo store with an admin and a shopper; prints their credentials."""
        creds = _demo_credentials(Path(current_app.instance_path))
        store = db.session.scalar(select(Store).where(Store.slug == "demo"))
        if store is None:
            store = store_service.create_store(
                "demo", "Demo Digital Store", currency="EUR", is_default=None,
                description="Gift cards, licence keys and accounts, delivered the moment you pay.",
            )
            store_service.update_settings(store, {
                "external_links": [
                    {"name": "Discord", "href": "https://discord.com", "in_nav_bar": True, "in_footer": True, "emoji_icon": "💬"},
                ],
                "announcement_bar_config": {"enabled": True, "template": 5, "text": "Welcome to the demo store: everything is delivered instantly.", "scrolling": False},
            })
        with tenant_scope(store):
            for key, role in (("admin", Role.ADMIN), ("shopper", Role.USER)):
                email, password = creds[key]
                user = db.session.scalar(select(User).where(User.email == email))
                if user is None:
                    user = auth_service.create_user(username=key, email=email, password=password, role=role)
                    if role == Role.USER:
                        db.session.flush()
                        credit_demo_shopper(user.id)
            imported = seed_catalog()
        db.session.commit()
        click.echo(f"Demo store '{store.name}' ready{' (default store)' if store.is_default else ''}."
                   + (f" Catalog created with {imported} stock items." if imported else ""))
        for key in ("admin", "shopper"):
            click.echo(f"  {key:8} {creds[key][0]}  password: {creds[key][1]}")
        click.echo(f"  shop     {store_service.base_url(store)}/   dashboard: {store_service.base_url(store)}/admin/")

    @app.cli.command("seed-load")
    @click.argument("slug")
    @click.option("--products", default=10_000, show_default=True)
    @click.option("--items", default=1_000_000, show_default=True, help="Stock items (one sold per paid order)")
    @click.option("--orders", default=100_000, show_default=True)
    @click.option("--customers", default=5_000, show_default=True)
    def seed_load(slug, products, items, orders, customers):
        """A new store SLUG filled for load tests: products, stock items, customers and orders in bulk
        (COPY on PostgreSQL)."""
        if db.session.scalar(select(Store.id).where(Store.slug == slug)):
            raise click.ClickException(f"Store {slug} exists: seed-load fills a new store")
        try:
            store = store_service.create_store(slug, f"Load {slug}", is_default=None)
            db.session.flush()
            result = fill_store(store, products=products, items=items, orders=orders, customers=customers,
                                echo=click.echo)
            db.session.commit()
            vacuum_analyze()
        except (DomainError, ValueError) as error:
            raise click.ClickException(getattr(error, "message", str(error))) from error
        click.echo(f"Store {slug}: {result['products']:,} products, {result['stock_items']:,} stock items, "
                   f"{result['orders']:,} orders, {result['customers']:,} customers "
                   f"in {result['seconds']['total']:.1f} s")

    @app.cli.command("enable-payments")
    @click.argument("methods", nargs=-1, required=True)
    @click.option("--store", "store_slug", default=None, help="Store slug (default: the default store)")
    def enable_payments(methods, store_slug):
        """Enable payment methods for a store (refused, with the reason, when one is not configured)."""
        store = store_service.get_store_by_slug(store_slug) if store_slug else store_service.default_store()
        if store is None:
            raise click.ClickException("No store yet: run create-store first")
        try:
            with tenant_scope(store):
                states = payment_service.set_methods(store, {m.upper(): True for m in methods})
                db.session.commit()
        except DomainError as error:
            _fail(error)
        click.echo("Payment methods of " + store.slug + ": "
                   + ", ".join(f"{s['name']} {'on' if s['enabled'] else 'off'}" for s in states))

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit")
    @click.option("--queues", default="webhooks,emails,default", show_default=True)
    @click.option("--with-cron/--no-cron", default=True, show_default=True, help="Also run the periodic jobs")
    def worker(burst, queues, with_cron):
        """An RQ worker with the app context and the scheduler (needs REDIS_URL)."""
        if not current_app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inline after commit")
        app = current_app._get_current_object()
        set_worker_app(app)
        names = [q.strip() for q in queues.split(",") if q.strip()]
        if with_cron and not burst:
            threading.Thread(target=start_cron, args=(app,), daemon=True, name="cron").start()
        config = app.config
        w = AppWorker([queue(app, n) for n in names], connection=redis_connection(app),
                      job_monitoring_interval=int(config["RQ_JOB_MONITORING_SECONDS"]),
                      maintenance_interval=int(config["RQ_MAINTENANCE_SECONDS"]))
        w.abandoned_grace = int(config["RQ_ABANDONED_GRACE_SECONDS"])
        w.work(burst=burst, with_scheduler=True)


def _demo_credentials(instance: Path) -> dict:
    path = instance / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    instance.mkdir(parents=True, exist_ok=True)
    creds = {
        "admin": ["admin@demo.store", secrets.token_urlsafe(9)],
        "shopper": ["shopper@demo.store", secrets.token_urlsafe(9)],
    }
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)
    return creds
