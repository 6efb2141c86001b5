"""Catalog speed: the storefront catalog page (/search, 24 products) and GET /api/products
(page_size=24) against a bare Flask page rendering the same 24 cards, in the same run.

Each app is driven in-process through its WSGI interface (werkzeug's test client), so the
numbers compare the work each app does per request, not a network stack. Also reports the SQL
statements per request (on SQLite the BEGIN of a transaction counts as one; a PRAGMA sent through
the DBAPI connection, services.stores.still_current, does not pass SQLAlchemy and is not counted).
The four pages are timed in turn in each of ROUNDS rounds (``interleaved``); the request log line
is off unless ``--log`` (the bare app logs nothing).

    .venv/bin/python bench/catalog.py [--requests 400] [--db sqlite|postgresql|both] [--log]
"""
from __future__ import annotations

import argparse
import logging
import sqlite3
import statistics
import time

from _common import backends, bench_app
from flask import Flask, render_template_string
from sqlalchemy import event

CARD = """<ul class="grid">{% for p in products %}
<li class="card"><a href="/p/{{ p.slug }}"><img src="{{ p.image }}" alt="" loading="lazy">
<h3>{{ p.title }}</h3><span class="chip">{{ p.category }}</span>
<p class="price">from {{ '%.2f'|format(p.price / 100) }} EUR</p>
<p class="stock">{{ 'In stock' if p.stock else 'Out of stock' }}</p></a></li>{% endfor %}</ul>"""
PAGE = "<!doctype html><html><head><title>Shop</title></head><body><main>" + CARD + "</main></body></html>"


def bare_app(rows_from_db) -> Flask:
    app = Flask("bare")
    constant = rows_from_db()

    @app.get("/constant")
    def constant_page():
        return render_template_string(PAGE, products=constant)

    @app.get("/db")
    def db_page():
        return render_template_string(PAGE, products=rows_from_db())

    return app


ROUNDS = 5


def rate(client, path: str, n: int) -> float:
    """Requests per second over ``n`` requests."""
    started = time.perf_counter()
    for _ in range(n):
        client.get(path)
    return n / (time.perf_counter() - started)


def interleaved(pages: list[tuple[object, str]], n: int, rounds: int) -> list[list[float]]:
    """req/s of every (client, path) in each of ``rounds`` rounds, the pages one after another
    within a round: a page and the bare page it is compared with are timed seconds apart, so the
    load of this shared machine weighs on both (comparing the best rounds of each, timed a minute
    apart, moved the ratios by ±0.1)."""
    for client, path in pages:
        for _ in range(30):
            assert client.get(path).status_code == 200, path
    return [[rate(client, path, n) for client, path in pages] for _ in range(rounds)]


def seed(app) -> str:
    from extensions import db
    from services import categories as category_service
    from services import products as product_service
    from services import stores
    from tenancy import tenant_scope

    with app.app_context():
        store = stores.create_store("bench", "Bench", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            category = category_service.create_category(title="Gift cards")
            for i in range(30):
                product = product_service.create_product({"title": f"Card {i:02d}", "category_id": category.id,
                                                  "variants": [{"title": "10", "price": 1000 + i}]})
                product.primary_image_url = "/static/favicon.svg"
                product.stock_total = 5
            db.session.commit()
        return store.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--log", action="store_true", help="keep the per-request log line (off: the bare app logs nothing)")
    args = parser.parse_args()
    if not args.log:
        logging.disable(logging.INFO)  # the per-request log line goes to a terminal otherwise
    print(f"{'database':<11} {'page':<32} {'req/s':>8} {'SQL/req':>8} {'vs bare(db)':>12}")
    print(f"(req/s: the best of {ROUNDS} rounds; vs bare: the median over the rounds of the ratio within a round)")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            store_id = seed(app)
            url = app.config["SQLALCHEMY_DATABASE_URI"]
            if backend == "sqlite":
                path = url.removeprefix("sqlite:///")
                conn = sqlite3.connect(path, check_same_thread=False)

                def rows_from_db():
                    cur = conn.execute(
                        "SELECT p.title, p.slug, p.primary_image_url, p.starting_at, p.stock_total, c.title "
                        "FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.store_id = ? "
                        "AND p.is_enabled = 1 ORDER BY p.created_at DESC LIMIT 24", (store_id,))
                    return [dict(title=r[0], slug=r[1], image=r[2], price=r[3], stock=r[4], category=r[5]) for r in cur]
            else:
                import psycopg

                conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)

                def rows_from_db():
                    cur = conn.execute(
                        "SELECT p.title, p.slug, p.primary_image_url, p.starting_at, p.stock_total, c.title "
                        "FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.store_id = %s "
                        "AND p.is_enabled ORDER BY p.created_at DESC LIMIT 24", (store_id,))
                    return [dict(title=r[0], slug=r[1], image=r[2], price=r[3], stock=r[4], category=r[5]) for r in cur]

            bare = bare_app(rows_from_db).test_client()
            ours = app.test_client()
            from extensions import db

            with app.app_context():
                engine = db.engine
            counter = {"n": 0}

            def count(*_a, **_k):
                counter["n"] += 1

            labels = [("storefront /search (24 cards)", "/search"),
                      ("GET /api/products?page_size=24", "/api/products?page_size=24")]
            per_request = []
            event.listen(engine, "before_cursor_execute", count)
            for _label, path in labels:
                ours.get(path)
                counter["n"] = 0
                for _ in range(100):
                    ours.get(path)
                per_request.append(counter["n"] / 100)
            event.remove(engine, "before_cursor_execute", count)
            pages = [(bare, "/db"), (bare, "/constant"), *((ours, path) for _label, path in labels)]
            rounds = interleaved(pages, args.requests, ROUNDS)
            best = [max(r[i] for r in rounds) for i in range(len(pages))]
            ratio = [statistics.median(r[i] / r[0] for r in rounds) for i in range(len(pages))]
            print(f"{backend:<11} {'bare Flask, constant data':<32} {best[1]:>8.0f} {0:>8} {ratio[1]:>11.2f}x")
            print(f"{backend:<11} {'bare Flask, one SQL query':<32} {best[0]:>8.0f} {1:>8} {1:>11.2f}x")
            for i, (label, _path) in enumerate(labels):
                print(f"{backend:<11} {label:<32} {best[i + 2]:>8.0f} {per_request[i]:>8.2f} {ratio[i + 2]:>11.2f}x")
            conn.close()


if __name__ == "__main__":
    main()
