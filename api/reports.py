"""Reports (Seed A "Reports", Manager+): sales per day, week or month with cost and profit, top
products, categories, customers (new vs returning, lifetime value), and each as a streamed CSV
(services.reports: SQL aggregates; the exports read the rows in chunks)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from apiflask import APIBlueprint
from flask import g
from pydantic import Field

from services import analytics, reports
from services.money import to_major
from web import csv_download

from .access import access
from .schemas.common import Output, Query

bp = APIBlueprint("api_reports", __name__, url_prefix="/api/reports", tag="Reports")

MONEY = ("gross", "refunds", "revenue", "average_order_value", "cost", "profit", "replacement_cost")


class PeriodQuery(Query):
    period: Literal["7d", "30d", "12m"] = "30d"
    date_from: date | None = Field(default=None, description="A custom range: the first local day")
    date_to: date | None = Field(default=None, description="A custom range: the last local day")


class SalesQuery(PeriodQuery):
    group_by: Literal["day", "week", "month"] | None = Field(
        default=None, description="day or week for 7d and 30d; week or month for 12m; any for a custom range. "
                                  "Default: day (month for 12m). Weeks start on Monday in the store's time zone.")


class ProductsQuery(PeriodQuery):
    limit: int = Field(10, ge=1, le=reports.MAX_LIMIT)
    sort_by: Literal["revenue", "units", "orders", "profit"] = "revenue"


class ExportQuery(PeriodQuery):
    type: Literal["sales", "products", "categories", "customers", "orders"] = Field(
        description="Which report: sales, products, categories, customers, or every order placed in the period")
    group_by: Literal["day", "week", "month"] | None = None
    sort_by: Literal["revenue", "units", "orders", "profit"] = "revenue"


class ProfitFields(Output):
    cost: float = Field(description="Known unit costs of the units sold and replaced (stock batches' unit_cost)")
    profit: float = Field(description="revenue - cost")
    margin: float | None = Field(description="profit / revenue (null without revenue)")
    cost_coverage: float | None = Field(description="Share of the units with a known cost (null without units)")
    replacements: int = Field(description="Replacement items handed out: a cost without revenue")
    replacement_cost: float


class SalesRow(ProfitFields):
    label: str = Field(description="The local day, the Monday of the week, or YYYY-MM; 'total' for the totals")
    start: datetime
    end: datetime
    orders: int
    gross: float
    refunds: float
    revenue: float = Field(description="gross - refunds")
    items: int
    average_order_value: float


class Span(Output):
    period: str
    date_from: datetime = Field(description="The period's first instant (UTC)")
    date_to: datetime = Field(description="The instant after the period (UTC)")
    currency: str


class SalesReportOut(Span):
    group_by: str
    points: list[SalesRow]
    totals: SalesRow


class ProductRow(ProfitFields):
    product_id: str | None
    title: str
    revenue: float = Field(description="Line subtotals (list price x quantity)")
    units: int
    orders: int


class ProductsOut(Span):
    sort_by: str
    limit: int
    items: list[ProductRow]


class CategoryRow(Output):
    category_id: str | None
    title: str
    revenue: float
    units: int
    orders: int
    share: float = Field(description="Share of the period's line revenue (0 to 1)")


class CategoriesOut(Span):
    items: list[CategoryRow]


class CustomerGroup(Output):
    customers: int
    orders: int
    revenue: float


class TopCustomer(Output):
    user_id: str
    username: str
    email: str
    orders: int
    lifetime_value: float
    first_order_at: datetime | None
    last_order_at: datetime | None


class CustomersOut(Span):
    new: CustomerGroup = Field(description="Buyers whose first sale ever is in the period")
    returning: CustomerGroup
    guests: CustomerGroup = Field(description="Orders without an account (customers: distinct emails)")
    customers_ever: int
    lifetime_revenue: float
    average_lifetime_value: float
    repeat_customers: int
    repeat_purchase_rate: float
    top_customers: list[TopCustomer]


def _period(query: PeriodQuery):
    return analytics.period(g.store, query.period, date_from=query.date_from, date_to=query.date_to)


def _major(row: dict, *names: str) -> dict:
    return {**row, **{n: to_major(row[n], g.store.currency) for n in names if n in row}}


@bp.get("/sales")
@access("manager")
@bp.input(SalesQuery, location="query", arg_name="query")
@bp.output(SalesReportOut)
def sales(query: SalesQuery):
    """Sales per day, week (Monday to Sunday, local) or month: orders, gross, refunds, revenue (net),
    items, average order value, cost, profit, margin and cost coverage; and the totals.

    A grouping that does not fit the period (7d by month, 12m by day) is a 422 `invalid_group_by`."""
    data = reports.sales(g.store, _period(query), query.group_by)
    return {**data, "points": [_major(p, *MONEY) for p in data["points"]], "totals": _major(data["totals"], *MONEY)}


@bp.get("/products")
@access("manager")
@bp.input(ProductsQuery, location="query", arg_name="query")
@bp.output(ProductsOut)
def products(query: ProductsQuery):
    """The top products of the period (`limit` 1 to 100, default 10) by revenue, units, orders or
    profit, each with its cost, profit, margin and cost coverage."""
    data = reports.products(g.store, _period(query), limit=query.limit, sort_by=query.sort_by)
    return {**data, "items": [_major(i, *MONEY) for i in data["items"]]}


@bp.get("/categories")
@access("manager")
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(CategoriesOut)
def categories(query: PeriodQuery):
    """Revenue, units and orders per category, with each one's share of the period's revenue."""
    data = reports.categories(g.store, _period(query))
    return {**data, "items": [_major(i, "revenue") for i in data["items"]]}


@bp.get("/customers")
@access("manager")
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(CustomersOut)
def customers(query: PeriodQuery):
    """New and returning customers of the period and their revenue, guests, the average lifetime
    value, the repeat purchase rate and the top customers by lifetime value."""
    data = reports.customers(g.store, _period(query))
    groups = {k: _major(data[k], "revenue") for k in ("new", "returning", "guests")}
    return {**_major(data, "lifetime_revenue", "average_lifetime_value"), **groups,
            "top_customers": [_major(c, "lifetime_value") for c in data["top_customers"]]}


@bp.get("/export")
@access("manager")
@bp.input(ExportQuery, location="query", arg_name="query")
@bp.doc(responses={200: {"description": "The report as CSV, streamed (an attachment). Money is a decimal "
                                        "string in the store's currency; text cells that would start a "
                                        "spreadsheet formula get a leading `'`.",
                         "content": {"text/csv": {"schema": {"type": "string"}}}}})
def export(query: ExportQuery):
    """Download a report as CSV: `type` = sales, products, categories, customers or orders (every
    order placed in the period). The file is streamed as it is read from the database."""
    p = _period(query)
    chunks = reports.export(g.store, query.type, p, group_by=query.group_by, sort_by=query.sort_by)
    return csv_download(chunks, reports.export_filename(g.store, query.type, p))
