"""The platform's health: does the database answer, does Redis (when configured), and how fast;
whether this process is ready to serve (``readiness``: the schema at the migrations' head too);
and the RQ queues as operators see them (``queue_report``, ``failed_jobs``, ``retry_failed``)."""
from __future__ import annotations

import time
from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from sqlalchemy import text

from extensions import db
from transactions import QUEUES, RQ_ENTRY_POINT, redis_connection

from .errors import NotFound, Unavailable


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def report() -> dict:
    """``status`` is ok, degraded (Redis down) or error (the database down), with each part's latency."""
    out: dict = {"status": "ok"}
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        out["database"] = {"status": "ok", "latency_ms": _ms(started), "backend": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        out["database"] = {"status": "error", "error": type(exc).__name__}
        out["status"] = "error"
    if not current_app.config.get("REDIS_URL"):
        out["redis"] = {"status": "not_configured", "jobs": "inline"}
        return out
    started = time.perf_counter()
    try:
        redis_connection(current_app).ping()
        out["redis"] = {"status": "ok", "latency_ms": _ms(started)}
    except Exception as exc:  # noqa: BLE001
        out["redis"] = {"status": "error", "error": type(exc).__name__}
        out["status"] = "degraded" if out["status"] == "ok" else out["status"]
    return out


# --- readiness --------------------------------------------------------------------------------

@cache
def _heads(directory: str) -> tuple[str, ...]:
    """The migrations' head revision(s), read from the scripts once per process (they only change
    with a deploy, which starts new processes)."""
    return tuple(sorted(ScriptDirectory(directory).get_heads()))


def _migrations() -> dict:
    directory = str(Path(current_app.extensions["migrate"].directory))
    head = list(_heads(directory))
    try:
        with db.session.begin_nested():  # a missing table must not spoil the request's transaction
            current = sorted(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:  # noqa: BLE001 - not migrated at all
        return {"status": "error", "error": type(exc).__name__, "current": [], "head": head}
    return {"status": "ok" if current == head else "error", "current": current, "head": head}


def readiness() -> dict:
    """Whether this process can serve: the database answers, Redis answers when it is configured
    (jobs and rate limits need it), and the schema is at the migrations' head. ``status`` is ok
    or not_ready; the parts are ``report``'s, with ``migrations``."""
    out = report()
    out["migrations"] = (_migrations() if out["database"]["status"] == "ok"
                         else {"status": "error", "error": "database unavailable", "current": [], "head": []})
    ready = (out["database"]["status"] == "ok" and out["redis"]["status"] in ("ok", "not_configured")
             and out["migrations"]["status"] == "ok")
    out["status"] = "ok" if ready else "not_ready"
    return out


# --- queues -----------------------------------------------------------------------------------

def _redis():
    if not current_app.config.get("REDIS_URL"):
        raise Unavailable("Redis is not configured (REDIS_URL): jobs run inline, there are no queues",
                          code="queues_not_configured")
    return redis_connection(current_app)


def queue_report() -> dict:
    """Per RQ queue: jobs waiting (``queued``), running (``started``), waiting for their time
    (``scheduled``, retries among them) and ``failed`` (its FailedJobRegistry). Without Redis
    there are no queues (jobs run inline): ``{"redis": "not_configured", "queues": []}``."""
    if not current_app.config.get("REDIS_URL"):
        return {"redis": "not_configured", "queues": []}
    connection = _redis()
    queues = []
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        queues.append({
            "name": name,
            "queued": queue.count,
            "started": queue.started_job_registry.get_job_count(cleanup=False),
            "scheduled": queue.scheduled_job_registry.get_job_count(cleanup=False),
            "failed": queue.failed_job_registry.get_job_count(cleanup=False),
        })
    return {"redis": "ok", "queues": queues}


def _queue_name(name: str) -> str:
    if name not in QUEUES:
        raise NotFound(f"There is no queue {name!r} (queues: {', '.join(QUEUES)})", code="queue_not_found")
    return name


def _last_line(text_: str | None) -> str | None:
    lines = [line for line in (text_ or "").strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def failed_jobs(queue: str, *, limit: int = 50) -> list[dict]:
    """The newest failed jobs of ``queue``: id, the job it ran (our dotted path), its store scope,
    when it ended and the last line of its error."""
    connection = _redis()
    registry = FailedJobRegistry(_queue_name(queue), connection=connection)
    ids = registry.get_job_ids(0, max(limit, 1) - 1, desc=True, cleanup=False)
    out = []
    for job_id, job in zip(ids, Job.fetch_many(ids, connection=connection), strict=True):
        if job is None:
            out.append({"id": job_id, "job": None, "scope": None, "ended_at": None, "error": "job data expired"})
            continue
        runner = job.func_name == RQ_ENTRY_POINT and len(job.args) >= 2
        result = job.latest_result()
        out.append({"id": job_id, "job": job.args[0] if runner else job.func_name,
                    "scope": job.args[1] if runner else None, "ended_at": job.ended_at,
                    "error": _last_line(result.exc_string if result is not None else None)})
    return out


def retry_failed(queue: str, job_id: str) -> dict:
    """Put a failed job of ``queue`` back on it (the sysadmin's "retry"). An id that is not in the
    queue's failed registry is a 404."""
    connection = _redis()
    registry = FailedJobRegistry(_queue_name(queue), connection=connection)
    if job_id not in registry:
        raise NotFound("No failed job with this id in this queue", code="job_not_found")
    try:
        job = registry.requeue(job_id)
    except (InvalidJobOperation, NoSuchJobError) as exc:  # retried meanwhile, or its data expired
        raise NotFound("No failed job with this id in this queue", code="job_not_found") from exc
    return {"id": job.id, "queue": job.origin, "status": JobStatus(job.get_status()).value}
