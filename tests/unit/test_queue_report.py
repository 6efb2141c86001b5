"""The RQ queues as operators see them (services.health: queue_report, failed_jobs, retry_failed),
against the real Redis on 127.0.0.1:6379, database 14 (used by nothing else; emptied before and
after). A real RQ worker (SimpleWorker, in this process) fails the jobs."""
from __future__ import annotations

import pytest
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker

from jobs import runner
from services import health
from services.errors import NotFound, Unavailable
from tests.conftest import port_open, service_missing
from transactions import QUEUES, RQ_ENTRY_POINT

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_app(monkeypatch):
    """The services need only the app's config (REDIS_URL) and its Redis connection. No worker
    app in this process (an earlier test may have set one), so every job this worker runs fails."""
    monkeypatch.setattr(runner, "_worker_app", None)
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    app = Flask(__name__)
    app.config["REDIS_URL"] = REDIS_URL
    try:
        with app.app_context():
            yield connection
    finally:
        connection.flushdb()
        connection.close()


def _fail_one(connection, queue_name: str, path: str) -> str:
    """Enqueue a job through our entry point and let a real worker run it: it fails (this process
    has no worker app), so RQ puts it in the queue's FailedJobRegistry."""
    job = Queue(queue_name, connection=connection).enqueue(RQ_ENTRY_POINT, path, "store-1", [7], {})
    SimpleWorker([Queue(queue_name, connection=connection)], connection=connection).work(burst=True)
    return job.id


def _by_name(report: dict) -> dict:
    return {queue["name"]: queue for queue in report["queues"]}


def test_the_report_counts_waiting_and_failed_jobs_per_queue(redis_app):
    empty = health.queue_report()
    assert empty["redis"] == "ok" and [q["name"] for q in empty["queues"]] == list(QUEUES)
    assert all(q["queued"] == q["failed"] == q["started"] == q["scheduled"] == 0 for q in empty["queues"])

    failed_id = _fail_one(redis_app, "webhooks", "jobs.webhooks.process_event")
    emails = Queue("emails", connection=redis_app)
    for n in range(3):
        emails.enqueue(RQ_ENTRY_POINT, "jobs.emails.send_order_email", "store-1", [n], {})

    queues = _by_name(health.queue_report())
    assert (queues["emails"]["queued"], queues["emails"]["failed"]) == (3, 0)
    assert (queues["webhooks"]["queued"], queues["webhooks"]["failed"]) == (0, 1)
    assert (queues["default"]["queued"], queues["default"]["failed"]) == (0, 0)

    (listed,) = health.failed_jobs("webhooks")
    assert listed["id"] == failed_id and listed["job"] == "jobs.webhooks.process_event"
    assert listed["scope"] == "store-1" and listed["ended_at"] is not None
    assert listed["error"] == "RuntimeError: No app for this worker: start workers with 'flask --app app worker'"
    assert health.failed_jobs("emails") == []


def test_retry_puts_a_failed_job_back_on_its_queue(redis_app):
    failed_id = _fail_one(redis_app, "default", "jobs.schedule.expire_orders")
    assert _by_name(health.queue_report())["default"]["failed"] == 1

    answer = health.retry_failed("default", failed_id)
    assert answer == {"id": failed_id, "queue": "default", "status": "queued"}
    queues = _by_name(health.queue_report())
    assert (queues["default"]["queued"], queues["default"]["failed"]) == (1, 0)
    assert Queue("default", connection=redis_app).job_ids == [failed_id]

    with pytest.raises(NotFound) as again:  # no longer failed: nothing to retry
        health.retry_failed("default", failed_id)
    assert again.value.code == "job_not_found"


def test_retry_refuses_unknown_queues_and_jobs(redis_app):
    failed_id = _fail_one(redis_app, "emails", "jobs.emails.send_order_email")
    with pytest.raises(NotFound) as unknown_queue:
        health.retry_failed("bulk", failed_id)
    assert unknown_queue.value.code == "queue_not_found"
    with pytest.raises(NotFound) as wrong_queue:  # the job failed on emails, not on default
        health.retry_failed("default", failed_id)
    assert wrong_queue.value.code == "job_not_found"
    with pytest.raises(NotFound):
        health.retry_failed("emails", "no-such-job")
    assert _by_name(health.queue_report())["emails"]["failed"] == 1  # nothing moved


def test_without_redis_there_are_no_queues():
    app = Flask(__name__)
    app.config["REDIS_URL"] = None
    with app.app_context():
        assert health.queue_report() == {"redis": "not_configured", "queues": []}
        with pytest.raises(Unavailable):
            health.retry_failed("default", "x")
