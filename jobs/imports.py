"""Import jobs (queue ``default``): a WooCommerce import and a CSV import, each in batches.

The job is the unit of work here, and an import is long: each batch (the taxonomy, a page of
products, a slice of CSV rows) is flushed by ``services.migration`` / ``services.csv_import`` and
committed here with ``commit_early``, together with the job row's progress (``cursor``, ``done``)
and its counts. So the progress shows while it runs, and a worker killed mid-import leaves whole
batches: the same job run again (``resume``) goes on after its ``cursor``, and the mapping table
(``external_refs``) makes anything done twice an update, never a duplicate.
"""
from __future__ import annotations

from services import csv_import, migration
from transactions import commit_early, record_failure


def run_woocommerce_import(job_id: str, *, client=None, per_page: int | None = None) -> str:
    run = migration.open_woocommerce(job_id, client=client, per_page=per_page)
    if run is None:
        return "nothing to do"
    commit_early("the import shows as running")
    try:
        for _batch in migration.woo_batches(run):
            commit_early("a batch of the WooCommerce import, with its progress")
    except migration.ImportStopped as exc:
        record_failure(migration.fail, job_id, str(exc))
        return "failed"
    except Exception as exc:  # shown on the job while RQ retries; a retry resumes after the last batch
        record_failure(migration.fail, job_id, f"{type(exc).__name__}: {exc}")
        raise
    return "done"


def run_csv_import(job_id: str, *, batch_size: int | None = None) -> str:
    run = csv_import.open_run(job_id, batch_size=batch_size)
    if run is None:
        return "nothing to do"
    commit_early("the import shows as running")
    try:
        for _batch in csv_import.batches(run):
            commit_early("a batch of the CSV import, with its progress")
    except Exception as exc:
        record_failure(migration.fail, job_id, f"{type(exc).__name__}: {exc}")
        raise
    return "done"
