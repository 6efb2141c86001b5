"""The unit of work: one transaction per request and per job, and what runs after it commits.

* **Requests** (``request_transaction``, wrapped around every view by ``app.App``): the view runs,
  and when it returns normally the session commits once; any exception rolls it back before the
  error handlers answer. Views never call ``commit()``.
* **Jobs** (``execute``): the same rule around one job, inside the scope of its store.
* **After commit** (``enqueue_after_commit``): a job is recorded on the session by its dotted
  name and sent to RQ (``REDIS_URL`` set) or run inline only once the transaction that caused it
  committed. A rollback drops it, so a refused request sends nothing. Naming jobs by their dotted
  path keeps this module (and the services that call it) free of imports of ``jobs``.
  ``on_commit(fn, *args)`` is the same for a small step that must run in this process (deleting
  an uploaded file from this host's disk once the row that named it is gone).
* **Without Redis** (``JOBS_INLINE``, the embedded default) jobs run in this process, on one
  daemon worker thread (``JobThread``, ``JOBS_THREAD``), so the shopper's request answers
  without waiting for them; each job still runs after the commit, in its own app context, store
  scope and unit of work (``execute``). The queue is drained at exit; tests wait for it after
  each dispatch (``JOBS_WAIT``), so a test sees a request's emails once the request returns.
* **Early commits**, the only two: ``write_lock()`` (a GET about to write on SQLite) and
  ``commit_early(reason)`` (a refusal whose side effect the caller must keep, e.g. a checkout
  refused for changed prices records that the shopper has now seen them).
* **SQLite begin mode**: requests with unsafe methods take the write lock up front
  (``BEGIN IMMEDIATE``), so two writers never deadlock on a lock upgrade; GET/HEAD/OPTIONS begin
  deferred so reads never queue behind writers. PostgreSQL needs none of this.
"""
from __future__ import annotations

import atexit
import importlib
import logging
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from extensions import db
from tenancy import PLATFORM, bound_scope, platform_scope, tenant_scope

log = logging.getLogger(__name__)

sqlite_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=True)
QUEUES = ("default", "emails", "webhooks")
RQ_ENTRY_POINT = "jobs.runner.run"  # every RQ job runs through it (jobs/runner.py)
_KEY = "after_commit_jobs"
_COMMITTED = "committed_jobs"


# --- the request boundary ------------------------------------------------------------------

def begin_request(method: str, view=None):
    """Choose how a request begins; returns the token ``end_request`` resets. A GET (or a view
    marked ``begins_deferred``) reads until it calls ``write_lock()``: on SQLite its transaction
    begins without the write lock; on PostgreSQL its reads run in autocommit (``read_in_autocommit``)."""
    deferred = method in ("GET", "HEAD", "OPTIONS") or getattr(view, "_begins_deferred", False)
    return sqlite_immediate.set(not deferred)


def reads_in_autocommit(view):
    """Mark a GET view that reads (the shop's catalog pages, the product lists): on PostgreSQL its
    statements run in autocommit (``read_in_autocommit``). Only views that take no savepoint
    before ``write_lock()``: PostgreSQL refuses a SAVEPOINT outside a transaction."""
    view._reads_in_autocommit = True
    return view


def read_in_autocommit(view=None) -> bool:
    """PostgreSQL, a GET of a view marked ``reads_in_autocommit``: its statements run in autocommit,
    one round trip each, instead of BEGIN, the statements and a ROLLBACK or COMMIT (two round trips
    more a request, 0.3-0.4 ms on loopback). Under READ COMMITTED each statement sees its own
    snapshot either way, so the reads see what they saw before. ``write_lock()`` ends it before the
    request writes (the product page counting its view). Not when the session is bound to a
    connection already in a transaction (the test harness's rolled-back one)."""
    if sqlite_immediate.get() or not getattr(view, "_reads_in_autocommit", False):
        return False
    bind = db.session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return False
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return True


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


def check_write(statement: str) -> None:
    """A statement about to run (the engines' ``before_cursor_execute``, app.py): a write while the
    request has not called ``write_lock()`` is a bug. On SQLite it may fail with "database is
    locked" under load; on PostgreSQL it would commit at once, alone (autocommit reads). Refused
    in tests (``TESTING``), logged in production."""
    if sqlite_immediate.get() or not statement.lstrip()[:6].upper().startswith(_WRITES):
        return
    message = f"a request wrote without write_lock() first: {statement[:120]!r}"
    if current_app and current_app.config.get("TESTING"):
        raise RuntimeError(message)
    log.error(message)


def begins_deferred(view):
    """Mark a view whose slow part comes before its writes (decoding an uploaded image): on
    SQLite it begins without the write lock, and its service takes it with ``write_lock()``
    right before writing, so the lock is held for milliseconds, not for the decoding. A job may be
    marked too (``execute``): one that only reads, such as an email, never holds the lock."""
    view._begins_deferred = True
    return view


def end_request(token) -> None:
    sqlite_immediate.reset(token)


@contextmanager
def request_transaction() -> Iterator[None]:
    """Commit once when the view returns normally; roll back on any exception (which then goes
    on to the error handlers: the JSON envelope for the API, an error page or form for pages)."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def write_lock() -> bool:
    """Early commit 1. Call before a GET writes (merging a guest cart, logging a first reveal).

    A deferred SQLite transaction that later writes cannot always upgrade: when another connection
    committed since it began, SQLite answers "database is locked" at once, without waiting. So end
    the read transaction (nothing was written yet) and let the rest of the request begin IMMEDIATE,
    like a POST. Returns True when it ended a transaction (loaded rows may need a reload).
    """
    if sqlite_immediate.get():  # a POST, a job, or already switched
        return False
    bind = db.session.get_bind()
    ended = bind.dialect.name == "sqlite" or _in_autocommit()
    if ended:  # SQLite's read transaction, PostgreSQL's autocommit reads: the writes begin anew
        _not_in_savepoint("write_lock")
        db.session.commit()
    sqlite_immediate.set(True)  # the request's end resets it with the token it took first
    return ended


def _in_autocommit() -> bool:
    """Whether the session's connection is in ``read_in_autocommit``'s mode."""
    session = db.session()
    if not session.in_transaction():
        return False
    connection = session.connection()
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def commit_early(reason: str) -> None:
    """Early commit 2: keep what this request wrote although it is about to answer with an error.
    ``reason`` says why, for the log and for the reader."""
    _not_in_savepoint("commit_early")
    log.debug("early commit: %s", reason)
    db.session.commit()


_waiting_writers = 0  # this process's threads waiting in SQLite's BEGIN IMMEDIATE right now
_waiting_lock = threading.Lock()
HANDOFF_SECONDS = 0.25  # the most a long write waits at a chunk boundary for the writers it let in


@contextmanager
def waiting_for_write_lock() -> Iterator[None]:
    """Count a thread while it waits for SQLite's write lock (``BEGIN IMMEDIATE``, app.py)."""
    global _waiting_writers
    with _waiting_lock:
        _waiting_writers += 1
    try:
        yield
    finally:
        with _waiting_lock:
            _waiting_writers -= 1


def yield_write_lock() -> bool:
    """Early commit 3: between the chunks of a long write (a stock import), on SQLite, end the
    transaction so that other writers (any store's carts) get their turn; the next statement
    takes the write lock again. PostgreSQL locks rows, not the database: nothing to yield there.

    A waiting writer sits in SQLite's busy handler, which retries after sleeps of up to 100 ms: had
    the long write taken the lock straight back, that writer could miss chunk after chunk. So when
    this process has writers waiting (the embedded default is one process of threads), the long
    write pauses until they have the lock, at most ``HANDOFF_SECONDS`` a boundary; nobody waiting,
    it goes straight on."""
    if db.session.get_bind().dialect.name != "sqlite":
        return False
    _not_in_savepoint("yield_write_lock")
    db.session.commit()
    deadline = time.monotonic() + HANDOFF_SECONDS
    while _waiting_writers and time.monotonic() < deadline:
        time.sleep(0.002)
    return True


def record_failure(fn: Callable, *args) -> None:
    """A job that raised: undo its work, then write down why in a transaction of its own
    (committed at once), so the failure shows while the queue retries. The one other early
    commit of a job; ``fn`` must only record (the webhook inspector's FAILED row)."""
    db.session.rollback()
    try:
        fn(*args)
        db.session.commit()
    except Exception:  # noqa: BLE001 - recording must not hide the original error
        db.session.rollback()
        log.exception("could not record the failure of %s", getattr(fn, "__qualname__", fn))


def _not_in_savepoint(what: str) -> None:
    # Inside a savepoint (web.form_errors, checkout) a commit would end the whole transaction and
    # take away the savepoint's undo: refuse loudly instead.
    if db.session().in_nested_transaction():
        raise RuntimeError(f"{what}() inside a savepoint would commit the whole transaction")


# --- jobs after commit -----------------------------------------------------------------------

@dataclass
class PendingJob:
    func_path: str
    args: tuple
    kwargs: dict
    queue: str
    scope: str | None
    options: dict = field(default_factory=dict)
    transaction: object = field(default=None, repr=False)  # the innermost SessionTransaction when queued
    call: Callable | None = field(default=None, repr=False)  # on_commit: run here, not as a job


def _record(job: PendingJob) -> None:
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback (or a commit) of this unit of work sees the job
    job.transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEY, []).append(job)


def on_commit(fn: Callable, *args) -> None:
    """Call ``fn(*args)`` in this process once this unit of work commits (never if it rolls back)."""
    _record(PendingJob(getattr(fn, "__qualname__", "call"), args, {}, "default", bound_scope(), call=fn))


def enqueue_after_commit(func_path: str, *args, queue: str = "default", job_options: dict | None = None,
                         **kwargs) -> None:
    """Queue the job ``func_path`` (``"jobs.emails.send_order_email"``) once this unit of work commits."""
    if not isinstance(func_path, str) or "." not in func_path:
        raise TypeError("name the job by its dotted path, e.g. 'jobs.emails.send_order_email'")
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    _record(PendingJob(func_path, args, kwargs, queue, bound_scope(), job_options or {}))


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its jobs wait for the real commit
    jobs = session.info.pop(_KEY, None)
    if jobs:
        # committed: they go once the transaction has ended and given its connection back
        # (an inline job opens its own; holding two per request would drain the pool under load)
        session.info.setdefault(_COMMITTED, []).extend(jobs)


def _dispatch_all(jobs: list[PendingJob]) -> None:
    app = current_app._get_current_object()
    for job in jobs:
        # The transaction has committed: whatever happens to one job (Redis down), the others go
        # and the request still answers what it did. A job that cannot be queued is logged.
        try:
            dispatch(app, job)
        except Exception:  # noqa: BLE001
            log.exception("could not queue job %s after commit (its work is committed)", job.func_path)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_savepoint_rollback(session, previous_transaction) -> None:
    # A savepoint rolled back (a refused form, an all-or-nothing checkout): what it queued is undone too.
    jobs = session.info.get(_KEY)
    if jobs and previous_transaction.nested:
        session.info[_KEY] = [job for job in jobs if not _within(job.transaction, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction) -> None:
    # The outermost transaction ended (its connection is back in the pool): jobs of a commit go
    # now; anything still pending belongs to work that was rolled back or closed, and is dropped.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_KEY, None)
        committed = session.info.pop(_COMMITTED, None)
        if committed:
            _dispatch_all(committed)


# --- running jobs ------------------------------------------------------------------------------

def redis_connection(app: Flask) -> Redis:
    conn = app.extensions.get("redis")
    if conn is None:
        conn = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["redis"] = conn
    return conn


def queue(app: Flask, name: str) -> Queue:
    return Queue(name, connection=redis_connection(app))


def send_to_rq(app: Flask, queue_name: str, func_path: str, scope: str | None, args=(), kwargs=None,
               **options) -> None:
    """Put a job on an RQ queue; the worker runs it through ``jobs.runner.run``."""
    queue(app, queue_name).enqueue(RQ_ENTRY_POINT, func_path, scope, list(args), kwargs or {}, **options)


def dispatch(app: Flask, job: PendingJob) -> None:
    if job.call is not None:
        try:
            job.call(*job.args)
        except Exception:  # noqa: BLE001 - the commit stands; a leftover file is only logged
            log.exception("after-commit step %s failed", job.func_path)
        return
    if app.config.get("JOBS_INLINE") and app.config.get("JOBS_THREAD"):
        job_thread.submit(app, job)
        if app.config.get("JOBS_WAIT") and not job_thread.is_current():
            job_thread.drain()
        return
    if app.config.get("JOBS_INLINE"):
        try:
            execute(app, job.func_path, job.scope, job.args, job.kwargs)
        except Exception:  # noqa: BLE001 - an inline job failing must not fail the request that committed
            log.exception("inline job %s failed", job.func_path)
        return
    options = {"retry": Retry(max=3, interval=[10, 60, 300]), "job_timeout": 300, **job.options}
    send_to_rq(app, job.queue, job.func_path, job.scope, job.args, job.kwargs, **options)


def resolve(path: str):
    module, _, name = path.rpartition(".")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def execute(app: Flask, path: str, scope: str | None, args, kwargs):
    """Run one job in its own app context, store scope and unit of work (one commit)."""
    fn = resolve(path)
    # a job marked ``begins_deferred`` (one that only reads: an email) does not take SQLite's write
    # lock for its whole run, so checkouts do not wait while it renders and sends
    immediate = sqlite_immediate.set(not getattr(fn, "_begins_deferred", False))
    try:
        with app.app_context():
            ctx = platform_scope() if scope in (None, PLATFORM) else tenant_scope(scope)
            with ctx:
                try:
                    result = fn(*args, **kwargs)
                except BaseException:
                    db.session.rollback()
                    raise
                db.session.commit()
                return result
    finally:
        sqlite_immediate.reset(immediate)


class JobThread:
    """The embedded job runner: one daemon thread per process taking committed jobs from a
    ``queue.Queue`` and running each through ``execute`` (its own app context, store scope and
    commit), so a request answers before its jobs (the confirmation email) run. Started on the
    first job (and again in a forked child); ``drain()`` waits until the queue is empty, and runs
    at exit so a stopping process finishes what it had committed to do."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue_module.Queue = queue_module.Queue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._atexit = False

    def submit(self, app: Flask, job: PendingJob) -> None:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked worker: its own queue and thread
                self._queue, self._thread, self._pid = queue_module.Queue(), None, os.getpid()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, args=(self._queue,), name="after-commit-jobs",
                                                daemon=True)
                self._thread.start()
            if not self._atexit:
                atexit.register(self.drain, 30.0)
                self._atexit = True
            self._queue.put((app, job))

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    @staticmethod
    def _run(jobs: queue_module.Queue) -> None:
        while True:
            app, job = jobs.get()
            try:
                execute(app, job.func_path, job.scope, job.args, job.kwargs)
            except Exception:  # noqa: BLE001 - a failing job is logged; the next one still runs
                log.exception("job %s failed on the worker thread", job.func_path)
            finally:
                jobs.task_done()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every job submitted so far has run; False when ``timeout`` passed first."""
        jobs = self._queue
        deadline = None if timeout is None else time.monotonic() + timeout
        with jobs.all_tasks_done:
            while jobs.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                jobs.all_tasks_done.wait(remaining)
        return True


job_thread = JobThread()


def drain_jobs(timeout: float | None = None) -> bool:
    """Wait for the embedded worker thread's queue to empty (tests, benches, shutdown)."""
    return job_thread.drain(timeout)
