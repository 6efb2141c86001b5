"""CSV import speed: a generic CSV of N rows (4 variants a product) with 50 bad rows, staged
(read and checked) and imported in batches as the job does it, then the same file again (every row
already known: skipped), on SQLite and PostgreSQL.

    .venv/bin/python bench/csv_import.py [--rows 10000] [--db both|sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from _common import backends, bench_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad", type=int, default=50)
    parser.add_argument("--db", default="both")
    args = parser.parse_args()
    from tests.api.test_csv_import import generic_file

    data, bad = generic_file(args.rows, args.bad)
    print(f"{args.rows} rows ({len(bad)} bad), {len(data) / 1e6:.1f} MB")
    print(f"{'database':<11} {'run':<11} {'stage s':>8} {'import s':>9} {'rows/s':>8} {'created':>8} {'skipped':>8} {'+RSS MB':>8}")
    for backend in backends(args.db):
        with bench_app(backend) as app:
            from extensions import db
            from services import csv_import, stores
            from tenancy import tenant_scope

            with app.app_context():
                store = stores.create_store("bench", "Bench", is_default=True)
                db.session.commit()
                store_id = store.id
            for label in ("first", "same again"):
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                started = time.perf_counter()
                with app.app_context(), tenant_scope(store_id):
                    job_id = csv_import.stage(data, "bench.csv").id  # read and check every row
                    db.session.commit()
                staged = time.perf_counter()
                with app.app_context(), tenant_scope(store_id):
                    csv_import.start(csv_import.get_csv_job(job_id))
                    db.session.commit()  # inline (no Redis): the job runs once this commits, as a worker would
                done = time.perf_counter()
                with app.app_context(), tenant_scope(store_id):
                    job = csv_import.get_csv_job(job_id)
                    created, skipped, failed = job.created, job.skipped, job.failed
                grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
                print(f"{backend:<11} {label:<11} {staged - started:>8.2f} {done - staged:>9.2f} "
                      f"{args.rows / (done - started):>8.0f} {created:>8} {skipped:>8} {grown:>8.0f}   (failed {failed})")


if __name__ == "__main__":
    main()
