"""Customer segments: who is new, active, at risk, a VIP or inactive, computed by SQL.

A customer is a user with the role USER or RESELLER. Their figures come from their sales (paid,
non-gift orders, as in ``analytics``): ``orders`` (count), ``spent`` (totals net of refunds),
``first_order_at`` and ``last_order_at`` (``paid_at``). Each customer is in exactly one segment,
the first rule that matches, in this order:

1. ``vip``: ``spent`` is at least ``VIP_SPEND`` (500.00 in the store's currency) or ``orders`` at
   least ``VIP_ORDERS`` (10).
2. ``new``: registered in the last ``NEW_DAYS`` (30) days.
3. ``active``: bought in the last ``ACTIVE_DAYS`` (90) days.
4. ``at_risk``: has bought, the last time between ``ACTIVE_DAYS`` and ``AT_RISK_DAYS`` (365) days ago.
5. ``inactive``: everyone else (never bought, or not for a year).

The rules are one SQL CASE over a GROUP BY of the orders joined to the users, so a list filtered
by segment, the counts per segment and a campaign's audience are each one statement.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, literal, select

from extensions import db
from models import Order, User

from .errors import Invalid

SEGMENTS = ("vip", "new", "active", "at_risk", "inactive")
CUSTOMER_ROLES = ("USER", "RESELLER")
VIP_SPEND = 50_000  # minor units
VIP_ORDERS = 10
NEW_DAYS = 30
ACTIVE_DAYS = 90
AT_RISK_DAYS = 365


def check_segment(segment: str | None) -> str | None:
    """``None`` for no filter; a known segment name; 422 ``invalid_segment`` otherwise."""
    if segment in (None, "", "all"):
        return None
    if segment not in SEGMENTS:
        raise Invalid(f"The segment is one of: {', '.join(SEGMENTS)}", code="invalid_segment",
                      details={"segment": [f"one of: {', '.join(SEGMENTS)}"]})
    return segment


def customer_stats():
    """Per buyer: orders, spent, first and last sale (one GROUP BY over the orders)."""
    return (select(Order.buyer_id.label("user_id"), func.count().label("orders"),
                   func.coalesce(func.sum(Order.total - Order.amount_refunded), 0).label("spent"),
                   func.min(Order.paid_at).label("first_order_at"), func.max(Order.paid_at).label("last_order_at"))
            .where(Order.paid_at.isnot(None), Order.is_gift.is_(False), Order.buyer_id.isnot(None))
            .group_by(Order.buyer_id).subquery("customer_stats"))


def segment_case(stats, now: datetime | None = None):
    """The CASE expression naming a customer's segment (``stats`` from ``customer_stats()``,
    outer-joined to ``User``)."""
    now = now or datetime.now(UTC)
    orders = func.coalesce(stats.c.orders, 0)
    spent = func.coalesce(stats.c.spent, 0)
    return case(
        ((spent >= VIP_SPEND) | (orders >= VIP_ORDERS), literal("vip")),
        (User.created_at >= now - timedelta(days=NEW_DAYS), literal("new")),
        (stats.c.last_order_at >= now - timedelta(days=ACTIVE_DAYS), literal("active")),
        (stats.c.last_order_at >= now - timedelta(days=AT_RISK_DAYS), literal("at_risk")),
        else_=literal("inactive"))


def customers(*, segment: str | None = None, now: datetime | None = None):
    """A SELECT of ``(User, orders, spent, first_order_at, last_order_at, segment)`` for every
    customer of the bound store, optionally of one segment. Callers add search, order and paging."""
    segment = check_segment(segment)
    stats = customer_stats()
    named = segment_case(stats, now)
    stmt = (select(User, func.coalesce(stats.c.orders, 0).label("orders"), func.coalesce(stats.c.spent, 0).label("spent"),
                   stats.c.first_order_at, stats.c.last_order_at, named.label("segment"))
            .outerjoin(stats, stats.c.user_id == User.id).where(User.role.in_(CUSTOMER_ROLES)))
    if segment:
        stmt = stmt.where(named == segment)
    return stmt


def customer_ids(segment: str | None = None, *, now: datetime | None = None):
    """A SELECT of the ids of the customers in a segment (all customers for ``None``): a
    campaign's audience, usable as ``User.id.in_(...)``."""
    segment = check_segment(segment)
    stats = customer_stats()
    stmt = select(User.id).outerjoin(stats, stats.c.user_id == User.id).where(User.role.in_(CUSTOMER_ROLES))
    if segment:
        stmt = stmt.where(segment_case(stats, now) == segment)
    return stmt


def segment_counts(now: datetime | None = None) -> dict[str, int]:
    """How many customers each segment holds (every segment present, zero when empty)."""
    stats = customer_stats()
    named = segment_case(stats, now).label("segment")
    inner = (select(named).select_from(User).outerjoin(stats, stats.c.user_id == User.id)
             .where(User.role.in_(CUSTOMER_ROLES)).subquery())
    found = dict(db.session.execute(select(inner.c.segment, func.count()).group_by(inner.c.segment)).all())
    return {name: int(found.get(name, 0)) for name in SEGMENTS}


def segment_of(user_id: str, now: datetime | None = None) -> str | None:
    """One customer's segment (``None`` for staff or an unknown id)."""
    stats = customer_stats()
    return db.session.scalar(select(segment_case(stats, now)).select_from(User)
                             .outerjoin(stats, and_(stats.c.user_id == User.id))
                             .where(User.id == user_id, User.role.in_(CUSTOMER_ROLES)))
