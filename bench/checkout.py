"""Checkout speed: a full HTTP checkout paid with balance (add to cart + checkout, through the
whole app: auth, tenancy, cart, pricing, order, allocation, ledger, delivery, email job) beside
the bare allocation statement in a loop (one UPDATE ... RETURNING per sale, committed), in the
same run, on SQLite and PostgreSQL. Sequential: this measures cost per checkout, not contention
(tests/concurrency proves correctness under contention). No REDIS_URL: the confirmation email
is rendered and "sent" (locmem) on the in-process job thread after the request answered (the
default); the row "jobs inside the request" runs the same with JOBS_THREAD off (as before issue
16). Best of --rounds rounds for every row (a shared, noisy machine); the ratio is of the bests.

    .venv/bin/python bench/checkout.py [--orders 300] [--rounds 3] [--db both|sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import time

from _common import backends, bench_app
from sqlalchemy import text


def seed(app, items: int):
    from extensions import db
    from models import Variant
    from services import auth, balance, stock, stores
    from services import products as product_service
    from tenancy import tenant_scope

    with app.app_context():
        store = stores.create_store("bench", "Bench", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            product = product_service.create_product({"title": "Card", "variants": [{"title": "10", "price": 1000}]})
            variant = db.session.query(Variant).filter(Variant.product_id == product.id).one()
            stock.import_stock(variant, "\n".join(f"HTTP-{i:07d}" for i in range(items)))
            product2 = product_service.create_product({"title": "Raw", "variants": [{"title": "1", "price": 100}]})
            raw_variant = db.session.query(Variant).filter(Variant.product_id == product2.id).one()
            stock.import_stock(raw_variant, "\n".join(f"RAW-{i:07d}" for i in range(items)))
            user = auth.create_user(username="bencher", email="bench@example.com", password="bench-password-1")
            db.session.flush()
            balance.credit(user.id, 10**9, "topup", reason="bench")
            db.session.commit()
            app.config["RATELIMIT_ENABLED"] = False
            with app.test_request_context():
                token = auth.issue_tokens(user)["access_token"]
            return store.id, variant.id, raw_variant.id, token


def http_checkouts(app, variant_id: str, token: str, n: int) -> tuple[float, float]:
    """(add-to-cart + checkout pairs per second, checkout requests per second)."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    in_checkout = 0.0
    started = time.perf_counter()
    for _ in range(n):
        r = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": 1}, headers=headers)
        assert r.status_code in (200, 201), r.get_json()
        t = time.perf_counter()
        r = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=headers)
        in_checkout += time.perf_counter() - t
        assert r.status_code == 201, r.get_json()
    return n / (time.perf_counter() - started), n / in_checkout


def bare_allocations(app, store_id: str, variant_id: str, n: int) -> float:
    from extensions import db

    with app.app_context():
        engine = db.engine
    dialect = engine.dialect.name
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    sql = text(f"""UPDATE stock_items SET is_sold = :true, order_id = NULL WHERE id IN (
        SELECT id FROM stock_items WHERE store_id = :s AND variant_id = :v AND is_sold = :false
          AND removed_at IS NULL AND order_id IS NULL ORDER BY id LIMIT 1 {lock}) RETURNING id""")
    started = time.perf_counter()
    for _ in range(n):
        with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE (the app's write transactions)
            assert conn.execute(sql, {"s": store_id, "v": variant_id, "true": True, "false": False}).first()
    return n / (time.perf_counter() - started)


def main() -> None:
    import logging

    from transactions import drain_jobs

    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default="both")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the per-request log line goes to a terminal otherwise
    print(f"{'database':<11} {'what':<44} {'per second':>11} {'ms each':>8}")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            store_id, variant_id, raw_variant_id, token = seed(app, 2 * args.rounds * args.orders + 50)
            bare = http = checkout_only = inside = 0.0
            for _ in range(args.rounds):
                app.config["JOBS_THREAD"] = True
                pair, alone = http_checkouts(app, variant_id, token, args.orders)
                drain_jobs()
                http, checkout_only = max(http, pair), max(checkout_only, alone)
                app.config["JOBS_THREAD"] = False
                inside = max(inside, http_checkouts(app, variant_id, token, args.orders)[1])
                bare = max(bare, bare_allocations(app, store_id, raw_variant_id, args.orders))
            print(f"{backend:<11} {'bare allocation statement + commit':<44} {bare:>11.0f} {1000 / bare:>8.2f}")
            print(f"{backend:<11} {'HTTP checkout request (balance, 1 item)':<44} {checkout_only:>11.0f} {1000 / checkout_only:>8.2f}")
            print(f"{backend:<11} {'  the same, jobs inside the request':<44} {inside:>11.0f} {1000 / inside:>8.2f}")
            print(f"{backend:<11} {'HTTP add-to-cart + checkout':<44} {http:>11.0f} {1000 / http:>8.2f}")
            print(f"{backend:<11} {'  ratio (checkout request / bare allocation)':<44} {checkout_only / bare:>11.3f}")
            print(f"{backend:<11} {'  ratio, jobs inside the request':<44} {inside / bare:>11.3f}")


if __name__ == "__main__":
    main()
