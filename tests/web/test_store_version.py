"""A cached store row against a change written by ANOTHER process (services.stores.still_current),
without Redis: on SQLite the connection's ``PRAGMA data_version`` says whether anyone else wrote
(no statement on a hit, the change shows on the very next request); on PostgreSQL the row's
version is read at most once every STORE_VERSION_SECONDS. With Redis the caches' generation does
it (tests/multi/test_two_instances.py).

These tests commit, so they run on their own database, not in the suite's rolled-back transaction."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import base_config, create_pg_database, drop_pg_database, make_app, migrate
from tests.statements import statements_of


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def solo(request, tmp_path_factory):
    """An app on its own committed database with the store caches on, and its default store."""
    from extensions import db
    from services import stores

    tmp = tmp_path_factory.mktemp(f"version-{request.param}")
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'version.db'}"
    else:
        name = f"vstore_version_{id(tmp)}"
        url = create_pg_database(name)
    application = make_app(base_config(tmp, url, STORE_CACHE_SECONDS=60))
    migrate(application)
    with application.app_context():
        store_id = stores.create_store("main", "Main Store", is_default=True).id
        db.session.commit()
    yield application, url, store_id, request.param
    with application.app_context():
        db.engine.dispose()
    if name:
        drop_pg_database(name)


def _store_reads(app, client, path: str) -> tuple[int, list[str]]:
    status, seen = statements_of(app, client, path)
    return status, [s for s in seen if "FROM stores" in s]


def _set_status_elsewhere(url: str, store_id: str, status: str) -> None:
    """What another process does: its own connection, its own commit (no flush in this process)."""
    other = create_engine(url, poolclass=NullPool)
    with other.begin() as conn:
        conn.execute(text("UPDATE stores SET status = :s, updated_at = :now WHERE id = :id"),
                     {"s": status, "now": datetime.now(UTC), "id": store_id})
    other.dispose()


def test_a_hit_asks_nothing_and_another_process_s_change_shows(solo):
    app, url, store_id, backend = solo
    client = app.test_client()
    app.config["STORE_VERSION_SECONDS"] = 60
    assert client.get("/").status_code == 200  # fills the cache
    assert client.get("/").status_code == 200  # confirms its version once
    status, reads = _store_reads(app, client, "/login")
    assert status == 200 and reads == []  # a hit: not one statement about the store

    _set_status_elsewhere(url, store_id, "suspended")
    if backend == "postgresql":
        # within the window the cached row stands (one worker without Redis: a CLI's change)...
        assert client.get("/").status_code == 200
        app.config["STORE_VERSION_SECONDS"] = 0  # ...and once it is over, the next request sees it
    status, reads = _store_reads(app, client, "/")
    assert status == 503  # the suspension, on the very next request
    assert reads and reads[0].startswith("SELECT stores.updated_at")

    _set_status_elsewhere(url, store_id, "active")
    assert client.get("/").status_code == 200
    app.config["STORE_VERSION_SECONDS"] = 1
