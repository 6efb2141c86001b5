"""More than one gunicorn worker without Redis is refused (issue 8, H): rate limits would be
counted per worker. One worker with threads, or Redis, starts. Several workers' metrics add up
(PROMETHEUS_MULTIPROC_DIR, issue 13)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import port_open, service_missing

ROOT = Path(__file__).resolve().parents[2]


def _gunicorn(workers: int, env_extra: dict, tmp_path) -> subprocess.CompletedProcess:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"} | {"INSTANCE_PATH": str(tmp_path)} | env_extra
    # the real gunicorn with the real config file (it stops at on_starting when it refuses)
    return subprocess.run([gunicorn, "app:create_app()", "-w", str(workers), "-b", "127.0.0.1:0",
                           "--graceful-timeout", "1", "--timeout", "5"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=20)


def test_two_workers_without_redis_refuse_to_start(tmp_path):
    result = _gunicorn(2, {}, tmp_path)
    assert result.returncode != 0 and "without REDIS_URL" in result.stderr


@pytest.mark.parametrize("workers,env", [(1, {}), (2, {"REDIS_URL": "redis://127.0.0.1:6379/14"})])
def test_one_worker_or_redis_starts(tmp_path, workers, env):
    from gunicorn.config import Config

    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)
    config = Config()
    config.set("workers", workers)
    server = type("Server", (), {"cfg": config})()
    old = os.environ.get("REDIS_URL")
    try:
        os.environ.pop("REDIS_URL", None)
        os.environ.update(env)
        namespace["on_starting"](server)  # does not raise
    finally:
        os.environ.pop("REDIS_URL", None)
        if old is not None:
            os.environ["REDIS_URL"] = old


def _config_module() -> dict:
    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)
    return namespace


def test_multiprocess_metrics_files_are_reset_at_start_and_a_dead_worker_marked(tmp_path, monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    hooks = _config_module()
    (tmp_path / "counter_111.db").write_bytes(b"old run")
    (tmp_path / "keep.txt").write_text("not ours")
    config = Config()
    config.set("workers", 1)
    hooks["on_starting"](type("Server", (), {"cfg": config})())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]  # the last run's values are gone
    for name in ("counter_4242.db", "gauge_livesum_4242.db", "gauge_liveall_4242.db", "gauge_livesum_5151.db"):
        (tmp_path / name).write_bytes(b"")
    hooks["child_exit"](None, type("Worker", (), {"pid": 4242})())
    # a dead worker's live gauges go; its counters stay in the sum
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["counter_4242.db", "gauge_livesum_5151.db"]


def test_metrics_of_several_workers_add_up(tmp_path):
    """The real gunicorn, two workers, PROMETHEUS_MULTIPROC_DIR: /metrics counts the requests every
    worker served."""
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    env = {**os.environ, "INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/14",
           "PROMETHEUS_MULTIPROC_DIR": str(multiproc), "METRICS_TOKEN": "t0ken", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'idle.db'}"}
    server = subprocess.Popen([gunicorn, "app:create_app()", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--graceful-timeout", "1", "--timeout", "20"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            if port_open("127.0.0.1", port):
                break
            time.sleep(0.1)
        for _ in range(20):
            with urllib.request.urlopen(base + "/api/health/live", timeout=30) as answer:
                assert answer.status == 200
        request = urllib.request.Request(base + "/metrics", headers={"Authorization": "Bearer t0ken"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            text = answer.read().decode()
        served = [line for line in text.splitlines()
                  if line.startswith("flask_http_request_total{") and 'endpoint="api_public.health_live"' in line]
        assert len(served) == 1 and float(served[0].rsplit(" ", 1)[1]) == 20, text[:2000]
        assert len({p.name.rsplit("_", 1)[1] for p in multiproc.glob("counter_*.db")}) >= 1
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
        print(errors.decode()[-3000:])
