"""A request that reads runs its PostgreSQL statements in autocommit (``transactions.read_in_autocommit``:
one round trip a statement, no BEGIN and ROLLBACK around them); ``write_lock()`` ends that before
the request writes, and its writes then commit together at the request's end, or not at all.

These tests commit, so they run on their own PostgreSQL database, not in the suite's rolled-back
transaction (where the session is bound to a connection already in a transaction, and reads stay
in it). The other half of the rule, that no request writes before ``write_lock()``, is checked by
every test of the suite: ``transactions.check_write`` refuses such a write under ``TESTING``."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from tests.conftest import base_config, create_pg_database, drop_pg_database, make_app, migrate


@pytest.fixture(scope="module")
def pg_app(tmp_path_factory):
    from extensions import db
    from services import products, stores
    from tenancy import tenant_scope

    tmp = tmp_path_factory.mktemp("autocommit")
    name = f"vstore_autocommit_{id(tmp)}"
    url = create_pg_database(name)
    application = make_app(base_config(tmp, url))
    migrate(application)
    with application.app_context():
        store = stores.create_store("main", "Main Store", is_default=True)
        db.session.flush()
        with tenant_scope(store):
            product = products.create_product({"title": "Netflix 1 month", "variants": [{"title": "x", "price": 900}]})
            product_id = product.id
        db.session.commit()
    yield application, product_id
    with application.app_context():
        db.engine.dispose()
    drop_pg_database(name)


def _modes(app, client, method: str, path: str, **kwargs):
    """(status, [(statement's first word, the connection's isolation level)]) of one request."""
    from extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, str]] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0].upper(), conn.get_execution_options().get("isolation_level", "default")))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        status = client.open(path, method=method, **kwargs).status_code
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return status, seen


def test_a_page_that_only_reads_runs_its_statements_in_autocommit(pg_app):
    app, _ = pg_app
    client = app.test_client()
    for path in ("/search", "/api/products?page_size=24", "/p/netflix-1-month"):
        status, seen = _modes(app, client, "GET", path)
        reads = [mode for first, mode in seen if first == "SELECT"]
        assert status == 200 and reads, (path, seen)
        if path.startswith("/p/"):  # the product page counts its view: write_lock() ends the reads
            first_write = next(i for i, (first, _) in enumerate(seen) if first == "UPDATE")
            assert {mode for _, mode in seen[:first_write]} == {"AUTOCOMMIT"}, seen
            assert {mode for _, mode in seen[first_write:]} == {"default"}, seen
        else:
            assert set(reads) == {"AUTOCOMMIT"}, (path, seen)


def test_a_post_runs_in_one_transaction(pg_app):
    app, _ = pg_app
    client = app.test_client()
    status, seen = _modes(app, client, "POST", "/api/auth/login", json={"login": "nobody", "password": "wrong-pass-1"})
    assert status == 401 and seen and {mode for _, mode in seen} == {"default"}, seen


def test_a_get_that_writes_keeps_its_write_and_a_failing_one_keeps_nothing(pg_app, monkeypatch):
    from extensions import db
    from models import Product
    from services import products

    app, product_id = pg_app
    client = app.test_client()

    def views() -> int:
        with app.app_context():
            return db.session.scalar(select(Product.view_count).where(Product.id == product_id)
                                     .execution_options(all_stores=True))

    before = views()
    assert client.get("/p/netflix-1-month").status_code == 200
    assert views() == before + 1  # written after write_lock(), committed at the request's end

    real = products.increment_views

    def count_then_fail(pid: str) -> None:
        real(pid)
        raise RuntimeError("the page broke after counting")

    monkeypatch.setattr(products, "increment_views", count_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        assert client.get("/p/netflix-1-month").status_code == 500
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert views() == before + 1  # one transaction: the count went with the failure
