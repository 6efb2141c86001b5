"""Periodic jobs, run by the worker's cron thread (``flask --app app worker``)."""
from __future__ import annotations

import logging
import time

from flask import Flask

from services import auth, orders, reviews, stores, topups
from tenancy import tenant_scope
from transactions import enqueue_after_commit, redis_connection, send_to_rq

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


def start_cron(app: Flask, *, tick: float = 5.0) -> None:
    """The worker's periodic-jobs thread (RQ's own cron scheduler needs the main thread)."""
    while True:
        try:
            for name in enqueue_due(app):
                log.info("periodic job %s enqueued", name)
        except Exception:  # noqa: BLE001 - a Redis hiccup must not kill the thread
            log.exception("periodic jobs: enqueue failed")
        time.sleep(tick)
