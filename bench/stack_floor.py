"""The floor of the stack under the checkout target: what the bare allocation statement costs once
it is wrapped in the least HTTP request this stack can serve, against the app's checkout, in the
same run and on the same database.

Three loops, each timed in turn in every round (the median of the rounds is reported):

* **bare**: the allocation statement in a transaction, as ``bench/checkout.py`` times it
  (``UPDATE ... WHERE id IN (SELECT ... LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING id`` + commit,
  through a SQLAlchemy Core connection; on SQLite ``BEGIN IMMEDIATE``, WAL, synchronous=NORMAL, as
  the app sets them);
* **floor**: a Flask app of a dozen lines with flask-jwt-extended, whose one view reads a JSON
  body, checks the Bearer token and runs the same statement in the same way: no ORM, no tenancy,
  no validation, no ledger, no answer but the id. Nothing useful can be served for less on
  Flask + SQLAlchemy + flask-jwt-extended, the stack the product was specified with;
* **checkout**: the app's ``POST /api/orders/checkout`` by balance, one item (the add-to-cart
  before it is not timed), as ``bench/checkout.py`` times it.

The issue's targets ask the checkout for 1/15 (SQLite) and 1/10 (PostgreSQL) of the bare rate; the
floor's own ratio says how much of that the stack spends before any of the shop's work.

    .venv/bin/python bench/stack_floor.py [--db both|sqlite|postgresql] [--n 300] [--rounds 5]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time

from _common import backends, bench_app
from checkout import http_checkouts, seed
from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity, jwt_required
from sqlalchemy import text


def allocation(dialect: str):
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return text(f"""UPDATE stock_items SET is_sold = :true, order_id = NULL WHERE id IN (
        SELECT id FROM stock_items WHERE store_id = :s AND variant_id = :v AND is_sold = :false
          AND removed_at IS NULL AND order_id IS NULL ORDER BY id LIMIT 1 {lock}) RETURNING id""")


def floor_app(engine, params: dict) -> tuple[Flask, str]:
    """The least request that runs the statement: a token checked, a JSON body read, one
    transaction, a JSON answer."""
    app = Flask("floor")
    app.config["JWT_SECRET_KEY"] = "floor-jwt-key-that-is-at-least-32-bytes-long"
    JWTManager(app)
    statement = allocation(engine.dialect.name)

    @app.post("/buy")
    @jwt_required()
    def buy():
        body = request.get_json()
        with engine.begin() as conn:
            sold = conn.execute(statement, params).first()
        return jsonify(id=sold[0], buyer=get_jwt_identity(), quantity=body["quantity"]), 201

    with app.app_context():
        token = create_access_token("buyer")
    return app, token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="both")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    print(f"{'database':<11} {'what':<46} {'ms each':>8} {'of bare':>8}")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            store_id, variant_id, raw_variant_id, token = seed(app, (2 * args.n + 20) * args.rounds + 50)
            from extensions import db
            from transactions import drain_jobs

            with app.app_context():
                engine = db.engine
            params = {"s": store_id, "v": raw_variant_id, "true": True, "false": False}
            statement = allocation(engine.dialect.name)
            floor, floor_token = floor_app(engine, params)
            floor_client = floor.test_client()
            floor_headers = {"Authorization": f"Bearer {floor_token}"}

            def bare() -> None:
                with engine.begin() as conn:
                    assert conn.execute(statement, params).first()

            def through_floor() -> None:
                assert floor_client.post("/buy", json={"quantity": 1}, headers=floor_headers).status_code == 201

            def loop(step, n: int) -> float:
                started = time.perf_counter()
                for _ in range(n):
                    step()
                return (time.perf_counter() - started) / n * 1000

            def checkout(n: int) -> float:
                per_second = http_checkouts(app, variant_id, token, n)[1]  # the checkout requests alone
                drain_jobs()
                return 1000 / per_second

            loop(bare, 20), loop(through_floor, 20), checkout(10)  # warm
            rows = {"bare": [], "floor": [], "checkout": []}
            for _ in range(args.rounds):
                rows["bare"].append(loop(bare, args.n))
                rows["floor"].append(loop(through_floor, args.n))
                rows["checkout"].append(checkout(args.n // 2))
            ms = {name: statistics.median(values) for name, values in rows.items()}
            labels = {"bare": "bare allocation statement + commit",
                      "floor": "least Flask + JWT request running it",
                      "checkout": "the app's checkout by balance, 1 item"}
            for name, label in labels.items():
                print(f"{backend:<11} {label:<46} {ms[name]:>8.2f} {'1/' + format(ms[name] / ms['bare'], '.1f'):>8}")
            print(f"{backend:<11} {'checkout / least request':<46} {ms['checkout'] / ms['floor']:>7.1f}x")


if __name__ == "__main__":
    main()
