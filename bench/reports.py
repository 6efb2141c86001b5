"""The dashboard overview, the reports and the CSV exports over a store with N orders (default
100,000) spread over the last year, on SQLite and PostgreSQL.

    .venv/bin/python bench/reports.py [--orders 100000] [--db both|sqlite|postgresql] [--explain]

The store: 40 products (half in a category, half of the stock batches with a unit cost), 5,000
customers, N paid orders of one line and one sold stock item each (1 in 50 refunded in part, 1
in 100 a gift), 1 in 100 items replaced. Rows go in with Core executemany (insertmanyvalues on
PostgreSQL), 5,000 at a time. Each figure is the best of 5 runs, in ms; the exports are read to
the end (the orders export: every order of the last 12 months), with the growth of peak RSS.
"""
from __future__ import annotations

import argparse
import hashlib
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta

from _common import backends, bench_app

CHUNK = 5_000


def _id() -> str:
    return str(uuid.uuid4())


def fill(app, n_orders: int) -> object:
    from extensions import db
    from models import Category, Order, OrderLine, Product, StockBatch, StockItem, User, Variant
    from services import stores

    rng = random.Random(7)
    now = datetime.now(UTC)
    with app.app_context():
        store = stores.create_store("bench", "Bench", is_default=True)
        db.session.commit()
        sid = store.id
        conn = db.session.connection()
        category = {"id": _id(), "store_id": sid, "title": "Games", "slug": "games"}
        conn.execute(Category.__table__.insert(), [category])
        products, variants, batches = [], [], []
        for i in range(40):
            pid, vid, bid = _id(), _id(), _id()
            products.append({"id": pid, "store_id": sid, "title": f"Product {i}", "slug": f"product-{i}",
                             "category_id": category["id"] if i % 2 else None})
            variants.append({"id": vid, "store_id": sid, "product_id": pid, "title": "Standard", "price": 500 + i * 25})
            batches.append({"id": bid, "store_id": sid, "variant_id": vid, "unit_cost": 200 + i * 10 if i % 2 == 0 else None})
        conn.execute(Product.__table__.insert(), products)
        conn.execute(Variant.__table__.insert(), variants)
        conn.execute(StockBatch.__table__.insert(), batches)
        users = [{"id": _id(), "store_id": sid, "username": f"buyer{i}", "email": f"buyer{i}@example.com",
                  "password_hash": "x", "role": "USER", "created_at": now - timedelta(days=rng.randint(0, 500))}
                 for i in range(5_000)]
        conn.execute(User.__table__.insert(), users)
        started = time.perf_counter()
        for first in range(0, n_orders, CHUNK):
            orders, lines, items = [], [], []
            for number in range(first + 1, min(first + CHUNK, n_orders) + 1):
                k = rng.randrange(40)
                paid = now - timedelta(seconds=rng.randint(0, 365 * 86400))
                price = variants[k]["price"]
                gift = number % 100 == 0
                oid, lid, iid = _id(), _id(), _id()
                # what orders.record_sale writes when the order is paid: the sold unit's batch cost
                # on the order and its line, the payment time and the gift flag on the line
                unit_cost = batches[k]["unit_cost"]
                cost, known = (unit_cost, 1) if unit_cost is not None else (0, 0)
                orders.append({"id": oid, "store_id": sid, "order_number": number,
                               "buyer_id": users[rng.randrange(5_000)]["id"] if number % 10 else None,
                               "email": f"o{number}@example.com", "status": "COMPLETED", "payment_status": "PAID",
                               "payment_method": "BALANCE", "currency": "EUR", "subtotal": price, "total": 0 if gift else price,
                               "item_count": 1, "is_gift": gift, "amount_refunded": price // 2 if number % 50 == 1 else 0,
                               "cart_snapshot": [], "paid_at": paid, "created_at": paid, "updated_at": paid,
                               "cost_total": cost, "cost_known_units": known})
                lines.append({"id": lid, "store_id": sid, "order_id": oid, "product_id": products[k]["id"],
                              "variant_id": variants[k]["id"], "product_title": products[k]["title"],
                              "variant_title": "Standard", "quantity": 1, "unit_price": price, "line_subtotal": price,
                              "paid_at": paid, "is_gift": gift, "cost": cost, "cost_known_units": known})
                items.append({"id": iid, "store_id": sid, "variant_id": variants[k]["id"], "product_id": products[k]["id"],
                              "batch_id": batches[k]["id"], "deliverable_hash": hashlib.sha256(iid.encode()).digest(),
                              "is_sold": True, "sold_at": paid, "order_id": oid, "order_line_id": lid, "created_at": paid})
                if number % 100 == 50:  # a replacement, a day later
                    rid = _id()
                    items.append({"id": rid, "store_id": sid, "variant_id": variants[k]["id"],
                                  "product_id": products[k]["id"], "batch_id": batches[k]["id"],
                                  "deliverable_hash": hashlib.sha256(rid.encode()).digest(), "is_sold": True,
                                  "sold_at": min(paid + timedelta(days=1), now), "order_id": oid, "order_line_id": lid,
                                  "replacement_for_id": iid, "created_at": paid})
            conn.execute(Order.__table__.insert(), orders)
            conn.execute(OrderLine.__table__.insert(), lines)
            conn.execute(StockItem.__table__.insert(), items)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk insert
        else:
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        print(f"  filled {n_orders:,} orders in {time.perf_counter() - started:.1f} s")
        return sid


def best(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def plans(fn, backend: str) -> list[str]:
    """The plan of every statement ``fn`` runs: the scans and index uses, one line each (SQLite's
    EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN nodes that read a table or an index)."""
    from sqlalchemy import event

    from extensions import db

    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    out = []
    raw = db.session.connection().connection.dbapi_connection
    for statement, parameters in seen:
        cursor = raw.cursor()
        if backend == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            steps = [row[3] for row in cursor.fetchall()
                     if row[3] not in ("SCAN CONSTANT ROW", "UNION ALL", "COMPOUND QUERY", "LEFT-MOST SUBQUERY")]
        else:
            cursor.execute("EXPLAIN " + statement, parameters)
            steps = [row[0].strip().lstrip("-> ").split("  (cost")[0] for row in cursor.fetchall()
                     if any(word in row[0] for word in ("Scan", "Index Cond", "Heap Fetches"))]
        cursor.close()
        first = " ".join(statement.split())[:70]
        out.append(f"{first}...")
        out.extend("    " + step for step in steps)
    return out


def measure(app, sid, backend: str, explain: bool) -> list[tuple[str, float, str]]:
    from extensions import db
    from models import Store
    from services import analytics, reports
    from tenancy import tenant_scope

    rows = []
    with app.app_context(), tenant_scope(sid):
        store = db.session.get(Store, sid)
        d30, m12 = analytics.period(store, "30d"), analytics.period(store, "12m")

        def overview(p):
            analytics.kpis(store, p)
            analytics.chart(store, p)
            analytics.breakdown(store, p)

        cases = [
            ("overview 30d (kpis + chart + breakdown)", lambda: overview(d30)),
            ("overview 12m (kpis + chart + breakdown)", lambda: overview(m12)),
            ("sales 30d by day", lambda: reports.sales(store, d30)),
            ("sales 12m by month", lambda: reports.sales(store, m12)),
            ("sales 12m by week", lambda: reports.sales(store, m12, "week")),
            ("products 12m top 10 by profit", lambda: reports.products(store, m12, sort_by="profit")),
            ("categories 12m", lambda: reports.categories(store, m12)),
            ("customers 12m", lambda: reports.customers(store, m12)),
            ("analytics: one product 12m", lambda: analytics.product_sales(store, m12, product_id=None)),
        ]
        for name, fn in cases:
            rows.append((name, best(fn), ""))
        for kind in ("sales", "products", "customers", "orders"):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            size = [0]

            def read(kind=kind):
                size[0] = sum(len(chunk) for chunk in reports.export(store, kind, m12))
                db.session.rollback()

            ms = best(read, runs=1 if kind == "orders" else 3)
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
            rows.append((f"export {kind} 12m (streamed)", ms, f"{size[0] / 1e6:.1f} MB CSV, +{grown:.0f} MB RSS"))
        if explain:
            for name, fn in (("overview 12m", lambda: overview(m12)), ("products 12m", cases[5][1]),
                             ("categories 12m", cases[6][1]), ("customers 12m", cases[7][1])):
                print(f"  EXPLAIN, every statement of {name}:")
                for line in plans(fn, backend):
                    print("    " + line)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--db", default="both")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    results = {}
    for backend in backends(args.db):
        with bench_app(backend) as app:
            print(backend)
            sid = fill(app, args.orders)
            results[backend] = measure(app, sid, backend, args.explain)
    print(f"\n{'what':<44} " + " ".join(f"{b:>12}" for b in results) + "  note")
    names = [name for name, _, _ in next(iter(results.values()))]
    for i, name in enumerate(names):
        cells = " ".join(f"{results[b][i][1]:>9.0f} ms" for b in results)
        notes = " / ".join(results[b][i][2] for b in results if results[b][i][2])
        print(f"{name:<44} {cells}  {notes}")


if __name__ == "__main__":
    main()
