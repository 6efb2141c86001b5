"""gunicorn reads this file from the working directory by itself (``gunicorn 'app:create_app()'``).

Rate limits (Flask-Limiter) and other per-process state are shared between worker processes only
through Redis. Without ``REDIS_URL`` every worker would count on its own (10 logins a minute
per worker), so more than one worker without Redis is refused at startup. Threads within one
worker share memory: ``-k gthread --threads 8 -w 1`` is fine without Redis.

Metrics (README, Operations): with several workers each keeps its own counters, so set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by the workers; prometheus_client then
keeps every worker's values in files there and ``/metrics`` adds them up. A worker that exits
is marked dead here (``child_exit``), so its live gauges stop counting. The directory is
emptied at startup (values from an earlier run would be added in).
"""
import os
from pathlib import Path

from prometheus_client import multiprocess


def on_starting(server) -> None:
    if server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit(
            f"Refusing to start {server.cfg.workers} workers without REDIS_URL: rate limits would be "
            "counted per worker. Set REDIS_URL, or run one worker with threads (-w 1 --threads 8)."
        )
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:  # values of an earlier run would be added to this one's
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
