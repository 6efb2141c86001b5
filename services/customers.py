"""Seed A's customers admin: the analytics overview and the CSV export. A customer is a user
with the role USER or RESELLER (``services.segments``); erased accounts are no one's customers.

- Overview: the segment counts, new customers per month over the last 12 months (months of the
  store's time zone, ``analytics.period(store, "12m")``, every month present) and the top
  customers by lifetime spend (net of refunds). Each is one SQL statement.
- Export: every customer, one CSV row each, read in chunks (``yield_per``) so the answer streams
  and memory stays flat. Cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
  ``@``, tab, carriage return first) get a leading ``'``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select

from extensions import db
from models import User
from tenancy import tenant_scope

from . import analytics, segments
from .money import exponent

TOP_CUSTOMERS = 10
EXPORT_CHUNK = 500
EXPORT_COLUMNS = ("id", "username", "email", "role", "segment", "orders", "spent", "currency", "balance",
                  "discount_percent", "is_active", "created_at", "first_order_at", "last_order_at", "note")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def new_per_month(store, now: datetime | None = None) -> list[dict]:
    """New customers (registered USER/RESELLER accounts) per month of the last 12, oldest first."""
    p = analytics.period(store, "12m", now=now)
    buckets = analytics._bucket_table(p)
    rows = db.session.execute(
        select(buckets.c.label, func.count(User.id)).select_from(buckets)
        .outerjoin(User, and_(User.created_at >= buckets.c.starts, User.created_at < buckets.c.ends,
                              User.role.in_(segments.CUSTOMER_ROLES), User.erased_at.is_(None)))
        .group_by(buckets.c.label)).all()
    found = {label: int(n) for label, n in rows}
    return [{"month": label, "start": start, "new_customers": found.get(label, 0)} for label, start, _ in p.buckets]


def top_customers(limit: int = TOP_CUSTOMERS, now: datetime | None = None) -> list:
    """The customers who spent most (net of refunds), as ``segments.customers`` rows."""
    stmt = segments.customers(now=now).where(User.erased_at.is_(None))
    spent = stmt.selected_columns.spent
    return list(db.session.execute(stmt.where(spent > 0).order_by(spent.desc(), User.id).limit(limit)).all())


def overview(store, now: datetime | None = None) -> dict:
    counts = segments.segment_counts(now)
    return {"segments": counts, "total_customers": sum(counts.values()),
            "new_customers_per_month": new_per_month(store, now), "top_customers": top_customers(now=now)}


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text, never runs: formula starts get a leading '."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _major(minor: int, currency: str) -> str:
    exp = exponent(currency)
    return f"{Decimal(int(minor)).scaleb(-exp):.{exp}f}"


def export_rows(store_id: str, currency: str, now: datetime | None = None) -> Iterator[str]:
    """The CSV, one line at a time (header first): every customer, oldest account first, read
    ``EXPORT_CHUNK`` rows at a time. Amounts in major units (``49.99``) of ``currency``.

    The rows are read while the answer streams, after the request's own transaction has ended
    and its store binding with it (Flask runs a streamed body after the request's teardown), so
    the generator binds the store itself for its reads."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(c) for c in cells])
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    with tenant_scope(store_id):
        stmt = (segments.customers(now=now).where(User.erased_at.is_(None)).order_by(User.created_at, User.id)
                .execution_options(yield_per=EXPORT_CHUNK))
        for user, orders, spent, first_at, last_at, segment in db.session.execute(stmt):
            yield line((user.id, user.username, user.email, user.role, segment, int(orders), _major(spent, currency),
                        currency, _major(user.balance, currency), f"{user.discount_bps / 100:g}",
                        str(user.is_active).lower(), user.created_at, first_at, last_at, user.note))
