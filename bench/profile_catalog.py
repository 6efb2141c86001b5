"""Profile the catalog page (/search, 24 cards) or the JSON list: cProfile over N requests after a
warm-up, the top functions (the project's own code and the libraries it calls).

    .venv/bin/python bench/profile_catalog.py [--requests 300] [--db sqlite|postgresql] [--path /search]
"""
from __future__ import annotations

import argparse
import cProfile
import logging
import pstats

from _common import bench_app
from catalog import seed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--path", default="/search")
    parser.add_argument("--top", type=int, default=50)
    parser.add_argument("--sort", default="cumulative")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    with bench_app(args.db) as app:
        seed(app)
        client = app.test_client()
        for _ in range(50):
            assert client.get(args.path).status_code == 200
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            client.get(args.path)
        profiler.disable()
        stats = pstats.Stats(profiler)
        print(f"{stats.total_tt / args.requests * 1000:.2f} ms per request (profiled)")
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
