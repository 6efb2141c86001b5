"""The audit log (Seed A): who changed what, newest first.

``GET /api/admin/audit-log`` (Admin) is the store's log; ``GET /api/sysadmin/audit-log``
(SysAdmin) the platform's (tenant lifecycle, plans, sysadmin users, "act as store"), or every
store's with ``scope=all``. Entries are written by ``services.audit``, never through the API.
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import audit as audit_service

from .access import access
from .schemas.audit import AuditEntryOut, AuditQuery, PlatformAuditQuery
from .schemas.common import page_of

bp = APIBlueprint("api_audit", __name__, url_prefix="/api", tag="Audit log")


@bp.get("/admin/audit-log")
@access("admin")
@bp.input(AuditQuery, location="query", arg_name="query")
@bp.output(page_of(AuditEntryOut))
def store_log(query: AuditQuery):
    """The store's audit log, newest first. Filters: `resource_type`, `action`, `user_id` (the
    actor), `date_from`, `date_to` (ISO dates: whole UTC days). Paginated (`page`, `page_size`).
    Amounts in `changes` are in major units of the entry's `currency`, as everywhere in the API."""
    return AuditEntryOut.page(audit_service.list_entries(page=query.page, page_size=query.page_size,
                                                         **query.filters()))


@bp.get("/sysadmin/audit-log")
@access("sysadmin")
@bp.input(PlatformAuditQuery, location="query", arg_name="query")
@bp.output(page_of(AuditEntryOut))
def platform_log(query: PlatformAuditQuery):
    """The platform's audit log (entries with no store: tenant lifecycle, plans, act as store),
    newest first; `scope=all` adds every store's entries, `store_id` keeps the entries about one
    store. The same filters as the store's log."""
    return AuditEntryOut.page(audit_service.list_platform_entries(scope=query.scope, store_id=query.store_id,
                                                                  page=query.page, page_size=query.page_size,
                                                                  **query.filters()), all_stores=True)
