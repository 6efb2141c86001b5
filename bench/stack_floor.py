"""The floor of the stack under the checkout target: what the bare allocation statement costs once
it is wrapped in the least HTTP request this stack can serve, against the app's checkout, in the
same run and on the same database.

Four loops, each timed in turn in every round (the median of the rounds is reported):

* **bare**: the allocation statement in a transaction, as ``bench/checkout.py`` times it
  (``UPDATE ... WHERE id IN (SELECT ... LIMIT 1 [FOR UPDATE SKIP LOCKED]) RETURNING id`` + commit,
  through a SQLAlchemy Core connection; on SQLite ``BEGIN IMMEDIATE``, WAL, synchronous=NORMAL, as
  the app sets them);
* **floor**: a Flask app of a dozen lines with flask-jwt-extended, whose one view reads a JSON
  body, checks the Bearer token and runs the same statement in the same way: no ORM, no tenancy,
  no validation, no ledger, no answer but the id. Nothing useful can be served for less on
  Flask + SQLAlchemy + flask-jwt-extended, the stack the product was specified with;
* **core**: the checkout's own statements (the user with the token's revocation, the cart and its
  lines, the order number, the order, its line, the allocation, the variant's and product's counts,
  emptying the cart, the guarded debit, the ledger row, the order's three events), written in
  SQLAlchemy Core, in one transaction, behind the same floor view: what a checkout that does this
  work costs with no ORM, no tenancy, no validation, no rules, no decryption and no email. Its
  cart line is added before each request, not timed;
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
from datetime import datetime, timezone
from uuid import uuid4

from _common import backends, bench_app
from checkout import http_checkouts, seed
from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, create_access_token, get_jwt, get_jwt_identity, jwt_required
from sqlalchemy import JSON, Boolean, DateTime, bindparam, text


def allocation(dialect: str):
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return text(f"""UPDATE stock_items SET is_sold = :true, order_id = NULL WHERE id IN (
        SELECT id FROM stock_items WHERE store_id = :s AND variant_id = :v AND is_sold = :false
          AND removed_at IS NULL AND order_id IS NULL ORDER BY id LIMIT 1 {lock}) RETURNING id""")


_WHEN = DateTime(timezone=True)
CORE_CHECKOUT = [  # the app's checkout by balance, statement for statement (SQL as the ORM sends it)
    ("user", text("""SELECT users.id, users.balance, users.token_version, users.role, users.is_active,
        EXISTS (SELECT * FROM revoked_tokens WHERE revoked_tokens.jti = :jti) AS revoked
        FROM users WHERE users.id = :user""")),
    ("cart", text("SELECT carts.id, carts.coupon_code FROM carts WHERE carts.user_id = :user AND carts.store_id = :s")),
    ("lines", text("""SELECT cart_items.id, cart_items.quantity, cart_items.seen_price, variants.id, variants.price,
        variants.min_quantity, variants.max_quantity, variants.is_active, variants.stock_count, variants.deleted_at,
        products.id, products.title, products.kind, products.is_enabled, products.deleted_at, products.primary_image_url,
        categories.id FROM cart_items
        LEFT OUTER JOIN variants ON variants.id = cart_items.variant_id AND variants.store_id = :s
        LEFT OUTER JOIN products ON products.id = variants.product_id AND products.store_id = :s
        LEFT OUTER JOIN categories ON categories.id = products.category_id AND categories.store_id = :s
        WHERE cart_items.cart_id = :cart AND cart_items.store_id = :s ORDER BY cart_items.created_at, cart_items.id""")),
    ("number", text("""INSERT INTO counters (name, store_id, value) VALUES ('order', :s, 1) ON CONFLICT (name, store_id)
        DO UPDATE SET value = counters.value + 1 RETURNING value""")),
    ("order", text("""INSERT INTO orders (id, store_id, order_number, buyer_id, email, status, payment_status,
        payment_method, currency, subtotal, discount_total, tax_total, shipping_total, total, item_count, is_gift,
        cart_snapshot, amount_refunded, cost_total, cost_known_units, note, paid_at, completed_at, updated_at, created_at)
        VALUES (:order, :s, :number, :user, 'floor@example.com', 'COMPLETED', 'PAID', 'BALANCE', 'EUR', :price, 0, 0, 0,
        :price, 1, :false, :snapshot, 0, 0, 0, '', :now, :now, :now, :now)""").bindparams(
        bindparam("snapshot", type_=JSON), bindparam("now", type_=_WHEN), bindparam("false", type_=Boolean))),
    ("line", text("""INSERT INTO order_lines (id, store_id, order_id, position, product_id, variant_id, kind,
        product_title, variant_title, quantity, unit_price, line_subtotal, delivered_count, paid_at, is_gift, cost,
        cost_known_units, created_at) VALUES (:line, :s, :order, 0, :p, :v, 'digital', 'Raw', '1', 1, :price, :price, 1,
        :now, :false, 0, 0, :now)""").bindparams(bindparam("now", type_=_WHEN), bindparam("false", type_=Boolean))),
    ("allocate", None),  # the allocation statement below, with the order's ids
    ("variant", text("""UPDATE variants SET stock_count = variants.stock_count - 1, updated_at = :now
        WHERE variants.id = :v AND variants.store_id = :s RETURNING stock_count, low_stock_threshold""").bindparams(
        bindparam("now", type_=_WHEN))),
    ("product", text("""UPDATE products SET stock_total = products.stock_total - 1, updated_at = :now
        WHERE products.id = :p AND products.store_id = :s""").bindparams(bindparam("now", type_=_WHEN))),
    ("empty", text("DELETE FROM cart_items WHERE cart_items.cart_id = :cart AND cart_items.store_id = :s RETURNING id")),
    ("debit", text("""UPDATE users SET balance = users.balance - :price WHERE users.id = :user
        AND users.balance >= :price AND users.store_id = :s RETURNING balance""")),
    ("ledger", text("""INSERT INTO balance_transactions (id, store_id, user_id, kind, amount, balance_after, order_id,
        reason, created_at) VALUES (:entry, :s, :user, 'purchase', -:price, :after, :order, 'Order', :now)""").bindparams(
        bindparam("now", type_=_WHEN))),
    ("events", text("""INSERT INTO order_events (id, store_id, order_id, kind, message, actor_id, data, created_at)
        VALUES (:e1, :s, :order, 'created', 'Order placed', :user, :data, :now),
        (:e2, :s, :order, 'paid', 'Paid by balance', :user, :data, :now),
        (:e3, :s, :order, 'revealed', 'Shown', :user, :data, :now)""").bindparams(
        bindparam("data", type_=JSON), bindparam("now", type_=_WHEN))),
]


def allocate_for_order(dialect: str):
    lock = "FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return text(f"""UPDATE stock_items SET order_id = :order, order_line_id = :line, is_sold = :true, sold_at = :now,
        first_revealed_at = :now, first_revealed_ip = '127.0.0.1' WHERE id IN (
        SELECT id FROM stock_items WHERE store_id = :s AND variant_id = :v AND is_sold = :false
          AND removed_at IS NULL AND order_id IS NULL ORDER BY id LIMIT 1 {lock})
        RETURNING id, deliverable_encrypted""").bindparams(
        bindparam("now", type_=_WHEN), bindparam("true", type_=Boolean), bindparam("false", type_=Boolean))


def core_checkout(engine, ids: dict):
    """The checkout's statements with none of the app around them: SQLAlchemy Core, one transaction,
    the values computed inline. No validation, no rules, no tenancy, no decryption, no email."""
    allocate = allocate_for_order(engine.dialect.name)

    def run(jti: str) -> dict:
        now = datetime.now(timezone.utc)
        params = {**ids, "jti": jti, "now": now, "true": True, "false": False, "price": 100,
                  "order": str(uuid4()), "line": str(uuid4()), "entry": str(uuid4()), "e1": str(uuid4()),
                  "e2": str(uuid4()), "e3": str(uuid4()), "data": {}, "after": 0}
        with engine.begin() as conn:
            user = conn.execute(CORE_CHECKOUT[0][1], params).first()
            assert user is not None and not user.revoked
            params["cart"] = conn.execute(CORE_CHECKOUT[1][1], params).first()[0]
            lines = conn.execute(CORE_CHECKOUT[2][1], params).all()
            params["snapshot"] = [{"subcategory_id": ids["v"], "quantity": len(lines), "unit_price": 100}]
            for name, statement in CORE_CHECKOUT[3:]:
                if name == "allocate":
                    sold = conn.execute(allocate, params).first()
                    assert sold is not None
                elif name == "number":
                    params["number"] = conn.execute(statement, params).scalar_one()
                elif name == "debit":
                    params["after"] = conn.execute(statement, params).scalar_one()
                else:
                    conn.execute(statement, params)
        return {"id": params["order"], "order_number": params["number"], "items": [sold[0]]}

    return run


def floor_app(engine, params: dict, core_ids: dict | None = None) -> tuple[Flask, str]:
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

    if core_ids is not None:
        checkout = core_checkout(engine, core_ids)

        @app.post("/checkout")
        @jwt_required()
        def core():
            body = request.get_json()
            assert body["payment_method"] == "BALANCE"
            return jsonify(checkout(get_jwt()["jti"])), 201

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
            store_id, variant_id, raw_variant_id, token = seed(app, (3 * args.n + 20) * args.rounds + 80)
            from extensions import db
            from transactions import drain_jobs

            with app.app_context():
                engine = db.engine
            with engine.connect() as conn:
                user_id, product_id = conn.execute(text(
                    "SELECT users.id, variants.product_id FROM users, variants WHERE users.username = 'bencher' "
                    "AND variants.id = :v"), {"v": raw_variant_id}).one()
            params = {"s": store_id, "v": raw_variant_id, "true": True, "false": False}
            statement = allocation(engine.dialect.name)
            core_ids = {"s": store_id, "v": raw_variant_id, "p": product_id, "user": user_id}
            floor, floor_token = floor_app(engine, params, core_ids)
            floor_client = floor.test_client()
            floor_headers = {"Authorization": f"Bearer {floor_token}"}
            add_line = text("""INSERT INTO cart_items (id, store_id, cart_id, variant_id, quantity, seen_price, created_at)
                SELECT :id, carts.store_id, carts.id, :v, 1, 100, :now FROM carts WHERE carts.user_id = :user AND carts.store_id = :s
                """).bindparams(bindparam("now", type_=DateTime(timezone=True)))

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

            def core(n: int) -> float:
                """The Core checkout through the floor app, its cart line added (not timed) before each."""
                spent = 0.0
                for _ in range(n):
                    with engine.begin() as conn:
                        conn.execute(add_line, {**core_ids, "id": str(uuid4()), "now": datetime.now(timezone.utc)})
                    started = time.perf_counter()
                    response = floor_client.post("/checkout", json={"payment_method": "BALANCE"}, headers=floor_headers)
                    spent += time.perf_counter() - started
                    assert response.status_code == 201, response.get_data(as_text=True)
                return spent / n * 1000

            loop(bare, 20), loop(through_floor, 20), checkout(10), core(10)  # warm (the checkout makes the cart)
            rows = {"bare": [], "floor": [], "core": [], "checkout": []}
            for _ in range(args.rounds):
                rows["bare"].append(loop(bare, args.n))
                rows["floor"].append(loop(through_floor, args.n))
                rows["core"].append(core(args.n // 2))
                rows["checkout"].append(checkout(args.n // 2))
            ms = {name: statistics.median(values) for name, values in rows.items()}
            labels = {"bare": "bare allocation statement + commit",
                      "floor": "least Flask + JWT request running it",
                      "core": "the checkout's statements, Core, same floor",
                      "checkout": "the app's checkout by balance, 1 item"}
            for name, label in labels.items():
                print(f"{backend:<11} {label:<46} {ms[name]:>8.2f} {'1/' + format(ms[name] / ms['bare'], '.1f'):>8}")
            print(f"{backend:<11} {'checkout / least request':<46} {ms['checkout'] / ms['floor']:>7.1f}x")
            print(f"{backend:<11} {'checkout / Core checkout':<46} {ms['checkout'] / ms['core']:>7.1f}x")


if __name__ == "__main__":
    main()
