"""The load test (issue 16): two gunicorn instances and two RQ workers on one PostgreSQL and one Redis
(all on 127.0.0.1), driven by locust headless for a bounded time, then the database is checked.

    .venv/bin/python bench/load.py --duration 150 --users 24

Prints throughput, p50/p95/p99 and errors per kind of request (locust), then the invariants:
no stock item sold twice, every balance equal to its ledger, no order paid but undelivered. Exits 1
when a request failed or an invariant broke. Uses a throw-away PostgreSQL database and the Redis
database of ``--redis`` (default ``$TEST_REDIS_URL`` or redis://127.0.0.1:6379/10), which it empties.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "a-long-enough-password"
PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def seed(app, *, shoppers: int, products: int, stock_per_product: int) -> dict:
    from sqlalchemy import select

    from extensions import db
    from models import Role, Variant
    from services import auth, balance, categories, payments, stock
    from services import products as product_service
    from services import stores as store_service
    from tenancy import tenant_scope

    with app.test_request_context():
        store = store_service.create_store("load", "Load Store", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            payments.set_methods(store, {"BALANCE": True})
            auth.create_user(username="boss", email="boss@example.com", password=PASSWORD, role=Role.ADMIN,
                             check_strength=False)
            for n in range(shoppers):
                user = auth.create_user(username=f"shopper{n}", email=f"shopper{n}@example.com", password=PASSWORD,
                                        role=Role.USER, check_strength=False)
                balance.credit(user.id, 10_000_000, "topup", reason="load test")
            category = categories.create_category(title="Game Keys")
            plan = []
            for p in range(products):
                product = product_service.create_product({
                    "title": f"{('Steam', 'Gift', 'Game')[p % 3]} Key {p}", "category_id": category.id,
                    "variants": [{"title": "Key", "price": 100 + p}]})
                variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
                stock.import_stock(variant, "\n".join(f"LOAD-{p}-{n:06d}" for n in range(stock_per_product)))
                plan.append({"slug": product.slug, "variant_id": variant.id})
                db.session.commit()
            db.session.commit()
            return {"store_id": store.id, "products": plan}


def login(base: str, email: str) -> str:
    import requests

    response = requests.post(base + "/api/auth/login", json={"login": email, "password": PASSWORD}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def wait_for_queues(redis_url: str, timeout: float = 120) -> int:
    from redis import Redis
    from rq import Queue

    conn = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = sum(Queue(name, connection=conn).count + Queue(name, connection=conn).started_job_registry.count
                      for name in ("webhooks", "emails", "default"))
        if waiting == 0:
            return 0
        time.sleep(1)
    return waiting


INVARIANTS = {
    "stock items sold twice (a line delivered more items than it sold, or an item counted by two lines)": """
        SELECT count(*) FROM order_lines l
        WHERE l.delivered_count <> (SELECT count(*) FROM stock_items s WHERE s.order_line_id = l.id AND s.is_sold)
        UNION ALL
        SELECT (SELECT coalesce(sum(delivered_count), 0) FROM order_lines)
             - (SELECT count(*) FROM stock_items WHERE is_sold AND order_line_id IS NOT NULL)
    """,
    "variants whose stock count differs from their sellable items": """
        SELECT count(*) FROM variants v WHERE v.stock_count <> (SELECT count(*) FROM stock_items s
            WHERE s.variant_id = v.id AND NOT s.is_sold AND s.removed_at IS NULL AND s.order_id IS NULL)
    """,
    "balances different from their ledger sum": """
        SELECT count(*) FROM users u
        WHERE u.balance <> (SELECT coalesce(sum(t.amount), 0) FROM balance_transactions t WHERE t.user_id = u.id)
    """,
    "orders paid but not delivered": """
        SELECT count(*) FROM orders o WHERE o.payment_status = 'PAID' AND (o.status <> 'COMPLETED' OR EXISTS (
            SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.delivered_count <> l.quantity))
    """,
}


def check_invariants(database_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    broken = {}
    with engine.connect() as conn:
        for name, sql in INVARIANTS.items():
            broken[name] = sum(abs(int(row[0])) for row in conn.execute(text(sql)))
        counts = conn.execute(text("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM orders WHERE "
                                   "payment_status = 'PAID'), (SELECT count(*) FROM stock_items WHERE is_sold)")).one()
    engine.dispose()
    broken["_orders"], broken["_paid"], broken["_sold"] = counts
    return broken


def _percentile(histogram: dict, share: float) -> int:
    """The response time (ms) under which ``share`` of the requests answered (locust's rounded histogram)."""
    points = sorted((float(ms), count) for ms, count in histogram.items())
    total = sum(count for _, count in points)
    seen = 0
    for ms, count in points:
        seen += count
        if seen >= share * total:
            return int(ms)
    return 0


def summarise(stats: list[dict], duration: float) -> list[dict]:
    """Per request name and in all: count, errors, throughput and p50/p95/p99, from locust's final JSON."""
    rows, merged, errors = [], {}, 0
    for entry in sorted(stats, key=lambda e: e["name"]):
        histogram = entry["response_times"]
        for ms, count in histogram.items():
            merged[ms] = merged.get(ms, 0) + count
        errors += entry["num_failures"]
        rows.append({"Name": entry["name"], "Request Count": entry["num_requests"],
                     "Failure Count": entry["num_failures"], "Requests/s": entry["num_requests"] / duration,
                     **{f"{p}%": _percentile(histogram, p / 100) for p in (50, 95, 99)}})
    count = sum(r["Request Count"] for r in rows)
    rows.append({"Name": "Aggregated", "Request Count": count, "Failure Count": errors, "Requests/s": count / duration,
                 **{f"{p}%": _percentile(merged, p / 100) for p in (50, 95, 99)}})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60, help="seconds of traffic (default 60)")
    parser.add_argument("--users", type=int, default=20, help="simulated users (default 20)")
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--products", type=int, default=12)
    parser.add_argument("--stock", type=int, default=1500, help="stock items per product")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn instance")
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10"))
    args = parser.parse_args()

    from cryptography.fernet import Fernet
    from redis import Redis
    from sqlalchemy import create_engine, text

    from app import create_app
    from extensions import db
    from tests.cluster import Cluster

    tmp = Path(tempfile.mkdtemp(prefix="load-"))
    name = f"vstore_load_{os.getpid()}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    redis = Redis.from_url(args.redis)
    redis.flushdb()
    env = {"SECRET_KEY": "load-secret", "JWT_SECRET_KEY": "load-jwt-key-that-is-at-least-32-bytes-long",
           "DELIVERABLE_KEYS": Fernet.generate_key().decode(), "DELIVERABLE_HASH_KEY": "load-hash",
           "LOGIN_RATE_LIMIT": "100000 per minute", "JWT_ACCESS_MINUTES": "60", "DB_POOL_SIZE": "10"}
    code = 1
    try:
        app = create_app({"DATABASE_URL": url, "REDIS_URL": args.redis, "INSTANCE_PATH": str(tmp / "instance"),
                          "MAIL_BACKEND": "dummy", "LOG_LEVEL": "WARNING", **env})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
        started = time.monotonic()
        plan = seed(app, shoppers=args.shoppers, products=args.products, stock_per_product=args.stock)
        print(f"seeded {args.products} products x {args.stock} items, {args.shoppers} shoppers "
              f"in {time.monotonic() - started:.1f} s", flush=True)
        redis.flushdb()
        with app.app_context():
            db.engine.dispose()
        with Cluster(url, args.redis, tmp, env=env, threads=args.threads) as cluster:
            hosts = cluster.web_urls
            plan_file = tmp / "plan.json"
            plan_file.write_text(json.dumps({
                "hosts": hosts, "products": plan["products"], "admin": login(hosts[0], "boss@example.com"),
                "shoppers": [login(hosts[n % 2], f"shopper{n}@example.com") for n in range(args.shoppers)]}))
            prefix = tmp / "locust"
            command = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                       "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time",
                       f"{args.duration}s", "--host", hosts[0], "--csv", str(prefix), "--only-summary",
                       "--json-file", str(tmp / "stats"),
                       "--stop-timeout", "10", "--loglevel", "WARNING"]
            print("$ " + " ".join(command[2:]), flush=True)
            subprocess.run(command, cwd=ROOT, env={**os.environ, "LOAD_PLAN": str(plan_file)},
                           timeout=args.duration + 120)
            left = wait_for_queues(args.redis)
            generations = {k.decode().rsplit(":", 1)[1]: int(redis.get(k)) for k in redis.keys("vstores:cache-gen:*")}
            rows = summarise(json.loads((tmp / "stats.json").read_text()), args.duration)
            failures = list(csv.DictReader((tmp / "locust_failures.csv").open()))
            if failures:
                print("\nfailures:")
                for row in failures:
                    print(f"  {row['Occurrences']} x {row['Method']} {row['Name']}: {row['Error'][:300]}")
            print(f"\n{'request':32} {'count':>7} {'errors':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
            for row in rows:
                print(f"{row['Name'][:32]:32} {row['Request Count']:>7} {row['Failure Count']:>6} "
                      f"{float(row['Requests/s']):7.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}")
            total = next(r for r in rows if r["Name"] == "Aggregated")
            broken = check_invariants(url)
            print(f"\norders: {broken.pop('_orders')}, paid: {broken.pop('_paid')}, stock items sold: "
                  f"{broken.pop('_sold')}; jobs left in the queues: {left}; read-cache invalidations "
                  f"published: {generations or 'none'}")
            for invariant, count in broken.items():
                print(f"  {'OK    ' if count == 0 else 'BROKEN'} {invariant}: {count}")
            errors = int(total["Failure Count"])
            print(f"\n{'PASS' if errors == 0 and not any(broken.values()) and left == 0 else 'FAIL'}: "
                  f"{errors} errors, {sum(1 for c in broken.values() if c)} broken invariants", flush=True)
            code = 0 if errors == 0 and not any(broken.values()) and left == 0 else 1
    finally:
        redis.flushdb()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return code


if __name__ == "__main__":
    sys.exit(main())
