"""Profile the HTTP checkout by balance (one item): cProfile over N checkouts after a warm-up,
the top functions by cumulative time (the project's own code and the libraries it calls).

    .venv/bin/python bench/profile_checkout.py [--orders 100] [--db sqlite|postgresql] [--top 40]
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import pstats

from _common import bench_app
from checkout import seed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with bench_app(args.db) as app:
        _, variant_id, _, token = seed(app, args.orders + 30)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def one():
            r = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": 1}, headers=headers)
            assert r.status_code in (200, 201), r.get_json()
            profiler.enable()
            r = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=headers)
            profiler.disable()
            assert r.status_code == 201, r.get_json()

        profiler = cProfile.Profile()
        for _ in range(20):
            one()
        profiler = cProfile.Profile()
        for _ in range(args.orders):
            one()
        stats = pstats.Stats(profiler)
        print(f"{stats.total_tt / args.orders * 1000:.2f} ms per checkout (profiled)")
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
