"""Reports for the merchant (Seed A "Reports"): sales per day, week or month with cost and profit,
top products, categories, new and returning customers, and their CSV exports.

Every figure is an SQL aggregate over the same sales as the dashboard (``analytics.sales_filter``:
paid orders, gifts excepted, in the store's time zone; revenue net of refunds). Cost and profit
follow ``analytics.bucket_costs``: a sold digital unit costs its stock batch's ``unit_cost`` (kept
on the order and its lines when it is paid: ``orders.record_sale``), a
replacement handed out is a cost without revenue (in the bucket of its own ``sold_at``), and
``cost_coverage`` says which share of the units has a known cost.

Product and category revenue is the order lines' ``line_subtotal`` (list price times quantity,
before discounts and refunds, as on the dashboard's top lists), so it can differ from the sales
report's net revenue by the discounts and refunds.

Exports (``export``) are generators of CSV text: the rows are read from the database in chunks
(``yield_per``), so an export of 100,000 orders never holds them all in memory. Money is a
decimal string in the store's currency (``12.50``); a text cell starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets a leading ``'`` so a spreadsheet never runs it as a formula.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import case, exists, func, literal, select

from extensions import db
from models import Category, Order, OrderAdjustment, OrderLine, Product, StockBatch, StockItem, User, Variant

from . import analytics, segments
from .analytics import Period
from .errors import Invalid
from .money import exponent

GROUPINGS = {"7d": ("day", "week"), "30d": ("day", "week"), "12m": ("week", "month"),
             "custom": ("day", "week", "month")}
PRODUCT_SORTS = ("revenue", "units", "orders", "profit")
EXPORT_TYPES = ("sales", "products", "categories", "customers", "orders")
MAX_LIMIT = 100
TOP_CUSTOMERS = 10
YIELD_PER = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_grouping(p: Period, group_by: str | None) -> str:
    """The unit of a sales report: the period's own (day, or month for 12m) when not given; a
    combination that makes no sense (a 7-day period by month, 12 months by day) is a 422."""
    unit = group_by or p.unit
    allowed = GROUPINGS[p.name]
    if unit not in allowed:
        raise Invalid(f"A {p.name if p.name != 'custom' else 'custom'} period is grouped by {' or '.join(allowed)}",
                      code="invalid_group_by", details={"group_by": [f"one of: {', '.join(allowed)}"]})
    return unit


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit is between 1 and {MAX_LIMIT}", details={"limit": [f"1 to {MAX_LIMIT}"]})
    return limit


def check_sort(sort_by: str) -> str:
    if sort_by not in PRODUCT_SORTS:
        raise Invalid(f"sort_by is one of: {', '.join(PRODUCT_SORTS)}", details={"sort_by": [", ".join(PRODUCT_SORTS)]})
    return sort_by


def check_type(kind: str) -> str:
    if kind not in EXPORT_TYPES:
        raise Invalid(f"The export type is one of: {', '.join(EXPORT_TYPES)}", code="invalid_export_type",
                      details={"type": [f"one of: {', '.join(EXPORT_TYPES)}"]})
    return kind


def _span(p: Period) -> dict:
    return {"period": p.name, "date_from": p.start, "date_to": p.end}


# --- sales ------------------------------------------------------------------------------------

def sales(store, p: Period, group_by: str | None = None) -> dict:
    """Per day, week (from Monday, local) or month: orders, gross, refunds, revenue (net), items,
    average order value, cost, profit, margin and cost coverage; and the totals. Two GROUP BYs
    over the buckets (the orders with their cost columns, the replacements)."""
    grouped = analytics.regroup(store, p, check_grouping(p, group_by))
    buckets = analytics.bucket_table(grouped)
    rows = db.session.execute(
        select(buckets.c.label, func.count(), func.coalesce(func.sum(Order.total), 0),
               func.coalesce(func.sum(Order.amount_refunded), 0), func.coalesce(func.sum(Order.item_count), 0),
               func.coalesce(func.sum(Order.cost_total), 0), func.coalesce(func.sum(Order.cost_known_units), 0))
        .select_from(buckets)
        .join(Order, analytics.sales_filter(buckets.c.starts, buckets.c.ends))
        .group_by(buckets.c.label)).all()
    found = {label: (int(n), int(gross), int(refunds), int(items)) for label, n, gross, refunds, items, _, _ in rows}
    costs = analytics.merge_costs({label: (int(cost), int(known)) for label, *_, cost, known in rows},
                                  analytics.replacement_costs(buckets))
    points = []
    for label, start, end in grouped.buckets:
        orders, gross, refunds, items = found.get(label, (0, 0, 0, 0))
        points.append(_sales_row(label, start, end, orders, gross, refunds, items, costs.get(label)))
    totals = {key: sum(pt[key] for pt in points) for key in ("orders", "gross", "refunds", "items")}
    total_costs = {key: sum((costs.get(label) or {}).get(key, 0) for label, *_ in grouped.buckets)
                   for key in ("cost", "known", "replacements", "replacement_cost")}
    return {**_span(p), "group_by": grouped.unit, "currency": store.currency, "points": points,
            "totals": _sales_row("total", p.start, p.end, totals["orders"], totals["gross"], totals["refunds"],
                                 totals["items"], total_costs)}


def _sales_row(label, start, end, orders, gross, refunds, items, costs) -> dict:
    revenue = gross - refunds
    return {"label": label, "start": start, "end": end, "orders": orders, "gross": gross, "refunds": refunds,
            "revenue": revenue, "items": items, "average_order_value": revenue // orders if orders else 0,
            **analytics.profit_fields(revenue, items, costs)}


# --- products ---------------------------------------------------------------------------------

def _product_replacements(p: Period):
    """Per product: the replacements handed out in the period, those with a known cost, their cost."""
    return (select(StockItem.product_id.label("product_id"), func.count(StockItem.id).label("handed_out"),
                   func.count(StockBatch.unit_cost).label("known"),
                   func.coalesce(func.sum(StockBatch.unit_cost), 0).label("cost"))
            .outerjoin(StockBatch, StockBatch.id == StockItem.batch_id)
            .where(StockItem.replacement_for_id.isnot(None), StockItem.is_sold.is_(True),
                   StockItem.sold_at >= p.start, StockItem.sold_at < p.end)
            .group_by(StockItem.product_id).subquery("product_replacements"))


def _products_statement(p: Period, sort_by: str):
    """The period's lines per product (their index alone: revenue, units, orders and the cost of
    the units sold), with the product's replacements of the period beside them."""
    lines = (select(OrderLine.product_id.label("product_id"), func.max(OrderLine.product_title).label("title"),
                    func.sum(OrderLine.line_subtotal).label("revenue"), func.sum(OrderLine.quantity).label("units"),
                    func.count(func.distinct(OrderLine.order_id)).label("orders"),
                    func.sum(OrderLine.cost).label("cost"), func.sum(OrderLine.cost_known_units).label("known"))
             .where(analytics.line_sales_filter(p.start, p.end))
             .group_by(OrderLine.product_id).subquery("product_lines"))
    replaced = _product_replacements(p)
    replacement_cost = func.coalesce(replaced.c.cost, 0)
    cost = lines.c.cost + replacement_cost
    order = {"revenue": lines.c.revenue, "units": lines.c.units, "orders": lines.c.orders,
             "profit": lines.c.revenue - cost}[check_sort(sort_by)]
    return (select(lines.c.product_id, lines.c.title, lines.c.revenue, lines.c.units, lines.c.orders,
                   cost.label("cost"), lines.c.known + func.coalesce(replaced.c.known, 0),
                   func.coalesce(replaced.c.handed_out, 0), replacement_cost)
            .select_from(lines).outerjoin(replaced, replaced.c.product_id == lines.c.product_id)
            .order_by(order.desc(), lines.c.title, lines.c.product_id))


def _product_row(row) -> dict:
    product_id, title, revenue, units, orders, cost, known, replacements, replacement_cost = row
    revenue, units = int(revenue), int(units)
    costs = {"cost": int(cost), "known": int(known), "replacements": int(replacements),
             "replacement_cost": int(replacement_cost)}
    return {"product_id": product_id, "title": title, "revenue": revenue, "units": units, "orders": int(orders),
            **analytics.profit_fields(revenue, units, costs)}


def products(store, p: Period, *, limit: int = 10, sort_by: str = "revenue") -> dict:
    """The top products of the period by revenue, units, orders or profit (one statement)."""
    rows = db.session.execute(_products_statement(p, sort_by).limit(check_limit(limit))).all()
    return {**_span(p), "currency": store.currency, "sort_by": sort_by, "limit": limit,
            "items": [_product_row(r) for r in rows]}


# --- categories -------------------------------------------------------------------------------

def _categories_statement(p: Period):
    revenue = func.coalesce(func.sum(OrderLine.line_subtotal), 0)
    return (select(Category.id, Category.title, revenue.label("revenue"), func.coalesce(func.sum(OrderLine.quantity), 0),
                   func.count(func.distinct(OrderLine.order_id)), func.sum(revenue).over())
            .select_from(OrderLine)
            .outerjoin(Product, Product.id == OrderLine.product_id)
            .outerjoin(Category, Category.id == Product.category_id)
            .where(analytics.line_sales_filter(p.start, p.end)).group_by(Category.id, Category.title)
            .order_by(revenue.desc(), Category.title))


def _category_row(row) -> dict:
    category_id, title, revenue, units, orders, everything = row
    return {"category_id": category_id, "title": title if category_id else "No category", "revenue": int(revenue),
            "units": int(units), "orders": int(orders),
            "share": round(int(revenue) / int(everything), 6) if everything else 0.0}


def categories(store, p: Period) -> dict:
    """Revenue, units and orders per category (lines of products without one: "No category"), and
    each one's share of the period's line revenue. One GROUP BY with a window for the total."""
    rows = db.session.execute(_categories_statement(p)).all()
    return {**_span(p), "currency": store.currency, "items": [_category_row(r) for r in rows]}


# --- customers --------------------------------------------------------------------------------

def _period_buyers(p: Period):
    return (select(Order.buyer_id.label("buyer_id"), func.count().label("orders"),
                   func.sum(Order.total - Order.amount_refunded).label("revenue"))
            .where(analytics.sales_filter(p.start, p.end), Order.buyer_id.isnot(None))
            .group_by(Order.buyer_id).subquery("period_buyers"))


def customers(store, p: Period) -> dict:
    """New and returning buyers of the period (new: their first sale ever is inside it), guests,
    the average lifetime value (net spend of all time / buyers who ever bought), the repeat
    purchase rate (buyers with two or more sales / buyers) and the top buyers by lifetime value."""
    stats = segments.customer_stats()
    buyers = _period_buyers(p)
    kind = case((stats.c.first_order_at >= p.start, literal("new")), else_=literal("returning"))
    split = dict((k, (int(n), int(orders), int(revenue))) for k, n, orders, revenue in db.session.execute(
        select(kind, func.count(), func.coalesce(func.sum(buyers.c.orders), 0), func.coalesce(func.sum(buyers.c.revenue), 0))
        .select_from(buyers).join(stats, stats.c.user_id == buyers.c.buyer_id).group_by(kind)).all())
    guests = db.session.execute(
        select(func.count(func.distinct(Order.email)), func.count(),
               func.coalesce(func.sum(Order.total - Order.amount_refunded), 0))
        .where(analytics.sales_filter(p.start, p.end), Order.buyer_id.is_(None))).one()
    lifetime = db.session.execute(
        select(func.count(), func.coalesce(func.sum(stats.c.spent), 0),
               func.coalesce(func.sum(case((stats.c.orders >= 2, 1), else_=0)), 0))).one()
    ever, spent, repeaters = int(lifetime[0]), int(lifetime[1]), int(lifetime[2])
    top = db.session.execute(
        select(User.id, User.username, User.email, stats.c.orders, stats.c.spent, stats.c.first_order_at,
               stats.c.last_order_at)
        .join(stats, stats.c.user_id == User.id).order_by(stats.c.spent.desc(), User.username).limit(TOP_CUSTOMERS)).all()

    def group(name: str) -> dict:
        n, orders, revenue = split.get(name, (0, 0, 0))
        return {"customers": n, "orders": orders, "revenue": revenue}

    return {**_span(p), "currency": store.currency, "new": group("new"), "returning": group("returning"),
            "guests": {"customers": int(guests[0]), "orders": int(guests[1]), "revenue": int(guests[2])},
            "customers_ever": ever, "lifetime_revenue": spent, "average_lifetime_value": spent // ever if ever else 0,
            "repeat_customers": repeaters, "repeat_purchase_rate": round(repeaters / ever, 4) if ever else 0.0,
            "top_customers": [{"user_id": uid, "username": name, "email": email, "orders": int(orders),
                               "lifetime_value": int(value), "first_order_at": first, "last_order_at": last}
                              for uid, name, email, orders, value, first, last in top]}


# --- options for the analytics page ------------------------------------------------------------

def product_options() -> list[tuple[str, str]]:
    """(id, title) of every product not deleted, by title: the analytics page's choice."""
    return [(pid, title) for pid, title in db.session.execute(
        select(Product.id, Product.title).where(Product.deleted_at.is_(None)).order_by(Product.title, Product.id)).all()]


def variant_options(product_id: str | None) -> list[tuple[str, str]]:
    """(id, title) of a product's subcategories not deleted (none without a product)."""
    if not product_id:
        return []
    return [(vid, title) for vid, title in db.session.execute(
        select(Variant.id, Variant.title).where(Variant.product_id == product_id, Variant.deleted_at.is_(None))
        .order_by(Variant.title, Variant.id)).all()]


# --- CSV exports ------------------------------------------------------------------------------

class Money(int):
    """Minor units that the CSV writes as a decimal string of the currency."""


def _cell(value, exp: int) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return f"{Decimal(int(value)).scaleb(-exp):.{exp}f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv(header: list[str], rows: Iterable[list], currency: str, *, chunk: int = 500) -> Iterator[str]:
    exp = exponent(currency)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for n, row in enumerate(rows, start=1):
        writer.writerow([_cell(v, exp) for v in row])
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _stream(statement) -> Iterator:
    """The rows of ``statement`` fetched ``YIELD_PER`` at a time (a server-side cursor on PostgreSQL)."""
    yield from db.session.execute(statement.execution_options(yield_per=YIELD_PER))


def _ratio(value) -> str:
    return "" if value is None else f"{value:.4f}"


def _sales_rows(store, p: Period, group_by: str | None) -> Iterator[list]:
    data = sales(store, p, group_by)
    for row in [*data["points"], data["totals"]]:
        yield [row["label"], row["start"], row["end"], row["orders"], Money(row["gross"]), Money(row["refunds"]),
               Money(row["revenue"]), row["items"], Money(row["average_order_value"]), Money(row["cost"]),
               Money(row["profit"]), _ratio(row["margin"]), _ratio(row["cost_coverage"])]


def _product_rows(p: Period, sort_by: str) -> Iterator[list]:
    for raw in _stream(_products_statement(p, sort_by)):
        row = _product_row(raw)
        yield [row["product_id"], row["title"], row["units"], row["orders"], Money(row["revenue"]), Money(row["cost"]),
               Money(row["profit"]), _ratio(row["margin"]), _ratio(row["cost_coverage"])]


def _category_rows(p: Period) -> Iterator[list]:
    for raw in _stream(_categories_statement(p)):
        row = _category_row(raw)
        yield [row["category_id"], row["title"], row["units"], row["orders"], Money(row["revenue"]), _ratio(row["share"])]


def _customer_rows(p: Period) -> Iterator[list]:
    stats = segments.customer_stats()
    buyers = _period_buyers(p)
    kind = case((stats.c.first_order_at >= p.start, literal("new")), else_=literal("returning"))
    statement = (select(User.id, User.username, User.email, kind, buyers.c.orders, buyers.c.revenue,
                        stats.c.orders, stats.c.spent, stats.c.first_order_at, stats.c.last_order_at)
                 .select_from(buyers).join(stats, stats.c.user_id == buyers.c.buyer_id)
                 .join(User, User.id == buyers.c.buyer_id).order_by(buyers.c.revenue.desc(), User.username))
    for uid, name, email, kind_of, orders, revenue, ever_orders, spent, first, last in _stream(statement):
        yield [uid, name, email, kind_of, int(orders), Money(revenue), int(ever_orders), Money(spent), first, last]


def _tax_included(order_id):
    """Whether the order's tax is inside its prices (shown, not added): then ``subtotal - discount
    + shipping = total``; otherwise ``subtotal - discount + shipping + tax = total``."""
    return exists().where(OrderAdjustment.order_id == order_id, OrderAdjustment.kind == "tax",
                          OrderAdjustment.included.is_(True))


def _order_rows(p: Period) -> Iterator[list]:
    statement = (select(Order.order_number, Order.created_at, Order.paid_at, Order.status, Order.payment_status,
                        Order.payment_method, Order.email, Order.item_count, Order.subtotal, Order.discount_total,
                        Order.shipping_total, Order.tax_total, Order.total, Order.amount_refunded, Order.coupon_code,
                        Order.is_gift, _tax_included(Order.id).label("tax_included"))
                 .where(Order.created_at >= p.start, Order.created_at < p.end)
                 .order_by(Order.created_at, Order.order_number))
    for (number, created, paid, status, pay_status, method, email, items, subtotal, discount, shipping, tax, total,
         refunded, coupon, gift, included) in _stream(statement):
        yield [number, created, paid, status, pay_status, method, email, items, Money(subtotal), Money(discount),
               Money(shipping), Money(tax), bool(included), Money(total), Money(refunded), Money(total - refunded),
               coupon, gift]


HEADERS = {
    "sales": ["period", "starts_at", "ends_at", "orders", "gross", "refunds", "revenue", "items", "average_order_value",
              "cost", "profit", "margin", "cost_coverage"],
    "products": ["product_id", "title", "units", "orders", "revenue", "cost", "profit", "margin", "cost_coverage"],
    "categories": ["category_id", "title", "units", "orders", "revenue", "share"],
    "customers": ["user_id", "username", "email", "kind", "orders", "revenue", "lifetime_orders", "lifetime_value",
                  "first_order_at", "last_order_at"],
    "orders": ["order_number", "placed_at", "paid_at", "status", "payment_status", "payment_method", "email", "items",
               "subtotal", "discount", "shipping", "tax", "tax_included", "total", "refunded", "net", "coupon", "gift"],
}


def export(store, kind: str, p: Period, *, group_by: str | None = None, sort_by: str = "revenue") -> Iterator[str]:
    """One report as CSV text, chunk by chunk. The arguments are checked before the first chunk
    (an unknown type or a bad grouping is a 422, not a broken download). ``orders`` lists every
    order placed in the period (``created_at``), whatever its status, gifts marked."""
    check_type(kind)
    if kind == "sales":
        check_grouping(p, group_by)
        rows: Iterable[list] = _sales_rows(store, p, group_by)
    elif kind == "products":
        check_sort(sort_by)
        rows = _product_rows(p, sort_by)
    elif kind == "categories":
        rows = _category_rows(p)
    elif kind == "customers":
        rows = _customer_rows(p)
    else:
        rows = _order_rows(p)
    return _csv(HEADERS[kind], rows, store.currency)


def export_filename(store, kind: str, p: Period) -> str:
    zone = analytics.store_zone(store)
    first = p.start.astimezone(zone).date().isoformat()
    last = (p.end.astimezone(zone) - timedelta(days=1)).date().isoformat()
    return f"{store.slug}-{kind}-{first}-to-{last}.csv"
