"""Replacements (Seed B): the buyer's request from an order, staff's queue, the three options to
choose from, the decision, and the replacement rate per import batch and per product."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import orders as order_service
from services import replacements
from services import stock as stock_service

from .access import access, require_user
from .schemas.common import page_of
from .schemas.replacements import (
    OptionsOut,
    RatesOut,
    ReplaceIn,
    ReplacementOut,
    RequestQuery,
    ResolveIn,
)

bp = APIBlueprint("api_replacements", __name__, url_prefix="/api", tag="Replacements")


@bp.post("/orders/<order_id>/replace")
@access("user")
@bp.input(ReplaceIn, arg_name="body")
@bp.output(ReplacementOut, status_code=201)
@bp.doc(responses={404: "No such order of yours",
                   409: "`order_not_completed`, `warranty_expired`, `replacements_off`, `already_replaced`, "
                        "`request_open`",
                   422: "No reason, or an item that is not one of this order's"})
def request_replacement(order_id: str, body: ReplaceIn):
    """Ask for a new item in place of a delivered one (`{stock_item_id, reason}`), inside the
    product's warranty. With auto-replace on and within its budget the answer is APPROVED with the
    new item already on the order; otherwise PENDING, with `waiting_reason`."""
    user = require_user()
    order = order_service.get_order(order_id, with_lines=False)
    row = replacements.request_replacement(order, user=user, stock_item_id=body.stock_item_id, reason=body.reason)
    return ReplacementOut.of(row, replacements.context_of([row]))


@bp.get("/staff/replacement-requests")
@access("staff")
@bp.input(RequestQuery, location="query", arg_name="query")
@bp.output(page_of(ReplacementOut))
def list_requests(query: RequestQuery):
    """Replacement requests, oldest first (Staff+): PENDING by default, or `status` APPROVED / DENIED;
    filter by `product_id` or an order number (`search`)."""
    page = replacements.list_requests(status=query.status, product_id=query.product_id, search=query.search,
                                      page=query.page, page_size=query.page_size)
    ctx = replacements.context_of(page["items"])
    return {**page, "items": [ReplacementOut.of(r, ctx) for r in page["items"]]}


@bp.get("/staff/replacement-options/<subcategory_id>")
@access("staff")
@bp.output(OptionsOut)
@bp.doc(responses={404: "No such subcategory"})
def replacement_options(subcategory_id: str):
    """Three random available stock items of a subcategory to approve a request with (masked)."""
    items = replacements.options(subcategory_id)
    return {"subcategory_id": subcategory_id,
            "items": [{"id": i.id, "deliverable": stock_service.masked(i), "batch_id": i.batch_id} for i in items]}


@bp.post("/staff/requests/<request_id>/resolve")
@access("staff")
@bp.input(ResolveIn, arg_name="body")
@bp.output(ReplacementOut)
@bp.doc(responses={403: "A custom deliverable needs an admin",
                   404: "No such request, or no such stock item (`stock_item_not_found`)",
                   409: "`already_resolved` (someone else was first), `item_taken` (sold or held meanwhile), "
                        "`out_of_stock`, `duplicate_deliverable`",
                   422: "A denial without a reason; an item of another subcategory (`item_wrong_subcategory`)"})
def resolve_request(request_id: str, body: ResolveIn):
    """Approve (`{action: "approve", stock_item_id?}`, or an admin's `custom_deliverable`) or deny
    (`{action: "deny", reason}`). The buyer is emailed; the order's timeline shows who did it."""
    actor = require_user()
    row = replacements.resolve(replacements.get_request(request_id), actor=actor, approve=body.action == "approve",
                               stock_item_id=body.stock_item_id, custom_deliverable=body.custom_deliverable,
                               reason=body.reason)
    return ReplacementOut.of(row, replacements.context_of([row]))


@bp.get("/staff/replacement-rates")
@access("staff")
@bp.output(RatesOut)
def replacement_rates():
    """How often sold items were replaced, per import batch and per product (a bad lot shows)."""
    return replacements.replacement_rates()
