"""Background jobs: queued only once the transaction that caused them has committed.

``enqueue_after_commit(fn, *args, queue="default", **kwargs)`` records the job on the
current session. When that session commits, each job goes to RQ (``REDIS_URL`` set) or,
without Redis, runs inline right after the commit in a fresh app context and session.
A rollback drops the jobs, so a failed request sends nothing.
Jobs run inside ``tenant_scope`` of the store that was bound when they were enqueued.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from tenancy import bound_scope

log = logging.getLogger(__name__)
QUEUES = ("default", "emails", "webhooks")
_KEY = "after_commit_jobs"


@dataclass
class PendingJob:
    func_path: str
    args: tuple
    kwargs: dict
    queue: str
    scope: str | None
    options: dict = field(default_factory=dict)


def func_path(fn) -> str:
    return fn if isinstance(fn, str) else f"{fn.__module__}.{fn.__qualname__}"


def enqueue_after_commit(fn, *args, queue: str = "default", job_options: dict | None = None, **kwargs) -> None:
    from extensions import db

    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback (or a commit) of this unit of work sees the job
    session.info.setdefault(_KEY, []).append(
        PendingJob(func_path(fn), args, kwargs, queue, bound_scope(), job_options or {})
    )


def pending_jobs(session) -> list[PendingJob]:
    return list(session.info.get(_KEY, []))


@event.listens_for(Session, "after_commit")
def _dispatch(session) -> None:
    jobs = session.info.pop(_KEY, None)
    if not jobs:
        return
    app = current_app._get_current_object()
    from .runner import dispatch

    for job in jobs:
        dispatch(app, job)


@event.listens_for(Session, "after_transaction_end")
def _drop(session, transaction) -> None:
    # after_commit has already taken the jobs of a committed transaction; anything left
    # when the outermost transaction ends (rollback, close) belongs to work that was undone.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_KEY, None)
