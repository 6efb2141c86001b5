"""Jobs: queued only after commit; a real RQ worker on a real Redis sends real SMTP mail."""
from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from extensions import db
from tenancy import tenant_scope
from tests.conftest import REDIS_TEST_URL, base_config, make_app, migrate, port_open, service_missing
from transactions import enqueue_after_commit

ROOT = Path(__file__).resolve().parents[2]


def test_inline_jobs_run_after_commit_and_never_after_rollback(app, store, make, mail_outbox):
    with app.test_request_context(), tenant_scope(store):
        enqueue_after_commit("jobs.emails.send_email", to="rolled@example.com", template="password_reset", queue="emails",
                             context={"username": "x", "reset_link": "http://l/1", "minutes": 5})
        assert mail_outbox == []
        db.session.rollback()
        assert mail_outbox == []
        enqueue_after_commit("jobs.emails.send_email", to="kept@example.com", template="password_reset", queue="emails",
                             context={"username": "x", "reset_link": "http://l/2", "minutes": 5})
        assert mail_outbox == []  # not before the commit
        db.session.commit()
    assert [m.to for m in mail_outbox] == [["kept@example.com"]]
    assert mail_outbox[0].from_email.startswith("Main Store <")


class SMTPCollector:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving_smtp(collector):
    """A real SMTP server on a free loopback port, handing every message to ``collector``."""
    from aiosmtpd.controller import Controller

    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    with serving_smtp(SMTPCollector()) as served:
        yield served


@pytest.fixture
def redis_app(tmp_path, smtp_server):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    Redis.from_url(REDIS_TEST_URL).flushdb()
    controller, _ = smtp_server
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}", REDIS_URL=REDIS_TEST_URL,
                         MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    application = make_app(config)
    migrate(application)
    yield application, config
    Redis.from_url(REDIS_TEST_URL).flushdb()
    with application.app_context():
        db.engine.dispose()


def run_worker(config: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **{k: str(v) for k, v in config.items() if isinstance(v, (str, int)) and k.isupper()}}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", "--no-cron"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_password_reset_email_goes_through_redis_worker_and_smtp(redis_app, smtp_server):
    from tests.jobs.factories_for_jobs import seed_store_and_user

    application, config = redis_app
    _, collector = smtp_server
    store_id = seed_store_and_user(application, "jobs@example.com")
    client = application.test_client()
    response = client.post("/api/auth/forgot-password", json={"email": "jobs@example.com"})
    assert response.status_code == 202
    from transactions import queue

    assert queue(application, "emails").count == 1
    health = client.get("/api/health").get_json()
    assert health["redis"]["status"] == "ok" and health["status"] == "ok"
    time.sleep(0.2)
    assert collector.messages == []  # nothing is sent by the web process
    result = run_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(collector.messages) == 1, result.stderr[-3000:]
    envelope = collector.messages[0]
    assert envelope.rcpt_tos == ["jobs@example.com"]
    raw = envelope.content.decode()
    assert "Subject: Reset your Jobs Store password" in raw
    assert "text/html" in raw and "text/plain" in raw
    token = re.search(r"/reset-password/([A-Za-z0-9_\-]+)", raw).group(1)
    reset = client.post("/api/auth/reset-password", json={"token": token, "password": "changed-by-mail"})
    assert reset.status_code == 200
    login = client.post("/api/auth/login", json={"email": "jobs@example.com", "password": "changed-by-mail"})
    assert login.status_code == 200 and login.get_json()["user"]["store_id"] == store_id


def test_a_rolled_back_request_queues_nothing_on_redis(redis_app):
    from tests.jobs.factories_for_jobs import seed_store_and_user
    from transactions import queue

    application, _ = redis_app
    store_id = seed_store_and_user(application, "nobody@example.com")
    with application.test_request_context(), tenant_scope(store_id):
        enqueue_after_commit("jobs.emails.send_email", to="nobody@example.com", template="password_reset", queue="emails",
                             context={"username": "x", "reset_link": "http://l", "minutes": 5})
        db.session.rollback()
    assert queue(application, "emails").count == 0
    with application.test_request_context(), tenant_scope(store_id):
        enqueue_after_commit("jobs.emails.send_email", to="nobody@example.com", template="password_reset", queue="emails",
                             context={"username": "x", "reset_link": "http://l", "minutes": 5})
        db.session.commit()
    assert queue(application, "emails").count == 1


def test_periodic_expiry_runs_once_per_interval_on_the_worker_and_frees_stock(redis_app):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select, update

    from jobs.schedule import enqueue_due
    from models import Order, User, Variant
    from services import cart as cart_service
    from services import checkout, stock
    from services import products as product_service
    from tests.jobs.factories_for_jobs import seed_store_and_user
    from transactions import queue

    application, config = redis_app
    store_id = seed_store_and_user(application, "late@example.com")
    with application.test_request_context(), tenant_scope(store_id):
        from models import Store

        product = product_service.create_product({"title": "Key", "variants": [{"title": "x", "price": 100}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "K1\nK2\nK3")
        buyer = db.session.scalar(select(User).where(User.email == "late@example.com"))
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, variant.id, 2)
        order = checkout.place_order(db.session.get(Store, store_id), cart, buyer=buyer, method="MANUAL").order
        db.session.execute(update(Order).where(Order.id == order.id)
                           .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        db.session.commit()
        order_id, variant_id = order.id, variant.id
    queue(application, "emails").empty()
    with application.app_context():
        assert sorted(enqueue_due(application)) == ["enforce_ratings", "expire_orders", "purge_revoked_tokens"]
        assert enqueue_due(application) == []  # not again within the interval
    result = run_worker(config)
    assert result.returncode == 0, result.stderr[-3000:]
    with application.app_context(), tenant_scope(store_id):
        assert db.session.get(Order, order_id).status == "EXPIRED"
        assert db.session.get(Variant, variant_id).stock_count == 3


def test_a_request_whose_job_cannot_be_queued_still_answers_what_it_committed(tmp_path, caplog):
    """Redis down after the commit: the reset was recorded, the answer says so, the failure is logged."""
    from models import PasswordResetToken
    from tests.jobs.factories_for_jobs import seed_store_and_user

    application = make_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'down.db'}",
                                       REDIS_URL="redis://127.0.0.1:1/0"))
    migrate(application)
    store_id = seed_store_and_user(application, "down@example.com")
    client = application.test_client()
    logger = logging.getLogger("transactions")
    logger.addHandler(caplog.handler)  # (migrating reconfigured the root logger's handlers)
    try:
        response = client.post("/api/auth/forgot-password", json={"email": "down@example.com"})
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 202
    with application.app_context(), tenant_scope(store_id):
        assert db.session.query(PasswordResetToken).count() == 1
    assert "could not queue job jobs.emails.send_email" in caplog.text, [r.getMessage() for r in caplog.records]
