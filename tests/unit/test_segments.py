"""Customer segments against hand-made customers: each rule, its precedence, and that staff and
other stores' customers are never counted."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extensions import db
from models import Order, User
from services import segments
from services.errors import Invalid
from tenancy import tenant_scope

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
_n = iter(range(1, 10_000))


def _sale(user_id: str, *, total: int, days_ago: int, refunded: int = 0, gift: bool = False, paid: bool = True):
    when = NOW - timedelta(days=days_ago)
    db.session.add(Order(order_number=next(_n), email="b@example.com", payment_method="BALANCE", currency="EUR",
                         buyer_id=user_id, total=total, subtotal=total, amount_refunded=refunded, is_gift=gift,
                         status="COMPLETED" if paid else "PENDING", payment_status="PAID" if paid else "UNPAID",
                         paid_at=when if paid else None, created_at=when))


def _customers(app, make, store):
    """name -> user; registered a year ago unless said otherwise."""
    people = {name: make.user(store, username=name) for name in
              ("big", "many", "fresh", "recent", "lapsing", "gone", "never", "refunded")}
    people["staff"] = make.user(store, role="STAFF", username="staffer")
    with app.app_context(), tenant_scope(store):
        for name, user in people.items():
            db.session.get(User, user.id).created_at = NOW - timedelta(days=5 if name == "fresh" else 400)
        _sale(people["big"].id, total=50_000, days_ago=200)  # VIP by spend, although at risk by date
        for _ in range(10):
            _sale(people["many"].id, total=100, days_ago=500)  # VIP by count
        _sale(people["fresh"].id, total=900, days_ago=1)  # registered 5 days ago: new before active
        _sale(people["recent"].id, total=900, days_ago=89)
        _sale(people["lapsing"].id, total=900, days_ago=91)
        _sale(people["gone"].id, total=900, days_ago=366)
        _sale(people["never"].id, total=900, days_ago=1, paid=False)  # unpaid: not a sale
        _sale(people["never"].id, total=900, days_ago=1, gift=True)  # a gift: not a sale
        _sale(people["refunded"].id, total=60_000, days_ago=10, refunded=20_000)  # 400.00 net: not VIP
        _sale(people["staff"].id, total=90_000, days_ago=1)
        db.session.commit()
    return people


def test_each_customer_lands_in_the_first_matching_segment(app, make, store, other_store):
    people = _customers(app, make, store)
    make.user(other_store, username="elsewhere")
    with app.app_context(), tenant_scope(store):
        got = {name: segments.segment_of(user.id, NOW) for name, user in people.items()}
        counts = segments.segment_counts(NOW)
        rows = db.session.execute(segments.customers(segment="vip", now=NOW)).all()
        audience = set(db.session.scalars(segments.customer_ids("at_risk", now=NOW)))
        everyone = set(db.session.scalars(segments.customer_ids(None, now=NOW)))
    assert got == {"big": "vip", "many": "vip", "fresh": "new", "recent": "active", "lapsing": "at_risk",
                   "gone": "inactive", "never": "inactive", "refunded": "active", "staff": None}
    assert counts == {"vip": 2, "new": 1, "active": 2, "at_risk": 1, "inactive": 2}
    assert {(r[0].username, r.orders, r.spent) for r in rows} == {("big", 1, 50_000), ("many", 10, 1000)}
    assert audience == {people["lapsing"].id}
    assert len(everyone) == 8 and people["staff"].id not in everyone


def test_an_unknown_segment_is_refused(app, store):
    with app.app_context(), tenant_scope(store), pytest.raises(Invalid) as refused:
        segments.customers(segment="whales")
    assert refused.value.code == "invalid_segment"
