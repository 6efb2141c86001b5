"""Moving a store in (Seed A "Migration"), SYSADMIN only: a WooCommerce import into any store, run
as a job with progress. Storeless paths (``web.STORELESS_PREFIXES``): the body names the store.

`GET /api/migration/imports/{id}` and `POST /api/migration/imports/{id}/resume` are not rows of
the spec; they are how the import's progress is seen and an interrupted one is finished.
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import migration as migration_service

from .access import access, require_user
from .schemas.migration import ImportJobOut, WooImportIn

bp = APIBlueprint("api_migration", __name__, url_prefix="/api/migration", tag="Migration")


@bp.post("/woocommerce/import")
@access("sysadmin")
@bp.input(WooImportIn, arg_name="body")
@bp.output(ImportJobOut, status_code=202)
@bp.doc(responses={404: "No such store (`tenant_not_found`)", 422: "Invalid url or credentials"})
def woocommerce_import(body: WooImportIn):
    """Import a WooCommerce store's catalogue (REST API v3) into `store`: categories with their tree,
    tags, attributes, products (variable ones with a variant per variation, simple ones with one),
    prices, stock counts (physical) and images. Runs as a job: follow it at
    `GET /api/migration/imports/{id}`. Idempotent: running it again updates what it imported
    (keyed on the WooCommerce ids) and counts created, updated and skipped; `dry_run` reports them
    and writes nothing."""
    return migration_service.start_woocommerce_import(**body.model_dump(), actor_id=require_user().id)


@bp.get("/imports/<job_id>")
@access("sysadmin")
@bp.output(ImportJobOut)
@bp.doc(responses={404: "No such import (`import_not_found`)"})
def import_status(job_id: str):
    """An import's progress (`done` of `total`, `percent`), its counts and the problems found
    (a product skipped and why, an image that could not be used)."""
    return migration_service.job_view(migration_service.get_job(job_id, any_store=True))


@bp.post("/imports/<job_id>/resume")
@access("sysadmin")
@bp.output(ImportJobOut, status_code=202)
@bp.doc(responses={404: "No such import (`import_not_found`)", 422: "The import is done (`import_done`)",
                    409: "Queued, or running with progress in the last 10 minutes (`import_running`)"})
def resume_import(job_id: str):
    """Run an interrupted or failed WooCommerce import again: it goes on after its last committed batch."""
    return migration_service.resume(job_id)
