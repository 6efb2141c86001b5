"""Running jobs: inline after commit, or on an RQ worker with the app context."""
from __future__ import annotations

import importlib
import logging
import os

from flask import Flask
from redis import Redis
from rq import Queue, Retry

from tenancy import PLATFORM, platform_scope, tenant_scope

log = logging.getLogger(__name__)
_worker_app: Flask | None = None
_engine_pid: int | None = None


def redis_connection(app: Flask) -> Redis:
    conn = app.extensions.get("redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["redis"] = conn
    return conn


def queue(app: Flask, name: str) -> Queue:
    return Queue(name, connection=redis_connection(app))


def dispatch(app: Flask, job) -> None:
    if app.config.get("JOBS_INLINE"):
        _run_inline(app, job)
        return
    options = {"retry": Retry(max=3, interval=[10, 60, 300]), "job_timeout": 300, **job.options}
    queue(app, job.queue).enqueue(run, job.func_path, job.scope, list(job.args), job.kwargs, **options)


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _execute(app: Flask, path: str, scope: str | None, args, kwargs):
    from extensions import db

    fn = _resolve(path)
    with app.app_context():
        ctx = platform_scope() if scope in (None, PLATFORM) else tenant_scope(scope)
        with ctx:
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise


def _run_inline(app: Flask, job) -> None:
    try:
        _execute(app, job.func_path, job.scope, job.args, job.kwargs)
    except Exception:  # noqa: BLE001 - an inline job failing must not fail the request that committed
        log.exception("inline job %s failed", job.func_path)


def set_worker_app(app: Flask) -> None:
    global _worker_app, _engine_pid
    _worker_app = app
    _engine_pid = os.getpid()


def run(path: str, scope: str | None, args: list, kwargs: dict):
    """The RQ entry point for every job."""
    global _worker_app, _engine_pid
    if _worker_app is None:
        from app import create_app

        set_worker_app(create_app())
    if _engine_pid != os.getpid():
        # A forked work horse must not reuse the parent's pooled connections.
        from extensions import db

        with _worker_app.app_context():
            db.engine.dispose(close=False)
        _engine_pid = os.getpid()
    return _execute(_worker_app, path, scope, args, kwargs)
