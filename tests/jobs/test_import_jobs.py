"""A WooCommerce import on a real RQ worker process (``flask worker``, Redis), killed with SIGKILL
half-way through, then resumed and finished by another worker: every product once, the counts of
the fake's catalogue. SQLite file database shared by the test and the worker processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import ImportJob, Product, Role, Variant
from tenancy import platform_scope, tenant_scope
from tests.conftest import REDIS_TEST_URL, base_config, make_app, migrate, port_open, service_missing
from tests.fakes.woocommerce_server import FakeWoo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_app(tmp_path):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    Redis.from_url(REDIS_TEST_URL).flushdb()
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'imports.db'}", REDIS_URL=REDIS_TEST_URL,
                         IMPORT_ALLOW_PRIVATE_URLS="1")
    application = make_app(config)
    application.config["IMPORT_ALLOW_PRIVATE_URLS"] = True
    migrate(application)
    yield application, config
    Redis.from_url(REDIS_TEST_URL).flushdb()
    with application.app_context():
        db.engine.dispose()


def worker(config: dict, *, burst: bool) -> subprocess.Popen:
    env = {**os.environ, **{k: str(v) for k, v in config.items() if isinstance(v, (str, int)) and k.isupper()}}
    args = [sys.executable, "-m", "flask", "--app", "app", "worker", "--no-cron"] + (["--burst"] if burst else [])
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def job_state(app, job_id):
    with app.app_context():
        job = db.session.scalar(select(ImportJob).where(ImportJob.id == job_id).execution_options(all_stores=True))
        return job.status, job.cursor, job.done, job.created


def test_a_worker_killed_mid_import_then_resumed_makes_each_product_once(worker_app):
    from services import auth as auth_service
    from services import stores as store_service
    from tests.factories import Factory

    app, config = worker_app
    with app.app_context():
        store = store_service.create_store("wc", "From Woo", is_default=True)
        db.session.commit()
        with platform_scope():
            root = auth_service.create_user(username="root", email="root@platform.example", password="x" * 12,
                                            role=Role.SYSADMIN, check_strength=False)
            db.session.commit()
    make = Factory(app)
    headers = make.headers(root, store)
    with FakeWoo(n_products=240) as fake:
        fake.page_delay = 0.6
        client = app.test_client()
        started = client.post("/api/migration/woocommerce/import", headers=headers,
                              json={"store": "wc", "url": fake.url, "consumer_key": fake.key,
                                    "consumer_secret": fake.secret})
        assert started.status_code == 202, started.get_json()
        job_id = started.get_json()["id"]
        first = worker(config, burst=False)
        try:
            deadline = time.monotonic() + 90
            while job_state(app, job_id)[1] < 3:  # the taxonomy and two pages committed
                assert time.monotonic() < deadline, first.stdout.read() if first.poll() is not None else "too slow"
                time.sleep(0.05)
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its work horse, mid-page
            first.wait(10)
        status, cursor, done, created = job_state(app, job_id)
        assert status == "RUNNING" and cursor >= 3 and done == created == 50 * (cursor - 1) < 240

        from tests.api.test_woocommerce_import import silence
        silence(app, store, job_id)  # RQ cannot tell us the worker died; the job's silence does
        resumed = client.post(f"/api/migration/imports/{job_id}/resume", headers=headers)
        assert resumed.status_code == 202
        fake.page_delay = 0
        second = worker(config, burst=True)
        output, _ = second.communicate(timeout=180)
        assert second.returncode == 0, output
    status, cursor, done, created = job_state(app, job_id)
    assert (status, done, created) == ("DONE", 240, 240), output
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Product)) == 240
        assert db.session.scalar(select(func.count(func.distinct(Product.title)))) == 240
        assert db.session.scalar(select(func.count()).select_from(Variant)) == fake.variant_count
