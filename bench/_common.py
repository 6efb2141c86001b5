"""Shared set-up for benchmarks: a throw-away migrated app on SQLite or PostgreSQL."""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pg_available() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def bench_app(backend: str, **extra):
    from cryptography.fernet import Fernet
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from app import create_app
    from extensions import db

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
    name = f"vstore_bench_{os.getpid()}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    config = {"DATABASE_URL": url, "INSTANCE_PATH": str(tmp), "SECRET_KEY": "bench", "JWT_SECRET_KEY": "bench-jwt-key-that-is-at-least-32-bytes-long",
              "DELIVERABLE_KEYS": Fernet.generate_key().decode(), "DELIVERABLE_HASH_KEY": "bench-hash",
              "REDIS_URL": "", "MAIL_BACKEND": "locmem", "RATELIMIT_ENABLED": "false", **extra}
    app = create_app(config)
    app.config["REDIS_URL"], app.config["JOBS_INLINE"] = None, True
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        if backend != "sqlite":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def backends(arg: str) -> list[str]:
    wanted = ["sqlite", "postgresql"] if arg == "both" else [arg]
    if "postgresql" in wanted and not pg_available():
        print("PostgreSQL not reachable on 127.0.0.1:5432: skipping it")
        wanted.remove("postgresql")
    return wanted
