"""More than one gunicorn worker without Redis is refused (issue 8, H): rate limits would be
counted per worker. One worker with threads, or Redis, starts."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
