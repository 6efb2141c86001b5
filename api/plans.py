"""Plans and addons (Seed A "Plans"): what the platform offers, public; and a store's active features.

``/api/plans/tenant/{tenant_id}/features`` is public (the spec's row): it answers only the plan's
slug and the feature names of a live store, never prices paid, limits, users or numbers; a
deleted or unknown store is a 404. Plans and addons are changed by sysadmins (``/api/sysadmin/plans``).
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import plans as plan_service
from services import tenants as tenant_service
from services.errors import NotFound
from services.pagination import paginate_list

from .access import access
from .schemas.common import PageQuery, page_of
from .schemas.plans import AddonOut, FeaturesOut, PlanOut

bp = APIBlueprint("api_plans", __name__, url_prefix="/api/plans", tag="Plans")


@bp.get("")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(PlanOut))
def list_plans(query: PageQuery):
    """The plans offered to new stores, cheapest first."""
    return paginate_list([PlanOut.of(p) for p in plan_service.list_plans(active_only=True)],
                         page=query.page, page_size=query.page_size)


@bp.get("/addons")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(AddonOut))
def list_addons(query: PageQuery):
    """The addons a store can add to its plan, cheapest first."""
    return paginate_list([AddonOut.of(a) for a in plan_service.list_addons(active_only=True)],
                         page=query.page, page_size=query.page_size)


@bp.get("/tenant/<tenant_id>/features")
@access("public")
@bp.output(FeaturesOut)
@bp.doc(responses={404: "No such store (`tenant_not_found`)"})
def tenant_features(tenant_id: str):
    """The features a store may use (its plan's and its addons'), e.g. `["campaigns", "wishlist"]`."""
    store = tenant_service.get_tenant(tenant_id)
    if store.status == "deleted":
        raise NotFound("No such store", code="tenant_not_found")
    plan = plan_service.plan_of(store)
    return FeaturesOut(tenant_id=store.id, plan=plan.slug if plan else None,
                       features=sorted(plan_service.features_of(store)))
