"""A live, threaded server on a committed database (SQLite file, or a fresh PostgreSQL database),
for tests where many clients race for the same rows. Nothing here runs in a rolled-back
transaction: every request commits for real, like in production."""
from __future__ import annotations

import gc
import http.client
import json
import os
import threading
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from extensions import db
from services import stores as store_service
from tests.conftest import base_config, create_pg_database, drop_pg_database, make_app, migrate, stripe_settings


def _serve(request, tmp_path, **extra):
    """(base_url, app, store_id) of a server on loopback with one default store."""
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        pg_name = f"vstore_race_{os.getpid()}"
        url = create_pg_database(pg_name)
    app = make_app(base_config(tmp_path, url, **extra))
    migrate(app)
    with app.app_context():
        store_id = store_service.create_store("race", "Race Store", is_default=True).id
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The server runs inside the test process, which by now holds the whole session's objects
    # (over a million late in a full run). A full collection walks them all with every thread
    # stopped: 1 to 2 s that a server process of its own never pays, and that the timing tests
    # here would count as waiting for a lock. Those objects are set aside (gc.freeze) while the
    # server runs; what the test and its requests make is still collected as usual.
    gc.collect()
    gc.freeze()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app, store_id
    finally:
        gc.unfreeze()
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request, tmp_path):
    """(base_url, app, store_id) of a server on loopback with one default store."""
    yield from _serve(request, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def live_stripe(request, tmp_path, fake_stripe):
    """The same, with the platform's Stripe keys pointing at the fake Stripe (the default store
    takes card payments on the platform account)."""
    yield from _serve(request, tmp_path, **stripe_settings(fake_stripe))


def call(base: str, method: str, path: str, *, token: str | None = None, body: dict | None = None,
         headers: dict | None = None, timeout: float = 60) -> tuple[int, dict]:
    """One HTTP request with the standard library (each call its own connection)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token:
        sent["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else {})
    finally:
        conn.close()


def race(n: int, job) -> list:
    """Run ``job(i)`` in ``n`` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = job(i)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
