"""Public store information and the health checks (liveness, readiness)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import health as health_service

from .access import access
from .schemas.store import BrandingOut, PublicConfigOut

bp = APIBlueprint("api_public", __name__, url_prefix="/api", tag="Store")

_PART = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "description": "ok, error, or for Redis not_configured (jobs run inline)"},
    "latency_ms": {"type": "number"}, "backend": {"type": "string"}, "error": {"type": "string"},
    "jobs": {"type": "string"}}}
# services.health.report, for 200 and 503 alike (a 503 is the same report, not the error envelope)
HEALTH = {"application/json": {"schema": {
    "type": "object", "required": ["status", "database", "redis"],
    "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "error"]}, "database": _PART, "redis": _PART},
}}}


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
@bp.doc(tags=["Health"], responses={200: {"description": "The database answers (Redis may not: `degraded`)",
                                          "content": HEALTH},
                                     503: {"description": "The database does not answer", "content": HEALTH}})
def health():
    """Health check: the database and Redis (when configured), with their latency."""
    report = health_service.report()
    return report, (503 if report["database"]["status"] != "ok" else 200)


_MIGRATIONS = {"type": "object", "required": ["status", "current", "head"], "properties": {
    "status": {"type": "string", "description": "ok when the schema is at the migrations' head"},
    "current": {"type": "array", "items": {"type": "string"}, "description": "the database's revision(s)"},
    "head": {"type": "array", "items": {"type": "string"}, "description": "the code's head revision(s)"},
    "error": {"type": "string"}}}
# services.health.readiness, for 200 and 503 alike
READY = {"application/json": {"schema": {
    "type": "object", "required": ["status", "database", "redis", "migrations"],
    "properties": {"status": {"type": "string", "enum": ["ok", "not_ready"]}, "database": _PART, "redis": _PART,
                   "migrations": _MIGRATIONS},
}}}
LIVE = {"application/json": {"schema": {"type": "object", "required": ["status"],
                                        "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}


@bp.get("/health/live")
@bp.doc(tags=["Health"], responses={200: {"description": "The process answers", "content": LIVE}})
def health_live():
    """Liveness: the process answers requests. Touches neither the database nor Redis (restart
    the process when this fails, not when the database is away)."""
    return {"status": "ok"}


@bp.get("/health/ready")
@bp.doc(tags=["Health"], responses={
    200: {"description": "Ready: the database answers, Redis answers (when configured), the schema is at head",
          "content": READY},
    503: {"description": "Not ready (send no traffic here yet): the same report says which part",
          "content": READY}})
def health_ready():
    """Readiness: the database answers, Redis answers when `REDIS_URL` is set, and the database
    schema is at the migrations' head (`flask db upgrade` has run)."""
    report = health_service.readiness()
    return report, (200 if report["status"] == "ok" else 503)
