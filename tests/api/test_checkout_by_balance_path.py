"""The checkout by balance as one short transaction (issue 16): its units are sold by the statement
that allocates them, the answer shows them without reading them again, and the request stays a
fixed, small number of SQL statements. What a buyer and the store's reports see is unchanged."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from extensions import db
from models import BalanceTransaction, Order, OrderEvent, OrderLine, StockBatch, StockItem, Variant
from services import stock
from tenancy import tenant_scope

from .shop import in_store, shop_fixture  # noqa: F401

# What a checkout by balance of one digital item costs today: auth (1), the cart and its lines (2;
# the blacklist is not looked up in a store that lists nobody), counter + order (written paid) +
# line (3), allocation (sold and shown at once) + variant + product (3), cart (1), ledger (2), the
# events (1), plus the transaction's BEGIN / SAVEPOINT / RELEASE (here the test harness's
# savepoints: 17). It was 36 before issue 16.
MAX_CHECKOUT_STATEMENTS = 17


@contextmanager
def statements(app):
    seen: list[str] = []
    me = threading.get_ident()
    with app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, params, context, executemany):
        if threading.get_ident() == me:  # not the after-commit job thread's
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def caches_on(app):
    """The per-process read caches as deployed (the suite turns them off): the store row, the tax
    rules' presence, the Moloni flag."""
    app.config["STORE_CACHE_SECONDS"] = 5
    app.extensions.pop("read_caches", None)
    yield
    app.config["STORE_CACHE_SECONDS"] = 0
    app.extensions.pop("read_caches", None)


def add(client, shop, variant_id, quantity=1):
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=shop.headers)
    assert response.status_code == 200, response.get_json()


def test_checkout_sells_at_allocation_and_answers_without_reading_again(app, client, shop, caches_on):
    add(client, shop, shop.digital, 1)  # a first checkout warms the per-process caches (store, token, rules)
    assert client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).status_code == 201
    add(client, shop, shop.digital, 3)
    with statements(app) as seen:
        response = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert len(seen) <= MAX_CHECKOUT_STATEMENTS, f"{len(seen)} statements:\n" + "\n".join(seen)
    # PostgreSQL locks the cart's row with the statement that reads it (SQLite's IMMEDIATE
    # transaction already serialises checkouts)
    carts = [s for s in seen if s.lstrip().startswith("SELECT") and "FROM carts" in s]
    assert len(carts) == 1, carts
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert carts[0].rstrip().endswith("FOR NO KEY UPDATE")
    assert not any("FROM stock_items" in s and s.lstrip().upper().startswith("SELECT") for s in seen)
    assert not any("moloni_connections" in s for s in seen)  # a store without Moloni: the cached answer
    assert not any("FROM blacklist" in s for s in seen)  # a store that blocks nobody: the cached answer
    assert (body["status"], body["payment_status"], len(body["deliverables"])) == ("COMPLETED", "PAID", 3)
    with in_store(shop) as session:
        order = session.get(Order, body["id"])
        items = list(session.scalars(select(StockItem).where(StockItem.order_id == order.id)))
        assert sorted(i.id for i in items) == sorted(d["id"] for ln in body["lines"] for d in ln["items"])
        # sold by the allocation itself, shown (logged with the buyer's address) by the same statement
        assert all(i.is_sold and i.sold_at == order.paid_at and i.reserved_until is None for i in items)
        assert all(i.first_revealed_at == order.paid_at and i.first_revealed_ip for i in items)
        line = session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        assert (line.cost, order.cost_total, order.cost_known_units) == (0, 0, 0)  # no batch has a cost
        assert line.delivered_count == 3 and line.paid_at == order.paid_at
        kinds = list(session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id)
                                     .order_by(OrderEvent.created_at, OrderEvent.id)))
        assert sorted(kinds) == ["created", "paid", "revealed"]
        ledger = session.scalar(select(BalanceTransaction).where(BalanceTransaction.order_id == order.id))
        assert (ledger.amount, ledger.kind) == (-3000, "purchase")
        assert session.get(type(shop.buyer), shop.buyer.id).balance == 5000 - 1000 - 3000
        assert session.get(Variant, shop.digital).stock_count == 2  # 6 - 1 - 3
    # looking again logs no second reveal
    again = client.get(f"/api/orders/{body['id']}", headers=shop.headers)
    assert again.status_code == 200 and again.get_json()["deliverables"] == body["deliverables"]
    with in_store(shop) as session:
        assert list(session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == body["id"],
                                                                  OrderEvent.kind == "revealed"))) == ["revealed"]


def test_costs_come_from_the_allocation(app, client, shop):
    """Only the costed units: the fixture's codes have no cost, so sell every one of them first."""
    with in_store(shop) as session:
        session.query(StockItem).filter(StockItem.variant_id == shop.digital).delete()
        session.execute(Variant.__table__.update().where(Variant.id == shop.digital).values(stock_count=0))
        session.commit()
        stock.import_stock(session.get(Variant, shop.digital), "C-1\nC-2\nC-3", unit_cost=199)
        session.commit()
    add(client, shop, shop.digital, 2)
    response = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    with in_store(shop) as session:
        order = session.get(Order, response.get_json()["id"])
        line = session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        assert (order.cost_total, order.cost_known_units) == (398, 2) == (line.cost, line.cost_known_units)
        assert session.scalar(select(func.count()).select_from(StockItem).join(
            StockBatch, StockBatch.id == StockItem.batch_id).where(StockItem.order_id == order.id,
                                                                   StockBatch.unit_cost == 199)) == 2


def test_a_lapsed_order_frees_its_stock_for_a_checkout(app, client, shop, make):
    """The last units are held by an unpaid order whose time ran out: a checkout that finds the
    variant short expires it first and then sells them (the cron job does not have to come first)."""
    add(client, shop, shop.digital, 4)  # in the cart while 6 were free
    other = make.user(shop.store, username="holder", email="holder@example.com")
    holder = make.headers(other, shop.store)
    assert client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 4},
                       headers=holder).status_code == 200
    held = client.post("/api/orders/checkout", json={"payment_method": "MANUAL"}, headers=holder)
    assert held.status_code == 201, held.get_json()
    with in_store(shop) as session:  # its time runs out
        session.execute(Order.__table__.update().where(Order.id == held.get_json()["id"]).values(expires_at=time_ago()))
        session.commit()
        assert session.get(Variant, shop.digital).stock_count == 2
    response = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["deliverables"]) == 4
    with in_store(shop) as session:
        assert session.get(Order, held.get_json()["id"]).status == "EXPIRED"
        assert session.get(Variant, shop.digital).stock_count == 2


def time_ago():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(minutes=5)


def test_an_email_job_does_not_hold_sqlite_write_lock(app, client, shop):
    """The confirmation email runs after commit on the job thread; it only reads, so on SQLite it
    begins deferred: a checkout's write transaction does not wait while the email renders."""
    import jobs.emails as emails
    from transactions import execute

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("PostgreSQL's readers never block writers; the lock is SQLite's")
    rendering, release = threading.Event(), threading.Event()
    real = emails.send_email

    def slow_send(**kwargs):
        rendering.set()
        release.wait(10)
        return real(**kwargs)

    add(client, shop, shop.digital, 1)
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert placed.status_code == 201
    order_id = placed.get_json()["id"]
    emails.send_email = slow_send
    try:
        worker = threading.Thread(target=execute, args=(app, "jobs.emails.send_order_email", shop.store.id,
                                                        (order_id,), {}))
        worker.start()
        assert rendering.wait(10)
        started = time.perf_counter()
        with app.app_context(), tenant_scope(shop.store):
            db.session.execute(Variant.__table__.update().where(Variant.id == shop.digital)
                               .values(low_stock_threshold=1))
            db.session.commit()  # BEGIN IMMEDIATE .. COMMIT while the email job is mid-render
        waited = time.perf_counter() - started
        release.set()
        worker.join(10)
    finally:
        emails.send_email = real
        release.set()
    assert waited < 2.0, f"the write waited {waited:.1f} s for the email job"
