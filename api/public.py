"""Public store information and the health check."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import health as health_service

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
    report = health_service.report()
    return report, (503 if report["database"]["status"] != "ok" else 200)
