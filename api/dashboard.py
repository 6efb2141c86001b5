"""The dashboard's numbers (Seed A "Dashboard"): KPIs, the sales chart and the breakdowns, over
7d, 30d, 12m or a custom range of the store's local days (services.analytics: SQL aggregates)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from apiflask import APIBlueprint
from flask import g
from pydantic import AliasChoices, Field

from services import analytics
from services.money import to_major

from .access import access
from .schemas.common import Id, Input, Output, Query

bp = APIBlueprint("api_dashboard", __name__, url_prefix="/api/dashboard", tag="Dashboard")


class PeriodQuery(Query):
    period: Literal["7d", "30d", "12m"] = "30d"
    date_from: date | None = Field(default=None, description="A custom range: the first local day")
    date_to: date | None = Field(default=None, description="A custom range: the last local day")


class StatsOut(Output):
    period: str
    date_from: datetime = Field(description="The period's first instant (UTC)")
    date_to: datetime = Field(description="The instant after the period (UTC)")
    currency: str
    revenue: float = Field(description="Paid orders' totals less refunds (major units)")
    gross: float
    refunds: float
    orders: int
    average_order_value: float
    items_sold: int
    new_customers: int
    pending_manual_orders: int
    open_replacements: int
    products: int
    customers: int
    cost: float = Field(description="Known unit costs of the units sold and replaced (services.reports)")
    profit: float
    margin: float | None
    cost_coverage: float | None = Field(description="Share of the units with a known cost")


class PointOut(Output):
    label: str
    start: datetime
    orders: int
    revenue: float
    items_sold: int


class ChartOut(Output):
    period: str
    unit: str
    currency: str
    points: list[PointOut]


class StatusCount(Output):
    status: str
    count: int


class MethodCount(Output):
    payment_method: str
    count: int
    revenue: float


class TopCategory(Output):
    category_id: str
    title: str
    revenue: float
    units: int


class TopProduct(Output):
    product_id: str | None
    title: str
    revenue: float
    units: int


class BreakdownOut(Output):
    period: str
    currency: str
    by_status: list[StatusCount]
    by_payment_method: list[MethodCount]
    top_categories: list[TopCategory]
    top_products: list[TopProduct]


def _period(query: PeriodQuery):
    return analytics.period(g.store, query.period, date_from=query.date_from, date_to=query.date_to)


def _major(row: dict, *names: str) -> dict:
    return {**row, **{n: to_major(row[n], g.store.currency) for n in names}}


@bp.get("/stats")
@access("staff")
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(StatsOut)
def stats(query: PeriodQuery):
    """KPIs over the period: revenue (net of refunds), orders, average order value, items sold, new
    customers; and now: pending manual orders, open replacement requests, products, customers."""
    return _major(analytics.kpis(g.store, _period(query)), "revenue", "gross", "refunds", "average_order_value",
                  "cost", "profit")


@bp.get("/stats/chart")
@access("staff")
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(ChartOut)
def chart(query: PeriodQuery):
    """Revenue, orders and items per day (7d, 30d, a custom range) or month (12m), in the store's time
    zone; every day or month is present."""
    data = analytics.chart(g.store, _period(query))
    return {**data, "points": [_major(p, "revenue") for p in data["points"]]}


@bp.get("/stats/breakdown")
@access("staff")
@bp.input(PeriodQuery, location="query", arg_name="query")
@bp.output(BreakdownOut)
def breakdown(query: PeriodQuery):
    """Orders placed in the period by status; the period's sales (the `orders` of `/stats`: paid in the
    period, gifts aside) by payment method, net of refunds; top categories and products by revenue."""
    data = analytics.breakdown(g.store, _period(query))
    return {**data, "by_payment_method": [_major(m, "revenue") for m in data["by_payment_method"]],
            "top_categories": [_major(c, "revenue") for c in data["top_categories"]],
            "top_products": [_major(p, "revenue") for p in data["top_products"]]}


# --- Seed B: POST /api/admin/stats and /api/admin/stats/timeline ------------------------------------

admin_bp = APIBlueprint("api_admin_stats", __name__, url_prefix="/api/admin", tag="Dashboard")


class StatsIn(Input):
    timeframe: Literal["7d", "30d", "12m"] = Field("30d", validation_alias=AliasChoices("timeframe", "period"))
    date_from: date | None = Field(default=None, validation_alias=AliasChoices("date_from", "dateFrom", "from"))
    date_to: date | None = Field(default=None, validation_alias=AliasChoices("date_to", "dateTo", "to"))
    product_id: Id | None = Field(default=None, validation_alias=AliasChoices("product_id", "productId"))
    subcategory_id: Id | None = Field(default=None, validation_alias=AliasChoices("subcategory_id", "subcategoryId"))


class SalesPoint(Output):
    label: str
    start: datetime
    revenue: float
    units: int


class SalesOut(Output):
    period: str
    unit: str
    currency: str
    product_id: str | None
    subcategory_id: str | None
    revenue: float
    units: int
    orders: int


class TimelineOut(SalesOut):
    points: list[SalesPoint]


def _product_sales(body: StatsIn) -> dict:
    p = analytics.period(g.store, body.timeframe, date_from=body.date_from, date_to=body.date_to)
    data = analytics.product_sales(g.store, p, product_id=body.product_id, variant_id=body.subcategory_id)
    return {**_major(data, "revenue"), "points": [_major(pt, "revenue") for pt in data["points"]]}


@admin_bp.post("/stats")
@access("admin")
@admin_bp.input(StatsIn, arg_name="body")
@admin_bp.output(SalesOut)
def admin_stats(body: StatsIn):
    """Revenue and units sold over a timeframe (`7d`, `30d`, `12m`, or `date_from`/`date_to`), for
    all products, one `productId` or one `subcategoryId`: totals."""
    return _product_sales(body)


@admin_bp.post("/stats/timeline")
@access("admin")
@admin_bp.input(StatsIn, arg_name="body")
@admin_bp.output(TimelineOut)
def admin_stats_timeline(body: StatsIn):
    """The same as a time series: one point per local day (or month for `12m`), every one present."""
    return _product_sales(body)
