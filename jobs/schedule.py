"""Periodic jobs, run by the worker's cron thread (``flask --app app worker``)."""
from __future__ import annotations

from flask import Flask


def purge_revoked_tokens() -> int:
    from services.auth import purge_revoked_tokens as purge

    return purge()


# (function, queue, interval in seconds). Functions run through jobs.runner.run in platform scope.
PERIODIC = [
    (purge_revoked_tokens, "default", 3600),
]


def start_cron(app: Flask) -> None:
    from rq.cron import CronScheduler

    from jobs import func_path
    from jobs.runner import redis_connection, run

    scheduler = CronScheduler(connection=redis_connection(app), name="virtual-stores-cron")
    for fn, queue_name, interval in PERIODIC:
        scheduler.register(run, queue_name, args=(func_path(fn), None, [], {}), interval=interval,
                           name=fn.__name__)
    scheduler.start()
