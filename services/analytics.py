"""The merchant's numbers: KPIs, the sales chart and the breakdowns of the dashboard, computed by
SQL in the database (aggregates over paid orders), never by loading orders into Python.

Periods (``7d``, ``30d``, ``12m`` or a custom range) are cut in the store's time zone (the
``timezone`` setting, an IANA name; UTC by default): a day is the store's local day. Buckets are
built here as exact UTC boundaries (daylight-saving days are 23 or 25 hours long) and joined to the
orders as a VALUES list, so both databases bucket the same way without time-zone support in SQL.

What counts: an order is a sale once paid (``paid_at``), gifts excepted. Revenue is net of
refunds (``total - amount_refunded``); ``gross`` and ``refunds`` are shown beside it.

Cost (``bucket_costs``): a sold digital unit costs its stock batch's ``unit_cost`` (set at import,
optional). The units of a sale count in the bucket of the order's ``paid_at``; a replacement item
(``replacement_for_id`` set) is a cost without revenue and counts in the bucket of its own
``sold_at`` (when it was handed out). A unit whose batch has no cost, and every physical unit, has
an unknown cost: ``cost_coverage`` is the share of units (sold plus replacements) with a known cost,
so a margin over partly known costs says how much of it is known.

Speed: the payment writes what the reports sum onto the rows it already writes
(``orders.record_sale``): the order's ``cost_total`` and ``cost_known_units``, and on each line
its ``paid_at``, ``is_gift`` and ``cost``. Every sales aggregate is then one range of a covering
index, ``ix_orders_store_paid_at`` or ``ix_order_lines_store_paid_at``, read without a join to the
orders or the stock items (only the few replacements are read from the stock items, through their
partial index). No shared rollup row: two checkouts never write the same row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, and_, func, literal, select, union_all

from extensions import db
from models import Category, Order, OrderLine, Product, ReplacementRequest, StockBatch, StockItem, User
from models.base import UTCDateTime

from .errors import Invalid
from .stores import settings_of

PERIODS = {"7d": (7, "day"), "30d": (30, "day"), "12m": (12, "month")}
MAX_DAYS = 366


def store_zone(store) -> ZoneInfo:
    name = getattr(settings_of(store), "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class Period:
    name: str  # 7d | 30d | 12m | custom
    unit: str  # day | month
    buckets: list[tuple[str, datetime, datetime]]  # (label, start UTC, end UTC)

    @property
    def start(self) -> datetime:
        return self.buckets[0][1]

    @property
    def end(self) -> datetime:
        return self.buckets[-1][2]


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _add_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def period(store, name: str | None = "30d", *, date_from: date | None = None, date_to: date | None = None,
           now: datetime | None = None) -> Period:
    """The buckets of a period ending today (local), or of a custom range of local days."""
    zone = store_zone(store)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    if date_from or date_to:
        first, last = date_from or today, date_to or today
        if last < first:
            raise Invalid("The range ends before it starts", details={"date_to": ["before date_from"]})
        if (last - first).days >= MAX_DAYS:
            raise Invalid(f"A custom range is at most {MAX_DAYS} days", details={"date_from": ["range too long"]})
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        return Period("custom", "day", [(d.isoformat(), _local_midnight(d, zone),
                                         _local_midnight(d + timedelta(days=1), zone)) for d in days])
    if (name or "30d") not in PERIODS:
        raise Invalid("The period is 7d, 30d or 12m (or a date_from/date_to range)",
                      details={"period": [f"one of: {', '.join(PERIODS)}"]})
    count, unit = PERIODS[name or "30d"]
    if unit == "day":
        days = [today - timedelta(days=count - 1 - i) for i in range(count)]
        return Period(name, unit, [(d.isoformat(), _local_midnight(d, zone), _local_midnight(d + timedelta(days=1), zone))
                                   for d in days])
    month = date(today.year, today.month, 1)
    months = [month]
    for _ in range(count - 1):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        months.insert(0, month)
    return Period(name, unit, [(m.strftime("%Y-%m"), _local_midnight(m, zone), _local_midnight(_add_month(m), zone))
                               for m in months])


def sales_filter(start, end):
    """Paid, non-gift orders in [start, end) (datetimes, or a bucket table's columns)."""
    return and_(Order.paid_at.isnot(None), Order.paid_at >= start, Order.paid_at < end, Order.is_gift.is_(False))


_sales = sales_filter


def line_sales_filter(start, end):
    """The lines of paid, non-gift orders in [start, end) (their copy of the order's ``paid_at``)."""
    return and_(OrderLine.paid_at.isnot(None), OrderLine.paid_at >= start, OrderLine.paid_at < end,
                OrderLine.is_gift.is_(False))


def regroup(store, p: Period, unit: str) -> Period:
    """The same span cut into local days, weeks (starting on Monday) or calendar months; the first
    and last bucket are clipped to the period (a week label is its Monday, a month ``YYYY-MM``)."""
    if unit == p.unit:
        return p
    zone = store_zone(store)
    first, stop = p.start.astimezone(zone).date(), p.end.astimezone(zone).date()
    groups: list[tuple[str, date, date]] = []
    day = first
    while day < stop:
        if unit == "week":
            key = day - timedelta(days=day.weekday())
            following = key + timedelta(days=7)
        elif unit == "month":
            key = date(day.year, day.month, 1)
            following = _add_month(key)
        else:
            key, following = day, day + timedelta(days=1)
        label = key.strftime("%Y-%m") if unit == "month" else key.isoformat()
        end = min(following, stop)
        groups.append((label, day, end))
        day = end
    return Period(p.name, unit, [(label, _local_midnight(a, zone), _local_midnight(b, zone)) for label, a, b in groups])


def replacement_costs(buckets) -> dict[str, tuple[int, int, int]]:
    """Per bucket label: (replacement items handed out, those with a known cost, their cost), from
    the partial index of replacements by time (a few rows)."""
    rows = db.session.execute(
        select(buckets.c.label, func.count(StockItem.id), func.count(StockBatch.unit_cost),
               func.coalesce(func.sum(StockBatch.unit_cost), 0))
        .select_from(buckets)
        .join(StockItem, and_(StockItem.replacement_for_id.isnot(None), StockItem.is_sold.is_(True),
                              StockItem.sold_at >= buckets.c.starts, StockItem.sold_at < buckets.c.ends))
        .outerjoin(StockBatch, StockBatch.id == StockItem.batch_id)
        .group_by(buckets.c.label)).all()
    return {label: (int(items), int(known), int(cost)) for label, items, known, cost in rows}


def merge_costs(sold: dict[str, tuple[int, int]], replaced: dict[str, tuple[int, int, int]]) -> dict[str, dict]:
    """``bucket_costs``'s shape from the sales' (cost, known units) and the replacements per label."""
    found: dict[str, dict] = {}
    for label, (cost, known) in sold.items():
        found[label] = {"cost": int(cost), "known": int(known), "replacements": 0, "replacement_cost": 0}
    for label, (items, known, cost) in replaced.items():
        row = found.setdefault(label, {"cost": 0, "known": 0, "replacements": 0, "replacement_cost": 0})
        row["cost"] += cost
        row["known"] += known
        row["replacements"] += items
        row["replacement_cost"] += cost
    return found


def bucket_costs(buckets) -> dict[str, dict]:
    """Per bucket label: ``cost`` (known unit costs summed), ``known`` (units with a known cost),
    ``replacements`` (replacement items handed out) and ``replacement_cost`` (included in
    ``cost``). Two GROUP BYs: the sales' own cost columns (``Order.cost_total``), and the
    replacements."""
    sold = db.session.execute(
        select(buckets.c.label, func.coalesce(func.sum(Order.cost_total), 0),
               func.coalesce(func.sum(Order.cost_known_units), 0))
        .select_from(buckets)
        .join(Order, sales_filter(buckets.c.starts, buckets.c.ends))
        .group_by(buckets.c.label)).all()
    return merge_costs({label: (cost, known) for label, cost, known in sold}, replacement_costs(buckets))


def profit_fields(revenue: int, units: int, costs: dict | None) -> dict:
    """``cost``, ``profit``, ``margin`` (profit / revenue, ``None`` without revenue) and
    ``cost_coverage`` (units with a known cost / units sold and replaced, ``None`` without units)."""
    costs = costs or {"cost": 0, "known": 0, "replacements": 0, "replacement_cost": 0}
    cost = costs["cost"]
    counted = units + costs["replacements"]
    return {"cost": cost, "profit": revenue - cost, "margin": round((revenue - cost) / revenue, 4) if revenue else None,
            "cost_coverage": round(costs["known"] / counted, 4) if counted else None,
            "replacements": costs["replacements"], "replacement_cost": costs["replacement_cost"]}


def kpis(store, p: Period) -> dict:
    """The overview's numbers over a period (each one SQL aggregate)."""
    row = db.session.execute(select(
        func.count(), func.coalesce(func.sum(Order.total), 0), func.coalesce(func.sum(Order.amount_refunded), 0),
        func.coalesce(func.sum(Order.item_count), 0), func.coalesce(func.sum(Order.cost_total), 0),
        func.coalesce(func.sum(Order.cost_known_units), 0)).where(_sales(p.start, p.end))).one()
    orders, gross, refunds, items = int(row[0]), int(row[1]), int(row[2]), int(row[3])
    new_customers = db.session.scalar(select(func.count(User.id)).where(
        User.created_at >= p.start, User.created_at < p.end, User.role.in_(("USER", "RESELLER")))) or 0
    pending_manual = db.session.scalar(select(func.count()).where(
        Order.status == "PENDING", Order.payment_status == "UNPAID", Order.payment_method == "MANUAL")) or 0
    open_replacements = db.session.scalar(select(func.count(ReplacementRequest.id))
                                          .where(ReplacementRequest.status == "PENDING")) or 0
    products = db.session.scalar(select(func.count(Product.id)).where(Product.deleted_at.is_(None))) or 0
    customers = db.session.scalar(select(func.count(User.id)).where(User.role.in_(("USER", "RESELLER")))) or 0
    revenue = gross - refunds
    whole = bucket_table(Period(p.name, p.unit, [("all", p.start, p.end)]))
    costs = merge_costs({"all": (int(row[4]), int(row[5]))}, replacement_costs(whole))
    profit = profit_fields(revenue, items, costs.get("all"))
    return {**profit, "period": p.name, "date_from": p.start, "date_to": p.end, "currency": store.currency, "revenue": revenue,
            "gross": gross, "refunds": refunds, "orders": orders, "average_order_value": revenue // orders if orders else 0,
            "items_sold": items, "new_customers": int(new_customers), "pending_manual_orders": int(pending_manual),
            "open_replacements": int(open_replacements), "products": int(products), "customers": int(customers)}


def bucket_table(p: Period):
    """The buckets as a derived table (a UNION ALL of one-row SELECTs: SQLite has no VALUES with
    named columns; at most 366 rows, under SQLite's 500 compound-SELECT limit)."""
    rows = [select(literal(label, String).label("label"), literal(start, UTCDateTime()).label("starts"),
                   literal(end, UTCDateTime()).label("ends")) for label, start, end in p.buckets]
    return union_all(*rows).subquery("buckets") if len(rows) > 1 else rows[0].subquery("buckets")


_bucket_table = bucket_table


def chart(store, p: Period) -> dict:
    """Revenue and orders per day (or month) of the period: one GROUP BY over a VALUES list of
    the buckets' UTC boundaries, every bucket present (zero when nothing sold)."""
    buckets = bucket_table(p)
    rows = db.session.execute(
        select(buckets.c.label, func.count(),
               func.coalesce(func.sum(Order.total - Order.amount_refunded), 0),
               func.coalesce(func.sum(Order.item_count), 0))
        .select_from(buckets)
        .join(Order, and_(Order.paid_at >= buckets.c.starts, Order.paid_at < buckets.c.ends,
                          Order.is_gift.is_(False)))
        .group_by(buckets.c.label)).all()
    found = {label: (int(n), int(revenue), int(items)) for label, n, revenue, items in rows}
    return {"period": p.name, "unit": p.unit, "currency": store.currency,
            "points": [{"label": label, "start": start, "orders": found.get(label, (0, 0, 0))[0],
                        "revenue": found.get(label, (0, 0, 0))[1], "items_sold": found.get(label, (0, 0, 0))[2]}
                       for label, start, _ in p.buckets]}


def breakdown(store, p: Period, *, top: int = 5) -> dict:
    """Orders placed in the period by status; the period's sales (what ``kpis`` counts as its
    "orders": paid in the period, gifts aside) by payment method; and the top categories and
    products by revenue. Two statements: a UNION ALL of the placed orders per status and the sales
    per method (net of refunds), each half on its own index; and one over the period's lines
    per product (their index alone), from which both top lists are taken (the categories through
    the products' own rows)."""
    # one statement, each half on its own index: the period's placed orders per status (the covering
    # ``ix_orders_store_created_at``) and its sales per method (the paid_at index ``kpis`` reads); an
    # OR of both ranges in one WHERE could use neither index alone on a big store
    per_status = (select(literal("status").label("kind"), Order.status.label("key"), func.count().label("n"),
                         literal(0).label("revenue"))
                  .where(Order.created_at >= p.start, Order.created_at < p.end).group_by(Order.status))
    per_method = (select(literal("method").label("kind"), Order.payment_method.label("key"), func.count().label("n"),
                         func.coalesce(func.sum(Order.total - Order.amount_refunded), 0).label("revenue"))
                  .where(sales_filter(p.start, p.end)).group_by(Order.payment_method))
    statuses: dict[str, int] = {}
    methods: dict[str, list[int]] = {}
    for kind, key, n, revenue in db.session.execute(union_all(per_status, per_method)).all():
        if kind == "status":
            statuses[key] = int(n)
        else:  # paid in the period and not a gift (a gift is paid by nobody: it has no method)
            methods[key] = [int(n), int(revenue)]
    sold = line_sales_filter(p.start, p.end)
    per_product = (select(OrderLine.product_id.label("product_id"), func.max(OrderLine.product_title).label("title"),
                          func.sum(OrderLine.line_subtotal).label("revenue"), func.sum(OrderLine.quantity).label("units"))
                   .where(sold).group_by(OrderLine.product_id).cte("per_product"))
    top_products = (select(literal("product").label("kind"), per_product.c.product_id.label("id"), per_product.c.title,
                           per_product.c.revenue, per_product.c.units)
                    .order_by(per_product.c.revenue.desc()).limit(top).subquery("top_products"))
    category_revenue = func.sum(per_product.c.revenue)
    top_categories = (select(literal("category").label("kind"), Category.id.label("id"), Category.title.label("title"),
                             category_revenue.label("revenue"), func.sum(per_product.c.units).label("units"))
                      .select_from(per_product).join(Product, Product.id == per_product.c.product_id)
                      .join(Category, Category.id == Product.category_id).group_by(Category.id, Category.title)
                      .order_by(category_revenue.desc()).limit(top).subquery("top_categories"))
    tops = db.session.execute(union_all(select(top_products), select(top_categories))).all()
    ranked = sorted(tops, key=lambda row: -int(row.revenue))  # stable: SQL's order among equals
    return {
        "period": p.name, "currency": store.currency,
        "by_status": [{"status": s, "count": n} for s, n in sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_payment_method": [{"payment_method": m, "count": n, "revenue": r}
                              for m, (n, r) in sorted(methods.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        "top_categories": [{"category_id": row.id, "title": row.title, "revenue": int(row.revenue), "units": int(row.units)}
                           for row in ranked if row.kind == "category"],
        "top_products": [{"product_id": row.id, "title": row.title, "revenue": int(row.revenue), "units": int(row.units)}
                         for row in ranked if row.kind == "product"],
    }


def product_sales(store, p: Period, *, product_id: str | None = None, variant_id: str | None = None) -> dict:
    """Seed B's stats: revenue and units of all products, one product or one subcategory (order
    lines of paid sales), as totals and per bucket of the period. Two GROUP BYs."""
    where = [line_sales_filter(p.start, p.end)]
    if product_id:
        where.append(OrderLine.product_id == product_id)
    if variant_id:
        where.append(OrderLine.variant_id == variant_id)
    total = db.session.execute(
        select(func.coalesce(func.sum(OrderLine.line_subtotal), 0), func.coalesce(func.sum(OrderLine.quantity), 0),
               func.count(func.distinct(OrderLine.order_id))).where(*where)).one()
    buckets = bucket_table(p)
    rows = db.session.execute(
        select(buckets.c.label, func.coalesce(func.sum(OrderLine.line_subtotal), 0),
               func.coalesce(func.sum(OrderLine.quantity), 0))
        .select_from(buckets)
        .join(OrderLine, and_(line_sales_filter(buckets.c.starts, buckets.c.ends), *where[1:]))
        .group_by(buckets.c.label)).all()
    found = {label: (int(revenue), int(units)) for label, revenue, units in rows}
    return {"period": p.name, "unit": p.unit, "currency": store.currency, "product_id": product_id,
            "subcategory_id": variant_id, "revenue": int(total[0]), "units": int(total[1]), "orders": int(total[2]),
            "points": [{"label": label, "start": start, "revenue": found.get(label, (0, 0))[0],
                        "units": found.get(label, (0, 0))[1]} for label, start, _ in p.buckets]}
