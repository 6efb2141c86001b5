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


def start_cron(app: Flask) -> None:
    from rq.cron import CronScheduler

    from jobs import func_path
    from jobs.runner import redis_connection, run

    scheduler = CronScheduler(connection=redis_connection(app), name="virtual-stores-cron")
    for fn, queue_name, interval in PERIODIC:
        scheduler.register(run, queue_name, args=(func_path(fn), None, [], {}), interval=interval,
                           name=fn.__name__)
    scheduler.start()
