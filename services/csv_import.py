"""CSV import (being written)."""

def open_run(job_id, batch_size=None):
    return None


def batches(run):
    yield from ()
