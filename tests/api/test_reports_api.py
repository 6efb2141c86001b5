"""Reports against a hand-computed shop in Tokyo (UTC+9): orders paid at instants that fall on
the other side of local midnight than in UTC, a week that starts on Monday, refunds, a gift and an
unpaid order (not sales), costs from batches with and without a unit cost, a replacement (a cost
without revenue), new and returning buyers, a guest, and another store whose sales stay its own.

The period is November 2026 in Tokyo: [2026-10-31 15:00 UTC, 2026-11-30 15:00 UTC).

| order | buyer | paid (UTC)          | local (JST)       | lines                   | total | refunded | cost        |
|-------|-------|---------------------|-------------------|-------------------------|-------|----------|-------------|
| 1     | alice | 10-31 14:50         | Oct 31 23:50      | A x1                    | 1000  |          | (outside)   |
| 2     | alice | 10-31 16:00         | Sun Nov 1 01:00   | A x2                    | 2000  |          | 2 x 3.00    |
| 3     | bob   | 11-01 15:30         | Mon Nov 2 00:30   | B x5                    | 500   | 200      | 5 x unknown |
| 4     | bob   | 11-29 14:30         | Sun Nov 29 23:30  | A x1                    | 1000  |          | 3.00        |
| 5     | guest | 11-30 01:00         | Mon Nov 30 10:00  | A x1, B x1              | 1500  |          | 3.00 + unknown |
| 6     | carol | 11-15 (gift)        |                   | A x1                    | 0     |          | (gift: out) |
| 7     | bob   | unpaid              |                   | A x1                    | 1000  |          |             |
| 9     | bob   | 11-30 15:10         | Dec 1 00:10       | A x1                    | 1000  |          | (outside)   |
| -     | dave  | 09-01               |                   | A x1                    | 700   |          | (outside)   |

A replacement of A (batch cost 2.50) is handed out on 11-20 01:00 UTC (the week of Nov 16).
"""
from __future__ import annotations

import csv
import io
import os
from datetime import UTC, date, datetime

import pytest

from extensions import db
from models import Category, Order, OrderAdjustment, OrderLine, Product, StockBatch, StockItem, Store, Variant
from services import analytics, orders, reports
from services.stores import update_settings
from tenancy import tenant_scope
from tests.api.conftest import error_code

NOV = "date_from=2026-11-01&date_to=2026-11-30"


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Shop:
    pass


def _items(variant, product, batch, order, line, n, *, replacement_for=None, sold_at=None, sold=True):
    items = []
    for _ in range(n):
        item = StockItem(variant_id=variant.id, product_id=product.id, batch_id=batch.id if batch else None,
                         deliverable_hash=os.urandom(32), is_sold=sold, sold_at=sold_at or order.paid_at,
                         order_id=order.id, order_line_id=line.id, replacement_for_id=replacement_for)
        db.session.add(item)
        items.append(item)
    db.session.flush()
    orders.record_sale(order)  # what the payment writes: the order's and its lines' cost
    return items


def _order(number, *, buyer=None, email=None, paid_at, lines, refunded=0, gift=False, created_at=None):
    total = sum(amount for _, _, _, amount in lines)
    order = Order(order_number=number, buyer_id=buyer.id if buyer else None, email=email or f"o{number}@example.com",
                  payment_method="BALANCE", currency="EUR", total=total, subtotal=total,
                  item_count=sum(q for _, _, q, _ in lines), amount_refunded=refunded, is_gift=gift,
                  status="COMPLETED" if paid_at else "PENDING", payment_status="PAID" if paid_at else "UNPAID",
                  paid_at=paid_at, created_at=created_at or paid_at)
    db.session.add(order)
    db.session.flush()
    made = []
    for position, (product, variant, quantity, amount) in enumerate(lines):
        line = OrderLine(order_id=order.id, position=position, product_id=product.id, variant_id=variant.id,
                         product_title=product.title, variant_title=variant.title, quantity=quantity,
                         unit_price=amount // quantity, line_subtotal=amount)
        db.session.add(line)
        db.session.flush()
        made.append(line)
    orders.record_sale(order, made)  # what the payment writes: the lines' paid_at and is_gift
    return order, made


@pytest.fixture
def shop(app, store, make):
    s = Shop()
    s.alice = make.user(store, username="alice", email="alice@example.com")
    s.bob = make.user(store, username="bob", email="bob@example.com")
    s.carol = make.user(store, username="carol", email="carol@example.com")
    s.dave = make.user(store, username="dave", email="dave@example.com")
    with app.app_context(), tenant_scope(store):
        update_settings(db.session.get(Store, store.id), {"timezone": "Asia/Tokyo"})
        games = Category(title="Games", slug="games")
        db.session.add(games)
        db.session.flush()
        a = Product(title="Alpha", slug="alpha", category_id=games.id)
        b = Product(title='=HYPERLINK("http://evil.example")', slug="beta")
        db.session.add_all([a, b])
        db.session.flush()
        va, vb = Variant(product_id=a.id, title="A", price=1000), Variant(product_id=b.id, title="B", price=100)
        db.session.add_all([va, vb])
        db.session.flush()
        costly = StockBatch(variant_id=va.id, unit_cost=300)
        cheaper = StockBatch(variant_id=va.id, unit_cost=250)
        unknown = StockBatch(variant_id=vb.id, unit_cost=None)
        db.session.add_all([costly, cheaper, unknown])
        db.session.flush()
        A, B = (a, va), (b, vb)
        o1, l1 = _order(1, buyer=s.alice, paid_at=_utc(2026, 10, 31, 14, 50), lines=[(*A, 1, 1000)])
        _items(va, a, costly, o1, l1[0], 1)
        o2, l2 = _order(2, buyer=s.alice, paid_at=_utc(2026, 10, 31, 16, 0), lines=[(*A, 2, 2000)])
        sold = _items(va, a, costly, o2, l2[0], 2)
        o3, l3 = _order(3, buyer=s.bob, paid_at=_utc(2026, 11, 1, 15, 30), lines=[(*B, 5, 500)], refunded=200)
        _items(vb, b, unknown, o3, l3[0], 5)
        o4, l4 = _order(4, buyer=s.bob, paid_at=_utc(2026, 11, 29, 14, 30), lines=[(*A, 1, 1000)])
        _items(va, a, costly, o4, l4[0], 1)
        o5, l5 = _order(5, email="+guest@example.com", paid_at=_utc(2026, 11, 30, 1, 0),
                        lines=[(*A, 1, 1000), (*B, 1, 500)])
        _items(va, a, costly, o5, l5[0], 1)
        _items(vb, b, unknown, o5, l5[1], 1)
        o6, l6 = _order(6, buyer=s.carol, paid_at=_utc(2026, 11, 15, 3, 0), lines=[(*A, 1, 0)], gift=True)
        _items(va, a, costly, o6, l6[0], 1)
        o7, l7 = _order(7, buyer=s.bob, paid_at=None, created_at=_utc(2026, 11, 16, 3, 0), lines=[(*A, 1, 1000)])
        _items(va, a, costly, o7, l7[0], 1, sold=False)
        o9, l9 = _order(9, buyer=s.bob, paid_at=_utc(2026, 11, 30, 15, 10), lines=[(*A, 1, 1000)])
        _items(va, a, costly, o9, l9[0], 1)
        _order(10, buyer=s.dave, paid_at=_utc(2026, 9, 1, 3, 0), lines=[(*A, 1, 700)])
        # a replacement for one of order 2's items, handed out on Nov 20 (JST)
        _items(va, a, cheaper, o2, l2[0], 1, replacement_for=sold[0].id, sold_at=_utc(2026, 11, 20, 1, 0))
        db.session.commit()
        s.a, s.b, s.games = a.id, b.id, games.id
    return s


@pytest.fixture
def noise(app, make, store):
    """Another store with a sale in November: never in this store's reports."""
    other = make.store("other", "Other Store", domain="other.example.com")
    with app.app_context(), tenant_scope(other):
        p = Product(title="Foreign", slug="foreign")
        db.session.add(p)
        db.session.flush()
        v = Variant(product_id=p.id, title="F", price=9999)
        db.session.add(v)
        db.session.flush()
        batch = StockBatch(variant_id=v.id, unit_cost=5000)
        db.session.add(batch)
        db.session.flush()
        order, lines = _order(1, paid_at=_utc(2026, 11, 10, 3, 0), lines=[(p, v, 1, 9999)])
        _items(v, p, batch, order, lines[0], 1)
        db.session.commit()
    return other


@pytest.fixture
def manager(make, store):
    return make.headers(make.user(store, role="MANAGER", username="mgr", email="mgr@example.com"), store)


def _by_label(points):
    return {p["label"]: p for p in points}


def test_sales_by_week_start_on_monday_in_the_stores_zone(client, shop, noise, manager):
    response = client.get(f"/api/reports/sales?{NOV}&group_by=week", headers=manager)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["group_by"] == "week" and body["currency"] == "EUR"
    assert [p["label"] for p in body["points"]] == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16",
                                                    "2026-11-23", "2026-11-30"]
    weeks = _by_label(body["points"])
    first = weeks["2026-10-26"]  # only Sunday Nov 1 of that week is in the period: order 2
    assert first["start"] == "2026-10-31T15:00:00Z" and first["end"] == "2026-11-01T15:00:00Z"
    assert (first["orders"], first["revenue"], first["items"], first["cost"], first["profit"]) == (1, 20.0, 2, 6.0, 14.0)
    assert (first["margin"], first["cost_coverage"]) == (0.7, 1.0)
    monday = weeks["2026-11-02"]  # order 3, 00:30 on Monday in Tokyo (Sunday in UTC); 2.00 refunded
    assert (monday["orders"], monday["gross"], monday["refunds"], monday["revenue"]) == (1, 5.0, 2.0, 3.0)
    assert (monday["cost"], monday["profit"], monday["cost_coverage"]) == (0.0, 3.0, 0.0)  # no unit cost known
    quiet = weeks["2026-11-09"]  # the gift (Nov 15) is not a sale
    assert (quiet["orders"], quiet["revenue"], quiet["cost"], quiet["margin"], quiet["cost_coverage"]) == (0, 0.0, 0.0, None, None)
    replaced = weeks["2026-11-16"]  # the replacement: a cost without revenue
    assert (replaced["orders"], replaced["revenue"], replaced["cost"], replaced["profit"]) == (0, 0.0, 2.5, -2.5)
    assert (replaced["replacements"], replaced["cost_coverage"]) == (1, 1.0)
    assert (weeks["2026-11-23"]["revenue"], weeks["2026-11-23"]["cost"]) == (10.0, 3.0)  # 23:30 Sunday JST
    last = weeks["2026-11-30"]  # only Monday the 30th; order 9 is Dec 1 in Tokyo
    assert (last["orders"], last["revenue"], last["cost"], last["cost_coverage"]) == (1, 15.0, 3.0, 0.5)
    t = body["totals"]
    assert (t["orders"], t["gross"], t["refunds"], t["revenue"], t["items"]) == (4, 50.0, 2.0, 48.0, 10)
    assert (t["average_order_value"], t["cost"], t["profit"]) == (12.0, 14.5, 33.5)
    assert t["margin"] == round(3350 / 4800, 4) and t["cost_coverage"] == round(5 / 11, 4)  # 5 of 10 sold + 1 replaced
    assert t["replacements"] == 1 and t["replacement_cost"] == 2.5


def test_sales_by_day_and_by_month_and_the_groupings_that_do_not_fit(client, shop, manager):
    days = client.get(f"/api/reports/sales?{NOV}", headers=manager).get_json()
    assert days["group_by"] == "day" and len(days["points"]) == 30
    by_day = _by_label(days["points"])
    assert by_day["2026-11-01"]["orders"] == 1 and by_day["2026-11-02"]["orders"] == 1  # both late UTC evenings
    assert by_day["2026-11-29"]["revenue"] == 10.0 and by_day["2026-11-30"]["revenue"] == 15.0
    month = client.get(f"/api/reports/sales?{NOV}&group_by=month", headers=manager).get_json()
    assert [(p["label"], p["orders"], p["revenue"]) for p in month["points"]] == [("2026-11", 4, 48.0)]
    for query in ("period=7d&group_by=month", "period=30d&group_by=month", "period=12m&group_by=day"):
        refused = client.get(f"/api/reports/sales?{query}", headers=manager)
        assert refused.status_code == 422 and error_code(refused) == "invalid_group_by", query
        assert "group_by" in refused.get_json()["error"]["details"]
    assert client.get("/api/reports/sales?group_by=year", headers=manager).status_code == 422
    assert client.get("/api/reports/sales?period=5y", headers=manager).status_code == 422
    backwards = client.get("/api/reports/sales?date_from=2026-11-10&date_to=2026-11-01", headers=manager)
    assert backwards.status_code == 422 and "date_to" in backwards.get_json()["error"]["details"]


def test_twelve_months_by_month_and_by_week_in_the_service(app, store, shop):
    now = _utc(2026, 12, 5, 3, 0)
    with app.app_context(), tenant_scope(store):
        shop_row = db.session.get(Store, store.id)
        p = analytics.period(shop_row, "12m", now=now)
        months = _by_label(reports.sales(shop_row, p)["points"])
        weeks = reports.sales(shop_row, p, "week")["points"]
    assert len(months) == 12 and months["2026-11"]["orders"] == 4 and months["2026-12"]["orders"] == 1  # order 9
    assert months["2026-10"]["orders"] == 1 and months["2026-09"]["revenue"] == 700  # order 1 (Oct 31 JST), dave
    assert weeks[0]["label"] == "2025-12-29" and weeks[0]["start"] == _utc(2025, 12, 31, 15, 0)  # clipped to Thu Jan 1 (JST)
    assert all(datetime.fromisoformat(w["label"]).weekday() == 0 for w in weeks)
    assert sum(w["orders"] for w in weeks) == sum(m["orders"] for m in months.values()) == 7


def test_top_products_sorted_four_ways_with_cost_and_profit(client, shop, noise, manager):
    body = client.get(f"/api/reports/products?{NOV}", headers=manager).get_json()
    assert [i["product_id"] for i in body["items"]] == [shop.a, shop.b]
    alpha, beta = body["items"]
    assert (alpha["title"], alpha["revenue"], alpha["units"], alpha["orders"]) == ("Alpha", 40.0, 4, 3)
    assert (alpha["cost"], alpha["profit"], alpha["margin"]) == (14.5, 25.5, 0.6375)  # 4 x 3.00 + the 2.50 replacement
    assert (alpha["cost_coverage"], alpha["replacements"]) == (1.0, 1)
    assert (beta["revenue"], beta["units"], beta["orders"], beta["cost"], beta["cost_coverage"]) == (10.0, 6, 2, 0.0, 0.0)
    by_units = client.get(f"/api/reports/products?{NOV}&sort_by=units&limit=1", headers=manager).get_json()
    assert [i["product_id"] for i in by_units["items"]] == [shop.b] and by_units["limit"] == 1
    by_orders = client.get(f"/api/reports/products?{NOV}&sort_by=orders", headers=manager).get_json()
    assert [i["orders"] for i in by_orders["items"]] == [3, 2]
    by_profit = client.get(f"/api/reports/products?{NOV}&sort_by=profit", headers=manager).get_json()
    assert [i["profit"] for i in by_profit["items"]] == [25.5, 10.0]
    for query in ("limit=0", "limit=101", "sort_by=price", "limit=abc"):
        assert client.get(f"/api/reports/products?{query}", headers=manager).status_code == 422, query


def test_categories_share_the_revenue(client, shop, noise, manager):
    body = client.get(f"/api/reports/categories?{NOV}", headers=manager).get_json()
    assert body["items"] == [
        {"category_id": shop.games, "title": "Games", "revenue": 40.0, "units": 4, "orders": 3, "share": 0.8},
        {"category_id": None, "title": "No category", "revenue": 10.0, "units": 6, "orders": 2, "share": 0.2}]
    empty = client.get("/api/reports/categories?date_from=2020-01-01&date_to=2020-01-31", headers=manager).get_json()
    assert empty["items"] == []


def test_new_and_returning_customers_and_lifetime_value(client, shop, noise, manager):
    body = client.get(f"/api/reports/customers?{NOV}", headers=manager).get_json()
    assert body["new"] == {"customers": 1, "orders": 2, "revenue": 13.0}  # bob: first sale Nov 2
    assert body["returning"] == {"customers": 1, "orders": 1, "revenue": 20.0}  # alice: first sale Oct 31 (JST)
    assert body["guests"] == {"customers": 1, "orders": 1, "revenue": 15.0}
    assert (body["customers_ever"], body["lifetime_revenue"], body["average_lifetime_value"]) == (3, 60.0, 20.0)
    assert (body["repeat_customers"], body["repeat_purchase_rate"]) == (2, 0.6667)  # alice and bob of 3
    top = [(c["username"], c["orders"], c["lifetime_value"]) for c in body["top_customers"]]
    assert top == [("alice", 2, 30.0), ("bob", 3, 23.0), ("dave", 1, 7.0)]  # carol's gift is no sale


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_exports_stream_csv_with_money_as_decimals_and_no_formulas(client, shop, noise, manager):
    sales = client.get(f"/api/reports/export?type=sales&{NOV}&group_by=week", headers=manager)
    assert sales.status_code == 200 and sales.is_streamed
    assert sales.mimetype == "text/csv"
    assert sales.headers["Content-Disposition"] == 'attachment; filename="main-sales-2026-11-01-to-2026-11-30.csv"'
    rows = _csv_rows(sales)
    assert rows[0][:7] == ["period", "starts_at", "ends_at", "orders", "gross", "refunds", "revenue"]
    by_label = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_label["2026-11-16"]["cost"] == "2.50" and by_label["2026-11-16"]["profit"] == "-2.50"  # a number
    assert by_label["2026-11-02"]["refunds"] == "2.00" and by_label["2026-11-09"]["margin"] == ""
    assert by_label["total"]["revenue"] == "48.00" and by_label["total"]["cost_coverage"] == "0.4545"
    products = _csv_rows(client.get(f"/api/reports/export?type=products&{NOV}", headers=manager))
    titles = [r[1] for r in products[1:]]
    assert titles == ["Alpha", "'" + '=HYPERLINK("http://evil.example")']  # a formula cell is defused
    assert products[1][2:7] == ["4", "3", "40.00", "14.50", "25.50"]
    categories = _csv_rows(client.get(f"/api/reports/export?type=categories&{NOV}", headers=manager))
    assert [r[1:] for r in categories[1:]] == [["Games", "4", "3", "40.00", "0.8000"], ["No category", "6", "2", "10.00", "0.2000"]]
    customers = _csv_rows(client.get(f"/api/reports/export?type=customers&{NOV}", headers=manager))
    assert [(r[1], r[3], r[4], r[5], r[7]) for r in customers[1:]] == [("alice", "returning", "1", "20.00", "30.00"),
                                                                     ("bob", "new", "2", "13.00", "23.00")]
    orders = client.get(f"/api/reports/export?type=orders&{NOV}", headers=manager)
    assert orders.is_streamed
    rows = _csv_rows(orders)
    assert rows[0][:3] == ["order_number", "placed_at", "paid_at"]
    assert [r[0] for r in rows[1:]] == ["2", "3", "6", "7", "4", "5"]  # placed in November (JST), any status
    five = dict(zip(rows[0], rows[-1], strict=True))
    assert (five["email"], five["total"], five["net"], five["gift"]) == ("'+guest@example.com", "15.00", "15.00", "no")
    three = dict(zip(rows[0], rows[2], strict=True))
    assert (three["refunded"], three["net"], three["status"]) == ("2.00", "3.00", "COMPLETED")


def test_exports_refuse_unknown_types_and_groupings_before_streaming(client, shop, manager):
    for query in ("type=invoices", "", "type=sales&group_by=month&period=7d", "type=products&sort_by=price",
                  "type=orders&period=1y"):
        response = client.get(f"/api/reports/export?{query}", headers=manager)
        assert response.status_code == 422 and response.mimetype == "application/json", query
        assert "Content-Disposition" not in response.headers and response.get_json()["error"]["code"]


def test_many_orders_stream_in_chunks(client, app, store, manager):
    """More rows than a fetch (yield_per) and a CSV chunk: every order arrives, in several chunks."""
    with app.app_context(), tenant_scope(store):
        for n in range(1, 1201):
            db.session.add(Order(order_number=n, email=f"b{n}@example.com", payment_method="BALANCE", currency="EUR",
                                 total=n, subtotal=n, created_at=_utc(2026, 11, 10, 0, 0), status="PENDING"))
        db.session.commit()
    response = client.get("/api/reports/export?type=orders&date_from=2026-11-01&date_to=2026-11-30", headers=manager)
    chunks = list(response.response)
    assert len(chunks) >= 3
    rows = list(csv.reader(io.StringIO("".join(c.decode() if isinstance(c, bytes) else c for c in chunks))))
    assert len(rows) == 1201 and rows[-1][0] == "1200" and dict(zip(rows[0], rows[-1], strict=True))["total"] == "12.00"


def test_the_orders_csv_adds_up_with_shipping_and_tax(client, app, store, manager):
    """Each row reconciles: subtotal - discount + shipping (+ tax unless the prices include it) = total."""
    with app.app_context(), tenant_scope(store):
        shipped = Order(order_number=1, email="a@example.com", payment_method="BALANCE", currency="EUR",
                        subtotal=3900, shipping_total=1290, total=5190, created_at=_utc(2026, 11, 10, 0, 0))
        taxed = Order(order_number=2, email="b@example.com", payment_method="BALANCE", currency="EUR", subtotal=2000,
                      discount_total=200, tax_total=414, total=2214, created_at=_utc(2026, 11, 10, 1, 0))
        inclusive = Order(order_number=3, email="c@example.com", payment_method="BALANCE", currency="EUR",
                          subtotal=1230, tax_total=230, total=1230, created_at=_utc(2026, 11, 10, 2, 0))
        db.session.add_all([shipped, taxed, inclusive])
        db.session.flush()
        db.session.add_all([
            OrderAdjustment(order_id=shipped.id, position=0, kind="shipping", label="Shipping: Express", amount=1290),
            OrderAdjustment(order_id=taxed.id, position=0, kind="coupon", label="Coupon X", amount=-200),
            OrderAdjustment(order_id=taxed.id, position=1, kind="tax", label="VAT 23 %", amount=414),
            OrderAdjustment(order_id=inclusive.id, position=0, kind="tax", label="VAT 23 %", amount=230, included=True)])
        db.session.commit()
    rows = _csv_rows(client.get("/api/reports/export?type=orders&date_from=2026-11-01&date_to=2026-11-30",
                                headers=manager))
    found = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["subtotal"], r["discount"], r["shipping"], r["tax"], r["tax_included"], r["total"]) for r in found] == [
        ("39.00", "0.00", "12.90", "0.00", "no", "51.90"), ("20.00", "2.00", "0.00", "4.14", "no", "22.14"),
        ("12.30", "0.00", "0.00", "2.30", "yes", "12.30")]
    for r in found:
        added = float(r["subtotal"]) - float(r["discount"]) + float(r["shipping"])
        added += 0 if r["tax_included"] == "yes" else float(r["tax"])
        assert round(added, 2) == float(r["total"]), r


@pytest.mark.parametrize("path", ["/api/reports/sales", "/api/reports/products", "/api/reports/categories",
                                  "/api/reports/customers", "/api/reports/export?type=orders"])
def test_reports_are_for_managers_and_above(client, make, store, path):
    assert client.get(path).status_code == 401
    staff = make.headers(make.user(store, role="STAFF"), store)
    assert client.get(path, headers=staff).status_code == 403
    admin = make.headers(make.user(store, role="ADMIN"), store)
    assert client.get(path, headers=admin).status_code == 200


def test_the_overview_kpis_carry_cost_and_profit(app, store, shop, client, manager):
    with app.app_context(), tenant_scope(store):
        shop_row = db.session.get(Store, store.id)
        k = analytics.kpis(shop_row, analytics.period(shop_row, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30)))
    assert (k["revenue"], k["cost"], k["profit"], k["margin"], k["cost_coverage"]) == (
        4800, 1450, 3350, round(3350 / 4800, 4), round(5 / 11, 4))
    stats = client.get(f"/api/dashboard/stats?{NOV}", headers=manager).get_json()
    assert (stats["cost"], stats["profit"]) == (14.5, 33.5)


def test_stock_imports_take_a_unit_cost_as_a_decimal_string_or_number(client, app, store, admin_headers):
    with app.app_context(), tenant_scope(store):
        p = Product(title="Keys", slug="keys")
        db.session.add(p)
        db.session.flush()
        v = Variant(product_id=p.id, title="k", price=100)
        db.session.add(v)
        db.session.commit()
        variant_id = v.id
    as_text = client.post("/api/admin/stock/add", headers=admin_headers,
                          json={"subcategoryId": variant_id, "stock": ["K-1"], "unit_cost": "12.50"})
    as_number = client.post("/api/admin/stock/add", headers=admin_headers,
                            json={"subcategoryId": variant_id, "stock": ["K-2"], "unit_cost": 0.75})
    as_form = client.post("/api/admin/stock/add", headers=admin_headers, content_type="multipart/form-data",
                          data={"subcategoryId": variant_id, "unit_cost": "3.10",
                                "file": (io.BytesIO(b"K-3\n"), "codes.txt")})
    without = client.post("/api/admin/stock/add", headers=admin_headers,
                          json={"subcategoryId": variant_id, "stock": ["K-4"]})
    ids = [r.get_json()["batch_id"] for r in (as_text, as_number, as_form, without)]
    with app.app_context(), tenant_scope(store):
        assert [db.session.get(StockBatch, i).unit_cost for i in ids] == [1250, 75, 310, None]
    for bad in ("12.505", "-1", "1e3", "twelve"):
        refused = client.post("/api/admin/stock/add", headers=admin_headers,
                              json={"subcategoryId": variant_id, "stock": ["K-9"], "unit_cost": bad})
        assert refused.status_code == 422, bad
