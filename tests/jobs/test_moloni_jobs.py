"""Moloni's automatic invoice on a real Redis with a real RQ worker (burst mode), against the fake
Moloni: an order paid with "invoice automatically" on queues one job; the worker invoices it and
the order shows the invoice; the same job queued again (a redelivery) and a job whose first
commit was lost make no second invoice; Moloni down (503) is retried by RQ and then invoices once."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from extensions import db
from models import MoloniInvoice, Order, Variant
from services import moloni as moloni_service
from services import products as product_service
from services import stock
from tenancy import tenant_scope
from tests.conftest import REDIS_TEST_URL, base_config, make_app, migrate, port_open, service_missing
from tests.factories import Factory
from tests.fakes.moloni_server import CLIENT_ID, CLIENT_SECRET, FakeMoloni
from tests.jobs.test_payment_jobs import retry_now, work
from tests.payments import enable_methods
from transactions import queue, send_to_rq


@pytest.fixture
def moloni_app(tmp_path):
    """An app with REDIS_URL (jobs go to RQ) and Moloni at the fake, connected through the OAuth
    flow with its tax chosen and "invoice automatically" on; a product, an admin and a buyer."""
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    Redis.from_url(REDIS_TEST_URL).flushdb()
    with FakeMoloni() as fake:
        config = base_config(tmp_path, f"sqlite:///{tmp_path / 'moloni.db'}", REDIS_URL=REDIS_TEST_URL,
                             MAIL_BACKEND="locmem", MOLONI_API_URL=fake.api_url, MOLONI_AUTH_URL=fake.auth_url,
                             MOLONI_CLIENT_ID=CLIENT_ID, MOLONI_CLIENT_SECRET=CLIENT_SECRET, MOLONI_TIMEOUT=5.0)
        application = make_app(config)
        migrate(application)
        make = Factory(application)
        store = make.store("mol", "Moloni Store", default=True)
        with application.app_context(), tenant_scope(store):
            product = product_service.create_product({"title": "Card", "variants": [{"title": "10", "price": 1000}]})
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            stock.import_stock(variant, "M-1\nM-2\nM-3")
            db.session.commit()
            variant_id = variant.id
        enable_methods(application, store, "BALANCE")
        buyer = make.user(store, username="payer", email="payer@example.com", balance=10_000)
        admin = make.user(store, role="ADMIN", email="owner@example.com")
        env = SimpleNamespace(app=application, config=config, store=store, variant=variant_id, fake=fake,
                              buyer=make.headers(buyer, store), admin=make.headers(admin, store),
                              client=application.test_client())
        started = env.client.get("/api/integrations/moloni/authorize", headers=env.admin)
        assert started.status_code == 302, started.get_json()
        back = urlsplit(fake.allow(started.headers["Location"]))
        assert env.client.get(f"{back.path}?{back.query}").status_code == 302
        with application.app_context(), tenant_scope(store):
            moloni_service.update_settings(db.session.merge(store), tax_id=21, auto_invoice=True)
            db.session.commit()
        yield env
    Redis.from_url(REDIS_TEST_URL).flushdb()
    with application.app_context():
        db.engine.dispose()


def pay(env) -> dict:
    added = env.client.post("/api/cart/items", json={"subcategory_id": env.variant, "quantity": 1}, headers=env.buyer)
    assert added.status_code == 200, added.get_json()
    placed = env.client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=env.buyer)
    assert placed.status_code == 201 and placed.get_json()["payment_status"] == "PAID", placed.get_json()
    return placed.get_json()


def invoice_row(env, order_id: str) -> MoloniInvoice:
    with env.app.app_context(), tenant_scope(env.store):
        return db.session.scalar(select(MoloniInvoice).where(MoloniInvoice.order_id == order_id))


def invoice_jobs(env) -> list:
    return [j for j in queue(env.app, "default").get_jobs() if moloni_service.INVOICE_JOB in j.args]


def test_the_worker_invoices_a_paid_order_once_and_a_requeued_job_makes_no_second(moloni_app):
    env = moloni_app
    order = pay(env)
    assert len(invoice_jobs(env)) == 1  # queued once, after the payment's commit
    assert invoice_row(env, order["id"]).status == "PENDING"  # nothing invoiced in the web process
    assert env.fake.calls_to("invoices/insert") == []
    work(env)
    row = invoice_row(env, order["id"])
    assert (row.status, row.number, row.attempts) == ("INVOICED", "A/1", 1)
    (invoice,) = env.fake.documents("invoices")
    assert row.document_id == invoice["document_id"] and invoice["our_reference"] == row.our_reference
    # the order shows it: its timeline and the PDF link
    pdf = env.client.get(f"/api/integrations/moloni/invoice/{order['id']}/pdf", headers=env.admin)
    assert pdf.status_code == 200 and pdf.get_json()["number"] == "A/1", pdf.get_json()
    assert pdf.get_json()["url"].endswith(f"h={invoice['document_id']}")
    timeline = env.client.get(f"/api/orders/{order['id']}/timeline", headers=env.admin).get_json()["items"]
    assert [e for e in timeline if e["kind"] == "invoice"]

    # the same job delivered again: nothing new at Moloni
    send_to_rq(env.app, "default", moloni_service.INVOICE_JOB, env.store.id, [order["id"]])
    work(env)
    # a run whose commit was lost (the row still PENDING): Moloni is asked first, no second insert
    with env.app.app_context(), tenant_scope(env.store):
        db.session.get(MoloniInvoice, row.id).status = "PENDING"
        db.session.commit()
    send_to_rq(env.app, "default", moloni_service.INVOICE_JOB, env.store.id, [order["id"]])
    work(env)
    assert len(env.fake.calls_to("invoices/insert")) == 1 and len(env.fake.documents("invoices")) == 1
    row = invoice_row(env, order["id"])
    assert (row.status, row.document_id, row.number) == ("INVOICED", invoice["document_id"], "A/1")


def test_moloni_down_is_retried_by_the_queue_and_invoices_once(moloni_app):
    env = moloni_app
    env.fake.lose_next_answer("invoices/insert")  # Moloni makes the invoice, the answer is lost (503)
    order = pay(env)
    work(env)
    row = invoice_row(env, order["id"])
    assert row.status == "PENDING"  # RQ retries it later: not failed yet, no email
    assert retry_now(env, "default") == 1
    work(env)
    row = invoice_row(env, order["id"])
    assert (row.status, row.number) == ("INVOICED", "A/1")
    assert len(env.fake.calls_to("invoices/insert")) == 1 and len(env.fake.documents("invoices")) == 1
    with env.app.app_context(), tenant_scope(env.store):
        assert db.session.get(Order, order["id"]).payment_status == "PAID"


def test_a_token_refreshed_by_a_job_that_then_fails_is_kept(moloni_app):
    """Moloni's refresh tokens are good once: a job that refreshes the access token and then finds
    Moloni down must keep the new tokens, or its retry (and every later call) is refused."""
    from models import MoloniConnection

    env = moloni_app
    with env.app.app_context(), tenant_scope(env.store):
        conn = db.session.scalar(select(MoloniConnection))
        conn.access_expires_at = conn.access_expires_at.replace(year=2000)
        db.session.commit()
    env.fake.expire_access_tokens()
    env.fake.fail_next("invoices/insert", status=503)
    order = pay(env)
    work(env)
    assert invoice_row(env, order["id"]).status == "PENDING"
    assert retry_now(env, "default") == 1
    work(env)
    row = invoice_row(env, order["id"])
    assert (row.status, row.number) == ("INVOICED", "A/1"), row.failure_reason
    assert len([c for c in env.fake.calls_to("grant") if c.params["grant_type"] == "refresh_token"]) == 1
    with env.app.app_context(), tenant_scope(env.store):
        assert db.session.scalar(select(MoloniConnection)).last_error is None
