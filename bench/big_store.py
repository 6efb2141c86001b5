"""Big stores: the shop and the dashboard of a store with 10,000 products, 1,000,000 stock items
and 100,000 orders, against a small store (30 products, 3,000 items, 300 orders) in the SAME
database and the same run.

    .venv/bin/python bench/big_store.py [--db postgresql|sqlite|both] [--keep] [--runs 15]
        [--products 10000 --items 1000000 --orders 100000] [--explain]

Both stores are filled by ``services.load_seed.seed_load`` (what ``flask seed-load`` runs: COPY on
PostgreSQL, executemany on SQLite), so they differ only in size. The database is
``vs_bigstore_bench`` on PostgreSQL and ``/tmp/vs_bigstore_bench.db`` on SQLite; with ``--keep`` it
stays and the next run reuses it (no seeding), otherwise it is dropped at the end.

Every figure is an HTTP request through the WSGI test client (each store on its own host), the
median of ``--runs`` after two warm-up requests, in ms. Checkout: POST /api/orders/checkout by
balance, one item (the add-to-cart before it is not timed). Admin pages as a signed-in ADMIN.
"""
from __future__ import annotations

import argparse
import base64
import logging
import os
import re
import statistics
import sys
import time
from pathlib import Path

from _common import PG_ADMIN, backends

# BIGSTORE_NAME: another name for the database (two worktrees benchmarking at once keep apart)
NAME = os.environ.get("BIGSTORE_NAME", "vs_bigstore_bench")
SQLITE_PATH = Path("/tmp") / f"{NAME}.db"
PASSWORD = "bench-password-1"


def make_app(backend: str, keep: bool):
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import create_app

    fresh = True
    if backend == "sqlite":
        url = f"sqlite:///{SQLITE_PATH}"
        fresh = not SQLITE_PATH.exists() or not keep
        if fresh and SQLITE_PATH.exists():
            SQLITE_PATH.unlink()
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": NAME}).first()
            if exists and not keep:
                conn.execute(text(f'DROP DATABASE "{NAME}" WITH (FORCE)'))
            if not exists or not keep:
                conn.execute(text(f'CREATE DATABASE "{NAME}"'))
            fresh = not exists or not keep
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + NAME
    tmp = Path("/tmp") / f"{NAME}-instance"
    tmp.mkdir(exist_ok=True)
    config = {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench",
              "JWT_SECRET_KEY": "bench-jwt-key-that-is-at-least-32-bytes-long",
              # a fixed key: a kept database stays readable by the next run
              "DELIVERABLE_KEYS": base64.urlsafe_b64encode(b"big-store-bench-key-32-bytes-ok!").decode(),
              "DELIVERABLE_HASH_KEY": "bench-hash", "REDIS_URL": "", "MAIL_BACKEND": "locmem",
              "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"}
    app = create_app(config)
    app.config["REDIS_URL"], app.config["JOBS_INLINE"] = None, True
    app.config["RATELIMIT_ENABLED"] = False
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
    return app, fresh


def drop(backend: str) -> None:
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        SQLITE_PATH.unlink(missing_ok=True)
        return
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)'))
    admin.dispose()


SIZES = {"small": {"products": 30, "items": 3_000, "orders": 300, "customers": 50}}


def fill(app, sizes: dict) -> dict:
    from extensions import db
    from services import stores
    from services.load_seed import seed_load, vacuum_analyze

    took = {}
    with app.app_context():
        for slug in ("small", "big"):
            store = stores.create_store(slug, slug.title(), domain=f"{slug}.bench.test", is_default=None)
            db.session.flush()
            print(f"  seeding {slug}: {sizes[slug]}")
            result = seed_load(store, **sizes[slug], echo=print)
            db.session.commit()
            took[slug] = result["seconds"]["total"]
            print(f"  {slug}: {result['stock_items']:,} stock items, {result['orders']:,} orders in "
                  f"{took[slug]:.1f} s")
        t0 = time.perf_counter()
        vacuum_analyze()
        print(f"  VACUUM ANALYZE: {time.perf_counter() - t0:.1f} s")
    return took


def people(app, slug: str) -> tuple[str, str]:
    """An ADMIN and a shopper with a large balance in the store (created once)."""
    from sqlalchemy import select

    from extensions import db
    from models import Role, User
    from services import auth, balance, stores
    from tenancy import tenant_scope

    with app.app_context():
        store = stores.get_store_by_slug(slug)
        with tenant_scope(store):
            for name, role in (("benchadmin", Role.ADMIN), ("benchshopper", Role.USER)):
                if db.session.scalar(select(User.id).where(User.username == name)) is None:
                    user = auth.create_user(username=name, email=f"{name}@example.com", password=PASSWORD, role=role)
                    db.session.flush()
                    if role == Role.USER:
                        balance.credit(user.id, 10**10, "topup", reason="bench")
            db.session.commit()
            shopper = db.session.scalar(select(User).where(User.username == "benchshopper"))
            with app.test_request_context():
                token = auth.issue_tokens(shopper)["access_token"]
            from models import Variant

            variant = db.session.scalar(select(Variant.id).where(Variant.stock_count > 1)
                                        .order_by(Variant.stock_count.desc()).limit(1))
        return token, variant


class HostClient:
    """A test client whose every request names the store's host (its custom domain)."""

    def __init__(self, app, host: str):
        self.client, self.base_url, self.environ_base = app.test_client(), f"http://{host}", {}

    def get(self, path, **kw):
        return self.client.get(path, base_url=self.base_url, environ_base=self.environ_base, **kw)

    def post(self, path, **kw):
        return self.client.post(path, base_url=self.base_url, environ_base=self.environ_base, **kw)


def client_for(app, slug: str, login: bool = False):
    client = HostClient(app, f"{slug}.bench.test")
    if login:
        page = client.get("/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page.data).group(1).decode()
        r = client.post("/login", data={"csrf_token": token, "login": "benchadmin", "password": PASSWORD})
        assert r.status_code == 302, r.status_code
    return client


def get(client, path: str):
    def run():
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
    return run


def cases(deep_page: int) -> list[tuple[str, str, str]]:
    """(group, label, path): the shop as a guest, the dashboard as an admin."""
    return [
        ("shop", "catalog page /search", "/search"),
        # every small-store title holds "Steam" (seed_load's titles): both stores show a full page
        # of 24 cards, so the two figures differ by the search alone ("netflix" finds 1 product
        # in the small store and 662 in the big one: 1 card against 24)
        ("shop", "catalog search ?q=steam", "/search?q=steam"),
        ("shop", "catalog search ?q=netflix", "/search?q=netflix"),
        ("shop", "GET /api/products?page_size=24", "/api/products?page_size=24"),
        ("admin", "orders list (page 1)", "/admin/orders"),
        ("admin", "orders search email buyer123", "/admin/orders?q=buyer123"),
        ("admin", "orders search product spotify", "/admin/orders?q=spotify"),
        ("admin", "orders search #number", "/admin/orders?q=%2342"),
        ("admin", "orders filter status CANCELLED", "/admin/orders?status=CANCELLED"),
        ("admin", "orders filter REFUNDED + dates", "/admin/orders?payment_status=REFUNDED&from=2000-01-01&to=2100-01-01"),
        ("admin", "orders sort total desc", "/admin/orders?sort=total&dir=desc"),
        ("admin", "orders sort status asc", "/admin/orders?sort=status&dir=asc"),
        ("admin", f"orders deep page {deep_page}", f"/admin/orders?page={deep_page}"),
        ("admin", f"orders deep page {deep_page}, total", f"/admin/orders?page={deep_page}&sort=total"),
        ("admin", "GET /api/orders?search=buyer123", "/api/orders?search=buyer123"),
        ("admin", f"GET /api/orders?page={deep_page}", f"/api/orders?page={deep_page}&page_size=25"),
        ("admin", "overview 30d", "/admin/"),
        ("admin", "overview 12m", "/admin/?period=12m"),
    ]


def measure(app, runs: int, deep_page: int, only: str = "") -> tuple[dict[str, float], dict[str, float]]:
    """(small, big): the median ms of each request on each store. The two stores' requests take
    turns (small, big, small, big...), so a machine that speeds up or slows down during the run
    moves both figures alike and the ratio holds."""
    out: dict[str, dict[str, float]] = {"small": {}, "big": {}}
    setups = {}
    for slug in out:
        token, variant = people(app, slug)
        setups[slug] = {"token": token, "variant": variant, "guest": client_for(app, slug),
                        "admin": client_for(app, slug, login=True), "admin_token": _admin_token(app, slug)}
    for group, label, path in cases(deep_page):
        if only and not re.search(only, label):
            continue
        calls = {}
        for slug, setup in setups.items():
            page = path if slug == "big" else re.sub(r"page=\d+", "page=2", path)  # no deep page there
            if page.startswith("/api/orders"):
                client = client_for(app, slug)
                client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {setup['admin_token']}"
            else:
                client = setup["admin"] if group == "admin" else setup["guest"]
            calls[slug] = get(client, page)
        times = alternate(calls, runs)
        small_label = re.sub(r"page([ =])\d+", r"page\g<1>2", label)
        out["small"][small_label], out["big"][label] = times["small"], times["big"]
    if only and not re.search(only, "checkout by balance (1 item)"):
        return out["small"], out["big"]
    checkouts = {}
    for slug, setup in setups.items():
        shopper = client_for(app, slug)
        shopper.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {setup['token']}"

        def checkout(shopper=shopper, variant=setup["variant"]) -> float:
            r = shopper.post("/api/cart/items", json={"subcategory_id": variant, "quantity": 1})
            assert r.status_code in (200, 201), r.get_json()
            t = time.perf_counter()
            r = shopper.post("/api/orders/checkout", json={"payment_method": "BALANCE"})
            took = time.perf_counter() - t
            assert r.status_code == 201, r.get_json()
            return took
        checkouts[slug] = checkout
    times = alternate(checkouts, runs, timed_inside=True)
    for slug in out:
        out[slug]["checkout by balance (1 item)"] = times[slug]
    return out["small"], out["big"]


def alternate(calls: dict, runs: int, timed_inside: bool = False) -> dict[str, float]:
    """The median ms of each call, the calls taking turns after two warm-up rounds (``timed_inside``:
    each call returns its own time in seconds, e.g. a checkout not counting its add-to-cart)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(runs + 2):
        for name, fn in calls.items():
            t = time.perf_counter()
            took = fn()
            took = took if timed_inside else time.perf_counter() - t
            if round_ >= 2:
                times[name].append(took)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def _admin_token(app, slug: str) -> str:
    from sqlalchemy import select

    from extensions import db
    from models import User
    from services import auth, stores
    from tenancy import tenant_scope

    with app.app_context():
        with tenant_scope(stores.get_store_by_slug(slug)):
            admin = db.session.scalar(select(User).where(User.username == "benchadmin"))
            with app.test_request_context():
                return auth.issue_tokens(admin)["access_token"]


def explain(app, backend: str, deep_page: int, only: str = "") -> None:
    """EXPLAIN ANALYZE of every SELECT of orders, order lines or products that the big store's shop
    catalog (as a guest), admin orders list and overview run."""
    from sqlalchemy import event

    from extensions import db

    admin, guest = client_for(app, "big", login=True), client_for(app, "big")
    with app.app_context():
        engine = db.engine
    for group, label, path in [(group, label, path) for group, label, path in cases(deep_page)
                               if (group == "shop" or not path.startswith("/api/"))
                               and (not only or re.search(only, label))]:
        client = guest if group == "shop" else admin
        seen = []

        def capture(conn, cursor, statement, parameters, context, executemany, seen=seen):
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        assert client.get(path).status_code == 200
        event.remove(engine, "before_cursor_execute", capture)
        print(f"\n### {label}: {path}")
        raw = engine.raw_connection()
        try:
            for statement, parameters in seen:
                if not any(f"FROM {table}" in statement for table in ("orders", "order_lines", "products")):
                    continue
                cur = raw.cursor()
                if backend == "sqlite":
                    cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                    plan = [row[3] for row in cur.fetchall()]
                else:
                    cur.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters)
                    plan = [row[0] for row in cur.fetchall()]
                cur.close()
                print("  " + " ".join(statement.split())[:160] + " ...")
                for line in plan:
                    print("    " + line)
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="postgresql")
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run (reused then)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--only", default="", help="a regular expression: only the requests whose label matches "
                                                   "(measured and explained)")
    args = parser.parse_args()
    sizes = {**SIZES, "big": {"products": args.products, "items": args.items, "orders": args.orders,
                              "customers": 5_000}}
    deep_page = max(1, args.orders // 25 - 10)
    for backend in backends(args.db):
        app, fresh = make_app(backend, args.keep)
        print(f"{backend}: {'seeding' if fresh else 'reusing ' + NAME}")
        if fresh:
            fill(app, sizes)
        try:
            small, big = measure(app, args.runs, deep_page, args.only)
            print(f"\n{backend}: median ms per request (small: 30 products, 300 orders; big: "
                  f"{args.products:,} products, {args.items:,} items, {args.orders:,} orders)")
            print(f"{'what':<40} {'small':>8} {'big':>8} {'big/small':>10}")
            for label in big:
                if args.only and not re.search(args.only, label):
                    continue
                # the small store has no deep page: its figure is page 2
                small_label = label if label in small else re.sub(r"page([ =])\d+", r"page\g<1>2", label)
                s = small.get(small_label, float("nan"))
                print(f"{label:<40} {s:>8.1f} {big[label]:>8.1f} {big[label] / s:>9.2f}x")
            if args.explain:
                explain(app, backend, deep_page, args.only)
        finally:
            from extensions import db

            with app.app_context():
                db.engine.dispose()
            if not args.keep:
                drop(backend)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
