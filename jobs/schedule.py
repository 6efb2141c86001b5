"""Periodic jobs, run by the worker's cron thread (``flask --app app worker``)."""
from __future__ import annotations

from flask import Flask


def purge_revoked_tokens() -> int:
    from services.auth import purge_revoked_tokens as purge

    return purge()


def expire_orders() -> int:
    """Expire unpaid orders past their time in every active store, releasing their stock."""
    from sqlalchemy import select

    from extensions import db
    from models import Store
    from services.orders import expire_due
    from tenancy import tenant_scope

    total = 0
    for store_id in list(db.session.scalars(select(Store.id).where(Store.status == "active"))):
        with tenant_scope(store_id):
            total += expire_due()
            db.session.commit()
    return total


# (function, queue, interval in seconds). Functions run through jobs.runner.run in platform scope.
PERIODIC = [
    (purge_revoked_tokens, "default", 3600),
    (expire_orders, "default", 60),
]


def enqueue_due(app: Flask) -> list[str]:
    """Enqueue each periodic job whose interval has passed. A Redis key (SET NX EX) makes it once
    per interval across every worker process, however many run this loop."""
    from jobs import func_path
    from jobs.runner import queue, redis_connection, run

    conn = redis_connection(app)
    started = []
    for fn, queue_name, interval in PERIODIC:
        if conn.set(f"vstores:periodic:{fn.__name__}", "1", nx=True, ex=interval):
            queue(app, queue_name).enqueue(run, func_path(fn), None, [], {}, job_timeout=300)
            started.append(fn.__name__)
    return started


def start_cron(app: Flask, *, tick: float = 5.0) -> None:
    """The worker's periodic-jobs thread (RQ's own cron scheduler needs the main thread)."""
    import logging
    import time

    log = logging.getLogger("jobs.schedule")
    while True:
        try:
            for name in enqueue_due(app):
                log.info("periodic job %s enqueued", name)
        except Exception:  # noqa: BLE001 - a Redis hiccup must not kill the thread
            log.exception("periodic jobs: enqueue failed")
        time.sleep(tick)
