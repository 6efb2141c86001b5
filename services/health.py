"""The platform's health: does the database answer, does Redis (when configured), and how fast."""
from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import text

from extensions import db
from transactions import redis_connection


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
