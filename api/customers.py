"""Customers (Seed A "Customers" admin, Manager+; the role change and the export are Admin).

A customer is a user with the role USER or RESELLER; each is in one segment (vip, new, active,
at_risk, inactive: ``services.segments``, rules in docs/architecture.md). The list, the detail
(shared with ``/api/admin/user/{id}``), an update of what a merchant edits, the role change (only
roles below yours, for users below you), the analytics overview and a streamed CSV export.

Route order: ``/api/customers/analytics/overview`` and ``/api/customers/export`` are fixed paths,
which the router prefers to ``/api/customers/{customer_id}``; so is ``/api/customers/me`` (the
customer's own account, ``api/account.py``).
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, g, stream_with_context

from services import customers as customer_service
from services import users as user_service
from services.money import to_major

from .access import access, require_user
from .schemas.common import page_of
from .schemas.users import (
    CustomerOverviewOut,
    CustomerQuery,
    CustomerUpdateIn,
    HistoryQuery,
    ManagedUserOut,
    MonthCount,
    RoleIn,
    TopCustomer,
    UserDetailOut,
)
from .users import one_user_out, user_detail_out, user_rows_out

bp = APIBlueprint("api_customers", __name__, url_prefix="/api/customers", tag="Customers")

REFUSALS = {403: "Not below your role, or your own account (`role_not_allowed`, `own_account`)",
            404: "No such user", 409: "`email_taken`, `username_taken`, `user_erased`"}


@bp.get("")
@access("manager")
@bp.input(CustomerQuery, location="query", arg_name="query")
@bp.output(page_of(ManagedUserOut))
@bp.doc(responses={422: "An unknown `segment` (`invalid_segment`)"})
def list_customers(query: CustomerQuery):
    """The store's customers (USER and RESELLER), newest first, paginated.

    Filters: `search` (or `q`) in the username and email, `segment` (vip, new, active, at_risk,
    inactive). Each comes with `orders` (paid, gifts excepted), `spent` (net of refunds) and its
    `segment`."""
    return user_rows_out(user_service.directory(q=query.search, segment=query.segment, customers_only=True,
                                                page=query.page, page_size=query.page_size))


@bp.get("/analytics/overview")
@access("manager")
@bp.output(CustomerOverviewOut)
def customer_overview():
    """Customer analytics: how many customers each segment holds, new customers per month over the
    last 12 months (months of the store's time zone) and the 10 top customers by lifetime spend."""
    currency = g.store.currency
    data = customer_service.overview(g.store)
    return CustomerOverviewOut(
        currency=currency, total_customers=data["total_customers"], segments=data["segments"],
        new_customers_per_month=[MonthCount(**m) for m in data["new_customers_per_month"]],
        top_customers=[TopCustomer(id=user.id, username=user.username, email=user.email, orders=int(orders),
                                   spent=to_major(int(spent), currency), segment=segment)
                       for user, orders, spent, _first, _last, segment in data["top_customers"]])


@bp.get("/export")
@access("admin")
@bp.doc(responses={200: {"description": "CSV, one row per customer (streamed)",
                         "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export_customers():
    """Every customer as CSV (Admin), streamed as it is read: id, username, email, role, segment,
    orders, spent, currency, balance, discount_percent, is_active, created_at, first_order_at,
    last_order_at, note. A cell starting with `=`, `+`, `-` or `@` gets a leading `'` so a
    spreadsheet shows it as text and never runs it."""
    rows = customer_service.export_rows(g.store.id, g.store.currency)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="customers.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<customer_id>")
@access("manager")
@bp.input(HistoryQuery, location="query", arg_name="query")
@bp.output(UserDetailOut)
@bp.doc(responses={404: "No such customer: staff, managers, admins and deleted accounts are not customers "
                        "(`customer_not_found`; an admin reads any account at `/api/admin/user/{userId}`)"})
def get_customer(customer_id: str, query: HistoryQuery):
    """A customer's detail (a USER or RESELLER, as the list has them): orders, spent, first and
    last order, segment, review and replacement counts, balance, current cart, saved addresses and
    a page of their orders."""
    return user_detail_out(user_service.get_customer(customer_id), query)


@bp.put("/<customer_id>")
@access("manager")
@bp.input(CustomerUpdateIn, arg_name="body")
@bp.output(ManagedUserOut)
@bp.doc(responses={**REFUSALS, 422: "An invalid username or email"})
def update_customer(customer_id: str, body: CustomerUpdateIn):
    """Update a customer: `username`, `email`, `is_active`, `note` (only the fields sent change).

    A username or email another account has is a 409 (`username_taken`, `email_taken`), as at
    registration. Disabling (`is_active: false`) ends the account's tokens. Only for users whose
    role is below yours."""
    user = user_service.get_user(customer_id)
    user_service.update_user(user, actor=require_user(), **body.model_dump(exclude_unset=True))
    return one_user_out(user)


@bp.put("/<user_id>/role")
@access("admin")
@bp.input(RoleIn, arg_name="body")
@bp.output(ManagedUserOut)
@bp.doc(responses={**REFUSALS, 403: "A role not below yours, a user not below you, or yourself "
                                     "(`role_not_allowed`, `own_account`)", 422: "An unknown role or discount"})
def change_role(user_id: str, body: RoleIn):
    """Change a user's role: `{role, discount?}`.

    Only to a role below yours, and only for a user whose role is below yours; SYSADMIN is never
    given from a store; never your own. A RESELLER's `discount` (percent) is set with it (kept
    when left out); any other role has no discount."""
    user = user_service.get_user(user_id)
    discount = user_service.discount_bps(body.discount) if body.discount is not None else None
    user_service.change_role(user, body.role, actor=require_user(), discount=discount)
    return one_user_out(user)
