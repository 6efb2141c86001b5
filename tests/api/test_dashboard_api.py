"""The dashboard's numbers against hand-computed fixtures: orders placed and paid at chosen
instants (refunds, a gift, an unpaid order), bucketed in the store's time zone, including an order
paid 30 minutes before local midnight (it belongs to the day before in Lisbon, to the next in
UTC) and the daylight-saving change."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from extensions import db
from models import Order, OrderLine, Store
from services import analytics, orders
from services.stores import update_settings
from tenancy import tenant_scope

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _order(number: int, *, total: int, paid_at: datetime | None, refunded: int = 0, gift: bool = False,
           method: str = "BALANCE", items: int = 1, title: str = "Card") -> Order:
    order = Order(order_number=number, email=f"b{number}@example.com", payment_method=method, currency="EUR",
                  total=total, subtotal=total, item_count=items, amount_refunded=refunded, is_gift=gift,
                  status="COMPLETED" if paid_at else "PENDING", payment_status="PAID" if paid_at else "UNPAID",
                  paid_at=paid_at, created_at=paid_at or NOW)
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderLine(order_id=order.id, product_title=title, variant_title="v", quantity=items,
                             unit_price=total // max(items, 1), line_subtotal=total))
    orders.record_sale(order)  # what the payment writes: the lines' paid_at and is_gift
    return order


def _shop(app, store, zone: str = "Europe/Lisbon"):
    with app.app_context(), tenant_scope(store):
        update_settings(db.session.get(Store, store.id), {"timezone": zone})
        # Lisbon is UTC+0 in November; 2026-11-28 23:30 UTC is still the 28th there
        _order(1, total=1000, paid_at=datetime(2026, 11, 28, 23, 30, tzinfo=UTC))
        _order(2, total=2500, paid_at=datetime(2026, 11, 29, 0, 30, tzinfo=UTC), refunded=500, items=2)
        _order(3, total=0, paid_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC), gift=True)  # not a sale
        _order(4, total=4000, paid_at=None)  # never paid
        _order(5, total=700, paid_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC), method="STRIPE")
        _order(6, total=9900, paid_at=datetime(2026, 10, 29, 12, 0, tzinfo=UTC))  # 31 days before: outside 30d
        db.session.commit()


def test_kpis_over_30_days_count_paid_sales_net_of_refunds(app, store):
    _shop(app, store)
    with app.app_context(), tenant_scope(store):
        shop = db.session.get(Store, store.id)
        k = analytics.kpis(shop, analytics.period(shop, "30d", now=NOW))
    assert (k["orders"], k["gross"], k["refunds"], k["revenue"]) == (3, 4200, 500, 3700)
    assert k["average_order_value"] == 3700 // 3 and k["items_sold"] == 4


def test_the_chart_buckets_by_the_stores_local_day(app, store):
    _shop(app, store, zone="Asia/Tokyo")  # UTC+9: 23:30 UTC on the 28th is 08:30 on the 29th
    with app.app_context(), tenant_scope(store):
        shop = db.session.get(Store, store.id)
        points = analytics.chart(shop, analytics.period(shop, "7d", now=NOW))["points"]
    by_day = {p["label"]: (p["orders"], p["revenue"]) for p in points}
    assert len(points) == 7 and points[-1]["label"] == "2026-11-29"
    assert by_day["2026-11-29"] == (2, 1000 + 2000)  # both late-UTC orders are the 29th in Tokyo
    assert by_day["2026-11-28"] == (0, 0)


def test_the_same_orders_in_lisbon_split_at_local_midnight(app, store):
    _shop(app, store, zone="Europe/Lisbon")
    with app.app_context(), tenant_scope(store):
        shop = db.session.get(Store, store.id)
        points = analytics.chart(shop, analytics.period(shop, "7d", now=NOW))["points"]
    by_day = {p["label"]: (p["orders"], p["revenue"]) for p in points}
    assert by_day["2026-11-28"] == (1, 1000) and by_day["2026-11-29"] == (1, 2000)


def test_a_daylight_saving_day_has_25_hours_and_months_bucket_locally(app, store):
    with app.app_context(), tenant_scope(store):
        shop = db.session.get(Store, store.id)
        update_settings(shop, {"timezone": "Europe/Lisbon"})
        day = analytics.period(shop, date_from=date(2026, 10, 25), date_to=date(2026, 10, 25))
        assert day.end - day.start == timedelta(hours=25)  # clocks went back that night
        months = analytics.period(shop, "12m", now=NOW)
        assert [b[0] for b in months.buckets][0] == "2025-12" and months.buckets[-1][0] == "2026-11"
        assert months.buckets[-1][1] == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # Lisbon: UTC+0 in November
        assert months.buckets[6][1] == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)  # June 1st, 00:00 WEST


def test_the_api_answers_the_numbers_in_major_units_and_refuses_bad_periods(client, app, store, make):
    _shop(app, store)
    staff = make.headers(make.user(store, role="STAFF", username="desk", email="desk@example.com"), store)
    stats = client.get("/api/dashboard/stats?period=12m", headers=staff)
    assert stats.status_code == 200
    body = stats.get_json()
    assert body["currency"] == "EUR" and body["orders"] == 4 and body["revenue"] == 136.0  # 37.00 + 99.00
    chart = client.get("/api/dashboard/stats/chart?period=12m", headers=staff).get_json()
    assert chart["unit"] == "month" and len(chart["points"]) == 12
    assert sum(p["revenue"] for p in chart["points"]) == 136.0
    breakdown = client.get("/api/dashboard/stats/breakdown?period=12m", headers=staff).get_json()
    # the gift (#3) has a status but no payment method: nobody paid for it; the unpaid #4 is no sale
    assert {m["payment_method"]: m["count"] for m in breakdown["by_payment_method"]} == {"BALANCE": 3, "STRIPE": 1}
    assert sum(m["count"] for m in breakdown["by_payment_method"]) == body["orders"]
    assert sum(m["revenue"] for m in breakdown["by_payment_method"]) == body["revenue"]
    assert sum(s["count"] for s in breakdown["by_status"]) == 6
    assert breakdown["top_products"][0]["title"] == "Card" and breakdown["top_products"][0]["revenue"] == 141.0  # line totals of the paid sales
    assert client.get("/api/dashboard/stats?period=5y", headers=staff).status_code == 422
    backwards = client.get("/api/dashboard/stats?date_from=2026-11-10&date_to=2026-11-01", headers=staff)
    assert backwards.status_code == 422 and "date_to" in backwards.get_json()["error"]["details"]
    user = make.headers(make.user(store, username="shopper", email="s@example.com"), store)
    assert client.get("/api/dashboard/stats", headers=user).status_code == 403


def test_seed_b_stats_for_all_one_product_or_one_subcategory(client, app, store, make):
    from models import Product, Variant

    with app.app_context(), tenant_scope(store):
        product = Product(title="Gift Card", slug="gift-card")
        other = Product(title="Key", slug="key")
        db.session.add_all([product, other])
        db.session.flush()
        small = Variant(product_id=product.id, title="10", price=1000)
        big = Variant(product_id=product.id, title="50", price=5000)
        db.session.add_all([small, big])
        db.session.flush()
        for number, (prod, variant, qty, total) in enumerate(
                [(product, small, 2, 2000), (product, big, 1, 5000), (other, None, 3, 900)], start=1):
            order = _order(number, total=total, items=qty, paid_at=NOW - timedelta(days=number))
            line = db.session.query(OrderLine).filter_by(order_id=order.id).one()
            line.product_id, line.variant_id = prod.id, variant.id if variant else None
        db.session.commit()
        ids = product.id, small.id
    admin = make.headers(make.user(store, role="ADMIN", username="boss", email="boss@example.com"), store)
    everything = client.post("/api/admin/stats", json={"timeframe": "7d"}, headers=admin).get_json()
    assert (everything["revenue"], everything["units"], everything["orders"]) == (79.0, 6, 3)
    one = client.post("/api/admin/stats", json={"timeframe": "7d", "productId": ids[0]}, headers=admin).get_json()
    assert (one["revenue"], one["units"]) == (70.0, 3)
    sub = client.post("/api/admin/stats/timeline", json={"timeframe": "7d", "subcategoryId": ids[1]},
                      headers=admin).get_json()
    assert (sub["revenue"], sub["units"]) == (20.0, 2) and len(sub["points"]) == 7
    assert [p["units"] for p in sub["points"] if p["units"]] == [2]
    staff = make.headers(make.user(store, role="STAFF", username="desk", email="desk@example.com"), store)
    assert client.post("/api/admin/stats", json={}, headers=staff).status_code == 403
