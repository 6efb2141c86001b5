"""Public store information and the health check."""
from __future__ import annotations

import time

from apiflask import APIBlueprint
from flask import current_app, g
from sqlalchemy import text

from extensions import db

from .access import access
from .schemas.store import BrandingOut, PublicConfigOut

bp = APIBlueprint("api_public", __name__, url_prefix="/api", tag="Store")


@bp.get("/public/config")
@access("public")
@bp.output(PublicConfigOut)
def public_config():
    """The public store configuration: name, description, enabled payment methods, links,
    review reward, announcement bar and branding."""
    return PublicConfigOut.of(g.store)


@bp.get("/storefront/branding")
@access("public")
@bp.output(BrandingOut)
def storefront_branding():
    """The store's branding for a storefront (the store comes from the host)."""
    return BrandingOut.of(g.store)


@bp.get("/health")
@bp.doc(tags=["Health"], responses={200: "Everything answers", 503: "The database does not answer"})
def health():
    """Health check: the database and Redis (when configured), with their latency."""
    report: dict = {"status": "ok"}
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                              "backend": db.engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        report["database"] = {"status": "error", "error": type(exc).__name__}
        report["status"] = "error"
    if current_app.config.get("REDIS_URL"):
        from jobs.runner import redis_connection

        started = time.perf_counter()
        try:
            redis_connection(current_app).ping()
            report["redis"] = {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        except Exception as exc:  # noqa: BLE001
            report["redis"] = {"status": "error", "error": type(exc).__name__}
            report["status"] = "degraded" if report["status"] == "ok" else report["status"]
    else:
        report["redis"] = {"status": "not_configured", "jobs": "inline"}
    return report, (503 if report["database"]["status"] != "ok" else 200)
