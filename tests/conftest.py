"""Test fixtures: a session app per database, a rolled-back transaction per test,
``store``/``other_store``, factories, and loud skips for missing services.

The suite runs every database test on SQLite and on PostgreSQL (127.0.0.1:5432, user
postgres) when it is reachable. ``REQUIRE_SERVICES=1`` turns every skip for a missing
service (PostgreSQL, Redis, Chromium) into a failure.
"""
from __future__ import annotations

import itertools
import os
import socket
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def service_missing(what: str) -> None:
    """Skip loudly, or fail when REQUIRE_SERVICES=1."""
    message = f"SERVICE MISSING: {what}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def base_config(tmp: Path, database_url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SECRET_KEY": "test-secret-key",
        "JWT_SECRET_KEY": "test-jwt-secret-key-with-enough-length",
        "DELIVERABLE_KEYS": Fernet.generate_key().decode(),
        "DELIVERABLE_HASH_KEY": "test-deliverable-hash-key",
        "REDIS_URL": "",
        "MAIL_BACKEND": "locmem",
        "LOGIN_RATE_LIMIT": "5 per minute",
        "RESET_RATE_LIMIT": "3 per minute",
        "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        "WTF_CSRF_ENABLED": True,
        # stores are created and rolled back per test: never remember one between requests
        "STORE_CACHE_SECONDS": 0,
    }
    config.update(extra)
    return config


def make_app(config: dict) -> Flask:
    from app import create_app

    app = create_app(config)
    app.config["ARGON2_PARAMS"] = config["ARGON2_PARAMS"]
    if not config.get("REDIS_URL"):
        app.config["REDIS_URL"] = None
        app.config["JOBS_INLINE"] = True
        # jobs run on the worker thread as in production; a test waits for them after each
        # dispatch, so the emails of a request are in the outbox when the request returns
        app.config["JOBS_THREAD"] = True
        app.config["JOBS_WAIT"] = True
    return app


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


def create_pg_database(name: str) -> str:
    if not port_open("127.0.0.1", 5432):
        service_missing("PostgreSQL on 127.0.0.1:5432")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def app(request, tmp_path_factory):
    """One migrated app per database; every test using it runs on both."""
    tmp = tmp_path_factory.mktemp(request.param)
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'test.db'}"
    else:
        pg_name = f"vstore_test_{os.getpid()}"
        url = create_pg_database(pg_name)
    application = make_app(base_config(tmp, url))
    migrate(application)
    yield application
    from extensions import db

    with application.app_context():
        db.engine.dispose()
    if pg_name:
        drop_pg_database(pg_name)


@pytest.fixture(autouse=True)
def _transaction(request):
    """Every test that uses ``app`` runs in one transaction, rolled back at the end."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from flask_sqlalchemy.session import _app_ctx_id

    from extensions import db

    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        scopefunc=_app_ctx_id,
    )
    try:
        yield connection
    finally:
        db.session = original
        outer.rollback()
        connection.close()


_ips = itertools.count(1)


def next_ip() -> str:
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture
def client(app):
    """A test client with its own IP address, so rate limits do not leak between tests."""
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = next_ip()
    return test_client


@pytest.fixture
def make(app):
    from tests.factories import Factory

    return Factory(app)


@pytest.fixture
def store(make):
    return make.store("main", "Main Store", default=True)


@pytest.fixture
def other_store(make, store):
    return make.store("other", "Other Store", domain="other.example.com")


@pytest.fixture
def mail_outbox(app):
    """Messages sent through the locmem mail backend during this test."""
    state = app.extensions["mailman"]
    state.outbox = []
    return state.outbox


# --- payment providers: small fakes on 127.0.0.1 (tests/fakes) --------------------------------

STRIPE_TEST_KEY = "sk_test_platform"
STRIPE_CONNECT_SECRET = "whsec_test_connect"


@pytest.fixture(scope="session")
def fake_stripe():
    from tests.fakes.stripe_server import FakeStripe

    with FakeStripe(connect_webhook_secret=STRIPE_CONNECT_SECRET) as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_hoodpay():
    from tests.fakes.hoodpay_server import FakeHoodpay

    with FakeHoodpay() as fake:
        yield fake


def stripe_settings(fake) -> dict:
    return {"STRIPE_SECRET_KEY": STRIPE_TEST_KEY, "STRIPE_API_BASE": fake.base_url,
            "STRIPE_WEBHOOK_SECRET": fake.webhook_secret, "STRIPE_CONNECT_WEBHOOK_SECRET": STRIPE_CONNECT_SECRET,
            "STRIPE_DEFAULT_STORE_DIRECT": True, "STRIPE_TIMEOUT": 5.0}


def hoodpay_settings(fake) -> dict:
    return {"HOODPAY_API_BASE": fake.api_base, "HOODPAY_TIMEOUT": 5.0}


@pytest.fixture
def stripe_platform(app, fake_stripe):
    """The platform's Stripe keys, pointing at the fake, for this test (the default store may take
    card payments on the platform account)."""
    settings = stripe_settings(fake_stripe)
    before = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    fake_stripe.webhook_url = None
    try:
        yield fake_stripe
    finally:
        app.config.update(before)
        with fake_stripe.lock:  # faults a test asked for and did not use end with it
            fake_stripe._faults.clear()
            fake_stripe._slow.clear()


@pytest.fixture
def hoodpay_api(app, fake_hoodpay):
    """Hoodpay's API base pointing at the fake for this test (stores save the fake's keys)."""
    settings = hoodpay_settings(fake_hoodpay)
    before = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    fake_hoodpay.webhook_url = None
    try:
        yield fake_hoodpay
    finally:
        app.config.update(before)
        with fake_hoodpay._lock:
            fake_hoodpay._rules.clear()
