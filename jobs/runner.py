"""The RQ entry point: every job on a queue is ``run(path, scope, args, kwargs)``.

Workers start with ``flask --app app worker`` (cli.py), which hands this module its app before
the first job; a forked work horse disposes the connections it inherited from the worker. Every log
line of a job carries its ``job_id``, ``job`` (the dotted path) and ``store_id``.
"""
from __future__ import annotations

import os

from flask import Flask
from rq import Worker, get_current_job

from extensions import db
from services import observability
from tenancy import PLATFORM
from transactions import execute

_worker_app: Flask | None = None
_engine_pid: int | None = None


def set_worker_app(app: Flask) -> None:
    global _worker_app, _engine_pid
    _worker_app = app
    _engine_pid = os.getpid()


def run(path: str, scope: str | None, args: list, kwargs: dict):
    global _engine_pid
    if _worker_app is None:
        raise RuntimeError("No app for this worker: start workers with 'flask --app app worker'")
    if _engine_pid != os.getpid():
        # A forked work horse must not reuse the parent's pooled connections.
        with _worker_app.app_context():
            db.engine.dispose(close=False)
        _engine_pid = os.getpid()
    job = get_current_job()
    # On every line of this job, RQ's own "exception raised" or "completed" line after it included
    # (the work horse writes those once this returns); the next job starts from a clean context.
    observability.clear()
    observability.bind(job_id=job.id if job is not None else None, job=path,
                       store_id=scope if scope not in (None, PLATFORM) else None)
    return execute(_worker_app, path, scope, args, kwargs)


def will_retry() -> bool:
    """Inside a job: whether the queue runs it again if it fails now (RQ counts the retries
    left). A job run inline, without Redis, is not retried."""
    job = get_current_job()
    return bool(job is not None and job.retries_left)


class AppWorker(Worker):
    """RQ's worker, with how soon a dead worker's job counts as abandoned set by the app.

    While a job runs, the worker refreshes the job's entry in the queue's StartedJobRegistry every
    ``RQ_JOB_MONITORING_SECONDS``; the entry expires that long plus ``RQ_ABANDONED_GRACE_SECONDS``
    after the last refresh (RQ's fixed grace is 60 s). A worker killed mid-job (SIGKILL, OOM, a lost
    machine) stops refreshing, and once the entry expires ``jobs.schedule.requeue_abandoned``
    (every worker's cron thread) puts the job back on its queue."""

    abandoned_grace = 60

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = job.timeout - working_time
            return int(min(remaining, self.job_monitoring_interval)) + self.abandoned_grace
        return self.job_monitoring_interval + self.abandoned_grace
