"""Periodic jobs, run by the worker's cron thread (``flask --app app worker``), and the reaper of
jobs whose worker died mid-job (``requeue_abandoned``), run by the same thread.

With many workers on many machines each runs this thread: a Redis key set with NX and an expiry
(``enqueue_due``) makes each periodic job start once per interval across all of them, and another
(``requeue_abandoned``) lets one worker at a time reap."""
from __future__ import annotations

import logging
import time

from flask import Flask
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from services import auth, orders, reviews, stores, topups
from tenancy import tenant_scope
from transactions import QUEUES, enqueue_after_commit, queue, redis_connection, send_to_rq

log = logging.getLogger(__name__)


def purge_revoked_tokens() -> int:
    return auth.purge_revoked_tokens()


def expire_orders() -> int:
    """Fan out: one ``expire_store_orders`` job per active store, each in its own store scope
    and its own transaction (queued when this job commits)."""
    store_ids = stores.active_store_ids()
    for store_id in store_ids:
        with tenant_scope(store_id):
            enqueue_after_commit("jobs.schedule.expire_store_orders", queue="default")
    return len(store_ids)


def expire_store_orders() -> int:
    """Expire the bound store's unpaid orders past their time, releasing their stock, and its
    top-ups left unpaid for a day."""
    expired = orders.expire_due()
    topups.expire_stale()
    return expired


def enforce_ratings() -> int:
    """Fan out: one ``enforce_store_ratings`` job per active store (each in its own scope and
    transaction)."""
    store_ids = stores.active_store_ids()
    for store_id in store_ids:
        with tenant_scope(store_id):
            enqueue_after_commit("jobs.schedule.enforce_store_ratings", queue="default")
    return len(store_ids)


def enforce_store_ratings() -> int:
    """The bound store's enforced ratings: an automatic 5-star review for each COMPLETED order
    left unreviewed past its feedback window (when the store has ``enforced_ratings`` on)."""
    return reviews.enforce_ratings()


# (function, queue, interval in seconds). Functions run through jobs.runner.run in platform scope.
PERIODIC = [
    (purge_revoked_tokens, "default", 3600),
    (expire_orders, "default", 60),
    (enforce_ratings, "default", 3600),
]


def enqueue_due(app: Flask) -> list[str]:
    """Enqueue each periodic job whose interval has passed. A Redis key (SET NX EX) makes it once
    per interval across every worker process, however many run this loop."""
    conn = redis_connection(app)
    started = []
    for fn, queue_name, interval in PERIODIC:
        if conn.set(f"vstores:periodic:{fn.__name__}", "1", nx=True, ex=interval):
            send_to_rq(app, queue_name, f"{fn.__module__}.{fn.__name__}", None, job_timeout=300)
            started.append(fn.__name__)
    return started


def requeue_abandoned(app: Flask, *, every: float = 5.0) -> list[str]:
    """Put back on its queue, at the front, every job whose worker died while running it: its
    StartedJobRegistry entry stopped being refreshed and expired (``jobs.runner.AppWorker``).

    A job that did not fail is not made to wait out its retry interval (RQ's own registry cleanup
    schedules it like a failure, and only the worker holding the scheduler lock, which may be the
    dead one for a minute, would move it); each requeue still uses up one of its retries, so a job
    that kills its worker every time ends in the failed registry. Safe because every job is one
    transaction that the dead worker never committed, and jobs are written to be run again
    (webhooks lock their event, emails and payments check what is done). Once per ``every``
    seconds across all workers (a Redis lock)."""
    conn = redis_connection(app)
    if not conn.set("vstores:reaper", "1", nx=True, ex=max(1, int(every))):
        return []
    requeued = []
    for name in QUEUES:
        q = queue(app, name)
        registry = q.started_job_registry
        # entries are "<job id>:<execution id>", scored by when they stop being refreshed
        for entry in conn.zrangebyscore(registry.key, 0, time.time()):
            job_id = registry.parse_job_id(entry)
            try:
                job = Job.fetch(job_id, connection=conn)
            except NoSuchJobError:
                continue
            if job.get_status(refresh=False) != JobStatus.STARTED or not job.retries_left:
                continue  # finished meanwhile, or out of retries (RQ's cleanup below fails it)
            with conn.pipeline() as pipe:
                job.retries_left -= 1
                q.enqueue_job(job, pipeline=pipe, at_front=True)
                pipe.zrem(registry.key, entry)
                pipe.execute()
            log.warning("job %s (%s) requeued: its worker died while running it", job.id, job.args[:1])
            requeued.append(job.id)
        registry.cleanup()  # what is left expired: out of retries -> the failed registry
    return requeued


def start_cron(app: Flask, *, tick: float = 5.0) -> None:
    """The worker's periodic-jobs thread (RQ's own cron scheduler needs the main thread): starts
    the periodic jobs when due and requeues abandoned jobs."""
    tick = float(app.config.get("RQ_CRON_TICK_SECONDS") or tick)
    while True:
        try:
            for name in enqueue_due(app):
                log.info("periodic job %s enqueued", name)
            requeue_abandoned(app, every=tick)
        except Exception:  # noqa: BLE001 - a Redis hiccup must not kill the thread
            log.exception("periodic jobs: enqueue failed")
        time.sleep(tick)
