"""Stock import speed and memory: N deliverables pasted at once, then the same file again
(every line already known), on SQLite and PostgreSQL.

    .venv/bin/python bench/stock_import.py [--lines 100000] [--db both|sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import resource
import secrets
import time

from _common import backends, bench_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--db", default="both")
    args = parser.parse_args()
    text = "\n".join(f"KEY-{i:08d}-{secrets.token_hex(6).upper()}" for i in range(args.lines)) + "\n"
    print(f"{args.lines} deliverables, {len(text) / 1e6:.1f} MB of text")
    print(f"{'database':<11} {'run':<14} {'seconds':>8} {'lines/s':>10} {'added':>8} {'known':>8} {'+RSS MB':>8}")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            from extensions import db
            from services import products as product_service
            from services import stock, stores
            from tenancy import tenant_scope

            with app.app_context():
                store = stores.create_store("bench", "Bench", is_default=True)
                db.session.commit()
                with tenant_scope(store):
                    product = product_service.create_product({"title": "Bench card", "variants": [{"title": "x", "price": 100}]})
                    db.session.commit()
                    from sqlalchemy import select

                    from models import Variant

                    variant_id = db.session.scalar(select(Variant.id).where(Variant.product_id == product.id))
            for label in ("first import", "same again"):
                with app.app_context(), tenant_scope(store):
                    from models import Variant

                    variant = db.session.get(Variant, variant_id)
                    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                    started = time.perf_counter()
                    result = stock.import_stock(variant, text)
                    db.session.commit()
                    elapsed = time.perf_counter() - started
                    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
                    print(f"{backend:<11} {label:<14} {elapsed:>8.2f} {args.lines / elapsed:>10,.0f} "
                          f"{result.added:>8} {result.already_known:>8} {peak:>8.1f}")


if __name__ == "__main__":
    main()
