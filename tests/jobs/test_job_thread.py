"""After-commit jobs without Redis run on the in-process worker thread (transactions.JobThread),
after the request has answered; with Redis the request only queues them (no email rendered)."""
from __future__ import annotations

import threading

from redis import Redis
from rq import Queue

import jobs.emails
import transactions
from extensions import db
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.conftest import port_open, service_missing

released = threading.Event()
ran: list[str] = []


def slow_job(tag: str) -> None:
    released.wait(10)
    ran.append(f"{tag}@{threading.current_thread().name}")


def failing_job() -> None:
    raise RuntimeError("this job fails")


def test_a_committed_job_runs_on_the_worker_thread_after_the_commit_returned(app, store):
    released.clear()
    ran.clear()
    app.config["JOBS_WAIT"] = False
    try:
        with app.app_context():
            transactions.enqueue_after_commit("tests.jobs.test_job_thread.slow_job", "first")
            db.session.commit()  # returns at once: the job waits on the worker thread
            assert ran == []
            released.set()
            assert transactions.drain_jobs(timeout=10)
        assert ran == ["first@after-commit-jobs"]
    finally:
        app.config["JOBS_WAIT"] = True
        released.set()


def test_a_failing_job_is_logged_and_the_next_one_still_runs(app, store, caplog):
    released.set()
    ran.clear()
    with app.app_context():
        transactions.enqueue_after_commit("tests.jobs.test_job_thread.failing_job")
        transactions.enqueue_after_commit("tests.jobs.test_job_thread.slow_job", "second")
        db.session.commit()
    assert ran == ["second@after-commit-jobs"]
    assert any("failing_job failed on the worker thread" in r.getMessage() for r in caplog.records)


def test_a_rolled_back_job_never_reaches_the_thread(app, store):
    ran.clear()
    with app.app_context():
        transactions.enqueue_after_commit("tests.jobs.test_job_thread.slow_job", "undone")
        db.session.rollback()
        assert transactions.drain_jobs(timeout=10)
    assert ran == []


def test_the_checkout_answers_before_its_email_and_the_email_follows(app, client, shop, mail_outbox):
    app.config["JOBS_WAIT"] = False
    try:
        client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
        placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
        assert placed.status_code == 201, placed.get_json()
        assert transactions.drain_jobs(timeout=10)
    finally:
        app.config["JOBS_WAIT"] = True
    assert [m.to for m in mail_outbox] == [[shop.buyer.email]]


def test_with_redis_the_checkout_renders_no_email(app, client, shop, monkeypatch):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from tests.conftest import REDIS_TEST_URL

    connection = Redis.from_url(REDIS_TEST_URL)
    connection.flushdb()

    def no_rendering(*_a, **_k):
        raise AssertionError("an email was rendered inside the request")

    monkeypatch.setattr(jobs.emails, "render_email", no_rendering)
    old = app.config["REDIS_URL"], app.config["JOBS_INLINE"], app.extensions.pop("redis", None)
    app.config["REDIS_URL"], app.config["JOBS_INLINE"] = REDIS_TEST_URL, False
    try:
        client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
        placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
        assert placed.status_code == 201, placed.get_json()
        queued = Queue("emails", connection=connection).jobs
        assert ("jobs.emails.send_order_email", [placed.get_json()["id"]]) in [(j.args[0], j.args[2]) for j in queued]
    finally:
        app.config["REDIS_URL"], app.config["JOBS_INLINE"] = old[0], old[1]
        app.extensions.pop("redis", None)
        if old[2] is not None:
            app.extensions["redis"] = old[2]
        connection.flushdb()
