"""The platform's floor above the stores (Seed A "SysAdmin", "Tenant Provisioning"), SYSADMIN only:
tenants (create with a first admin, list with numbers, read, change, suspend, activate, soft-delete,
restore), the platform dashboard, and the plans and addons the platform sells.

These paths are storeless (``web.STORELESS_PREFIXES``): they answer whatever the state of the store
the request's host would name. Every cross-store read is ``services.tenants``'s, with the visible
``all_stores=True`` escape.
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import plans as plan_service
from services import tenants as tenant_service
from services.money import to_major
from services.pagination import paginate_list

from .access import access
from .schemas.common import PageQuery, page_of
from .schemas.plans import AddonIn, AddonOut, AddonUpdateIn, PlanIn, PlanOut, PlanUpdateIn
from .schemas.sysadmin import (
    DashboardOut,
    TenantCreatedOut,
    TenantDetailOut,
    TenantIn,
    TenantOut,
    TenantQuery,
    TenantUpdateIn,
    TenantUserOut,
    UsersQuery,
)

bp = APIBlueprint("api_sysadmin", __name__, url_prefix="/api/sysadmin", tag="SysAdmin")

NOT_FOUND = {404: "No such store (`tenant_not_found`)"}


def _detail(store) -> TenantDetailOut:
    d = tenant_service.tenant_detail(store)
    base = TenantOut.of(d["store"], d["plan_name"], d["stats"]).model_dump()
    return TenantDetailOut(**base, description=store.description, locale=d["settings"].locale,
                           timezone=d["settings"].timezone, plan=PlanOut.of(d["plan"]) if d["plan"] else None,
                           addons=[AddonOut.of(a) for a in d["addons"]], features=d["features"],
                           users_by_role=d["users_by_role"])


@bp.get("/tenants")
@access("sysadmin")
@bp.input(TenantQuery, location="query", arg_name="query")
@bp.output(page_of(TenantOut))
def list_tenants(query: TenantQuery):
    """Stores with their numbers over 30 days (paid orders, revenue, live products, customers).

    Filters: `search` (name, slug, domain), `plan` (slug or id), `status` (deleted stores only
    when asked for); `sort_by` name, created_at, revenue, orders, products, customers, status, slug;
    `sort_order` asc or desc; paginated."""
    page = tenant_service.list_tenants(search=query.search, plan=query.plan, status=query.status,
                                       sort_by=query.sort_by, sort_order=query.sort_order, page=query.page,
                                       page_size=query.page_size)
    return {**page, "items": [TenantOut.of(r["store"], r["plan_name"], r["stats"]) for r in page["items"]]}


@bp.post("/tenants")
@access("sysadmin")
@bp.input(TenantIn, arg_name="body")
@bp.output(TenantCreatedOut, status_code=201)
@bp.doc(responses={409: "The slug, domain or admin email is taken",
                   422: "Invalid fields, unknown plan or addon, or one not offered (`plan_not_offered`, "
                        "`addon_not_offered`)"})
def create_tenant(body: TenantIn):
    """Create a store and its first ADMIN in one transaction; the admin is emailed a link to set a
    password (valid 7 days). Fields: `slug`, `name`, `admin_email`, optional `admin_username`,
    `custom_domain`, `plan` (slug or id; default `everything`), `addons`, `currency`, `locale`,
    `timezone`, `description`."""
    store, admin = tenant_service.create_tenant(**body.model_dump())
    plan_name = plan_service.get_plan(store.plan_id).name if store.plan_id else None
    return TenantCreatedOut(tenant=TenantOut.of(store, plan_name), admin=TenantUserOut.of(admin),
                            message=f"Store {store.slug} created; {admin.email} was emailed a link to set a password")


@bp.get("/tenants/<tenant_id>")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses=NOT_FOUND)
def get_tenant(tenant_id: str):
    """A store (any status) with its plan, addons, features, numbers and users by role."""
    return _detail(tenant_service.get_tenant(tenant_id))


@bp.get("/tenants/<tenant_id>/detail")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses=NOT_FOUND)
def tenant_detail(tenant_id: str):
    """The same as `GET /api/sysadmin/tenants/{tenant_id}` (the spec's second spelling)."""
    return _detail(tenant_service.get_tenant(tenant_id))


@bp.get("/tenants/<tenant_id>/users")
@access("sysadmin")
@bp.input(UsersQuery, location="query", arg_name="query")
@bp.output(page_of(TenantUserOut))
@bp.doc(responses=NOT_FOUND)
def tenant_users(tenant_id: str, query: UsersQuery):
    """The store's users, admins first (filter: `role`)."""
    page = tenant_service.tenant_users(tenant_service.get_tenant(tenant_id), role=query.role, page=query.page,
                                       page_size=query.page_size)
    return {**page, "items": [TenantUserOut.of(u) for u in page["items"]]}


@bp.put("/tenants/<tenant_id>")
@access("sysadmin")
@bp.input(TenantUpdateIn, arg_name="body")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "Slug or domain taken, currency of a store with orders, a deleted store"})
def update_tenant(tenant_id: str, body: TenantUpdateIn):
    """Change a store: only the fields sent change (`custom_domain: null` removes the domain). The
    change is checked as a whole: removing the domain and moving to a plan without custom domains
    is one change. A new plan or addon must be offered; the store's own withdrawn ones stay."""
    store = tenant_service.get_tenant(tenant_id)
    tenant_service.update_tenant(store, body.model_dump(exclude_unset=True))
    return _detail(store)


def _lifecycle(action: str, tenant_id: str) -> TenantDetailOut:
    store = tenant_service.get_tenant(tenant_id)
    getattr(tenant_service, action)(store)
    return _detail(store)


@bp.put("/tenants/<tenant_id>/suspend")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "A deleted store (`tenant_deleted`)"})
def suspend_tenant(tenant_id: str):
    """Suspend: the shop and its API answer 503; its admins see why when they sign in."""
    return _lifecycle("suspend", tenant_id)


@bp.post("/tenants/<tenant_id>/suspend")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "A deleted store (`tenant_deleted`)"})
def suspend_tenant_post(tenant_id: str):
    """Suspend (the POST spelling)."""
    return _lifecycle("suspend", tenant_id)


@bp.put("/tenants/<tenant_id>/activate")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "A deleted store (`tenant_deleted`): restore it first"})
def activate_tenant(tenant_id: str):
    """Activate a suspended store."""
    return _lifecycle("activate", tenant_id)


@bp.post("/tenants/<tenant_id>/activate")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "A deleted store (`tenant_deleted`): restore it first"})
def activate_tenant_post(tenant_id: str):
    """Activate (the POST spelling)."""
    return _lifecycle("activate", tenant_id)


@bp.delete("/tenants/<tenant_id>")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses=NOT_FOUND)
def delete_tenant(tenant_id: str):
    """Soft-delete: the store disappears everywhere (404 at its addresses); its data stays for the
    grace period (`flask purge-stores`, 30 days by default) and `POST .../restore` brings it back."""
    return _lifecycle("soft_delete", tenant_id)


@bp.post("/tenants/<tenant_id>/restore")
@access("sysadmin")
@bp.output(TenantDetailOut)
@bp.doc(responses={**NOT_FOUND, 409: "The store is not deleted (`tenant_not_deleted`)"})
def restore_tenant(tenant_id: str):
    """Bring back a soft-deleted store, suspended (activate it when ready)."""
    return _lifecycle("restore", tenant_id)


@bp.get("/dashboard")
@access("sysadmin")
@bp.output(DashboardOut)
def dashboard():
    """Platform-wide numbers: MRR (plans and addons of active stores, per currency), GMV and orders
    per month over 12 months with the month-over-month change, stores by status and by plan,
    orders and GMV over 30 days, the newest stores."""
    d = tenant_service.dashboard()
    return DashboardOut(
        mrr=[{k: (to_major(v, r["currency"]) if k != "currency" else v) for k, v in r.items()}
             for r in d["mrr"]["by_currency"]],
        revenue=[{**s, "this_month_gmv": to_major(s["this_month_gmv"], s["currency"]),
                  "points": [{**p, "gmv": to_major(p["gmv"], s["currency"])} for p in s["points"]]}
                 for s in d["revenue"]["series"]],
        months=d["revenue"]["months"], stores=d["stores"],
        last_30_days=[{**r, "gmv": to_major(r["gmv"], r["currency"])} for r in d["last_30_days"]["by_currency"]],
        newest_stores=[TenantOut.of(s, d["newest_plans"][s.id]) for s in d["newest_stores"]])


# --- plans and addons ------------------------------------------------------------------------


@bp.get("/plans")
@access("sysadmin")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(PlanOut))
def list_all_plans(query: PageQuery):
    """Every plan, offered or not (`GET /api/plans` lists the offered ones)."""
    return paginate_list([PlanOut.of(p) for p in plan_service.list_plans()], page=query.page,
                         page_size=query.page_size)


@bp.post("/plans")
@access("sysadmin")
@bp.input(PlanIn, arg_name="body")
@bp.output(PlanOut, status_code=201)
@bp.doc(responses={409: "The slug is taken (`slug_taken`)", 422: "Invalid fields, unknown feature"})
def create_plan(body: PlanIn):
    """Create a plan: `slug`, `name`, `monthly_price` (major units), `currency`, `max_products` and
    `max_staff` (null: unlimited), `custom_domain_allowed`, `features` (addon slugs included)."""
    return PlanOut.of(plan_service.create_plan(body.to_service()))


@bp.put("/plans/<plan_id>")
@access("sysadmin")
@bp.input(PlanUpdateIn, arg_name="body")
@bp.output(PlanOut)
@bp.doc(responses={404: "No such plan (`plan_not_found`)"})
def update_plan(plan_id: str, body: PlanUpdateIn):
    """Change a plan: only the fields sent change."""
    plan = plan_service.get_plan(plan_id)
    return PlanOut.of(plan_service.update_plan(plan, body.to_service(plan.currency)))


@bp.get("/addons")
@access("sysadmin")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(AddonOut))
def list_all_addons(query: PageQuery):
    """Every addon, offered or not."""
    return paginate_list([AddonOut.of(a) for a in plan_service.list_addons()], page=query.page,
                         page_size=query.page_size)


@bp.post("/addons")
@access("sysadmin")
@bp.input(AddonIn, arg_name="body")
@bp.output(AddonOut, status_code=201)
@bp.doc(responses={409: "The slug is taken (`slug_taken`)"})
def create_addon(body: AddonIn):
    """Create an addon: `slug`, `name`, `monthly_price` (major units), `currency`."""
    return AddonOut.of(plan_service.create_addon(body.to_service()))


@bp.put("/addons/<addon_id>")
@access("sysadmin")
@bp.input(AddonUpdateIn, arg_name="body")
@bp.output(AddonOut)
@bp.doc(responses={404: "No such addon (`addon_not_found`)"})
def update_addon(addon_id: str, body: AddonUpdateIn):
    """Change an addon (its slug stays: plans and gates name it)."""
    addon = plan_service.get_addon(addon_id)
    data = body.to_service(addon.currency)
    data.pop("slug", None)
    return AddonOut.of(plan_service.update_addon(addon, data))

