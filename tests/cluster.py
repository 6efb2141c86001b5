"""Several real instances of the platform on 127.0.0.1: gunicorn web instances and RQ workers (each a
separate process group, like separate machines) against one database and one Redis database.

Used by the two-instance test (tests/multi/test_two_instances.py) and the load test (bench/load.py)::

    with Cluster(database_url, redis_url, tmp, env={...}) as cluster:
        cluster.web_urls           # ["http://127.0.0.1:<port>", ...]
        cluster.kill_worker(0)     # SIGKILL, the job it was running included

Every process logs to a file in ``tmp`` (``cluster.logs()`` reads them back for a failure message).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    if not task_dir.exists():
        return found
    for task in task_dir.iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Cluster:
    def __init__(self, database_url: str, redis_url: str, tmp: Path, *, web: int = 2, workers: int = 2,
                 env: dict | None = None, threads: int = 4, gunicorn_workers: int = 1):
        self.database_url, self.redis_url, self.tmp = database_url, redis_url, Path(tmp)
        self.web_count, self.worker_count = web, workers
        self.threads, self.gunicorn_workers = threads, gunicorn_workers
        self.extra_env = {k: str(v) for k, v in (env or {}).items()}
        self.web: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen | None] = []
        self.web_urls: list[str] = []
        self._logs: list[Path] = []

    def env(self) -> dict:
        return {**os.environ, "DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url,
                "INSTANCE_PATH": str(self.tmp / "instance"), "LOG_LEVEL": "WARNING", "LOG_FORMAT": "console",
                "MAIL_BACKEND": "dummy", "METRICS_ENABLED": "0", "PYTHONUNBUFFERED": "1", **self.extra_env}

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = self.tmp / f"{name}.log"
        self._logs.append(log)
        handle = log.open("ab")
        # a session of its own: killing one "machine" (its process group) leaves the others alone
        return subprocess.Popen(args, cwd=ROOT, env=self.env(), stdout=handle, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def start_worker(self, index: int | None = None) -> subprocess.Popen:
        proc = self._spawn(f"worker{len(self.workers) if index is None else index}",
                           [sys.executable, "-m", "flask", "--app", "app", "worker"])
        if index is None:
            self.workers.append(proc)
        else:
            self.workers[index] = proc
        return proc

    def start(self, timeout: float = 60.0) -> Cluster:
        for i in range(self.web_count):
            port = free_port()
            self.web.append(self._spawn(f"web{i}", [
                sys.executable, "-m", "gunicorn", "app:create_app()", "--bind", f"127.0.0.1:{port}",
                "--workers", str(self.gunicorn_workers), "--worker-class", "gthread", "--threads", str(self.threads),
                "--graceful-timeout", "3", "--timeout", "60",
                "--no-control-socket"]))  # (one shared path per machine by default: instances would clash)
            self.web_urls.append(f"http://127.0.0.1:{port}")
        for _ in range(self.worker_count):
            self.start_worker()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        from redis import Redis
        from rq import Worker

        deadline = time.monotonic() + timeout
        pending = set(self.web_urls)
        redis = Redis.from_url(self.redis_url)
        while time.monotonic() < deadline:
            for proc in [*self.web, *[w for w in self.workers if w is not None]]:
                if proc.poll() is not None:
                    raise RuntimeError(f"a process exited ({proc.args[2:4]}):\n{self.logs()}")
            for url in list(pending):
                try:
                    if requests.get(url + "/api/health/ready", timeout=2).status_code == 200:
                        pending.discard(url)
                except requests.RequestException:
                    pass
            alive = sum(1 for w in self.workers if w is not None and w.poll() is None)
            if not pending and len(Worker.all(connection=redis)) >= alive:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the cluster did not start in {timeout} s:\n{self.logs()}")

    def kill_worker(self, index: int) -> list[int]:
        """SIGKILL a worker "machine": its work horse (in a process group of its own), then the
        worker and everything in its group (the RQ scheduler). Returns the pids killed."""
        proc = self.workers[index]
        killed = []
        for pid in children(proc.pid):
            for grandchild in children(pid):
                os.kill(grandchild, signal.SIGKILL)
                killed.append(grandchild)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        os.killpg(proc.pid, signal.SIGKILL)
        killed.append(proc.pid)
        proc.wait(timeout=10)
        self.workers[index] = None
        return killed

    def stop(self) -> None:
        procs = [p for p in [*self.web, *self.workers] if p is not None and p.poll() is None]
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}"
                         for log in self._logs if log.exists())

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
