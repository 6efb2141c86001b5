"""Moloni invoicing under races, on SQLite and PostgreSQL, against the fake Moloni on 127.0.0.1:
two invoice jobs for the same paid order running at once insert one invoice; two "Invoice now"
requests at once answer the same invoice; jobs that all find the access token expired refresh it
once (Moloni's refresh tokens are good once: a second refresh with the same one would be refused
and disconnect the store)."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

import transactions
from extensions import db
from models import MoloniConnection, MoloniInvoice, Order, Role, Variant
from services import auth as auth_service
from services import balance, payments, stock
from services import moloni as moloni_service
from services import products as product_service
from services.stores import get_store
from tenancy import tenant_scope
from tests.fakes.moloni_server import CLIENT_ID, CLIENT_SECRET, FakeMoloni

from .conftest import call, race


@pytest.fixture
def fake_moloni():
    with FakeMoloni() as fake:
        yield fake


def _setup(base: str, app, store_id: str, fake: FakeMoloni, orders: int) -> tuple[str, list[str]]:
    """Moloni connected (through the OAuth flow of the live server) with its tax chosen, and
    ``orders`` orders paid with the balance (invoice automatically off). (admin token, order ids)."""
    app.config.update(MOLONI_API_URL=fake.api_url, MOLONI_AUTH_URL=fake.auth_url, MOLONI_CLIENT_ID=CLIENT_ID,
                      MOLONI_CLIENT_SECRET=CLIENT_SECRET, MOLONI_TIMEOUT=10.0)
    with app.app_context(), tenant_scope(store_id):
        product = product_service.create_product({"title": "Card", "variants": [{"title": "10", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"MOL-{i:03d}" for i in range(orders + 2)))
        payments.set_methods(get_store(store_id), {"BALANCE": True})
        admin = auth_service.create_user(username="owner", email="owner@example.com", password="race-pass-123",
                                         role=Role.ADMIN, check_strength=False)
        buyer = auth_service.create_user(username="buyer", email="buyer@example.com", password="race-pass-123",
                                         role=Role.USER, check_strength=False)
        db.session.flush()
        balance.credit(buyer.id, 100_000, "topup", reason="race")
        admin_token = auth_service.issue_tokens(admin)["access_token"]
        buyer_token = auth_service.issue_tokens(buyer)["access_token"]
        variant_id = variant.id
        db.session.commit()
    status, body = call(base, "GET", "/api/integrations/moloni/authorize", token=admin_token)
    assert status == 302, body
    back = urlsplit(fake.allow(body["authorize_url"]))
    status = _status(base, f"{back.path}?{back.query}")  # Moloni sends the browser back: connected
    assert status == 302, status
    with app.app_context(), tenant_scope(store_id):
        moloni_service.update_settings(get_store(store_id), tax_id=21)
        db.session.commit()
    order_ids = []
    for _ in range(orders):
        status, body = call(base, "POST", "/api/cart/items", token=buyer_token,
                            body={"subcategory_id": variant_id, "quantity": 1})
        assert status == 200, body
        status, body = call(base, "POST", "/api/orders/checkout", token=buyer_token,
                            body={"payment_method": "BALANCE"})
        assert status == 201 and body["payment_status"] == "PAID", body
        order_ids.append(body["id"])
    return admin_token, order_ids


def _status(base: str, path: str) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def _reserve(app, store_id: str, order_id: str) -> None:
    """What ``on_paid`` does before it queues the job: the order's invoice row, PENDING."""
    with app.app_context(), tenant_scope(store_id):
        moloni_service._reserve(db.session.get(Order, order_id))
        db.session.commit()


def _rows(app, store_id: str) -> dict[str, MoloniInvoice]:
    with app.app_context(), tenant_scope(store_id):
        return {row.order_id: row for row in db.session.scalars(select(MoloniInvoice))}


def _expire_access_token(app, store_id: str, fake: FakeMoloni) -> None:
    with app.app_context(), tenant_scope(store_id):
        conn = db.session.scalar(select(MoloniConnection))
        conn.access_expires_at = conn.access_expires_at.replace(year=2000)
        db.session.commit()
    fake.expire_access_tokens()


def _refreshes(fake: FakeMoloni) -> int:
    return len([c for c in fake.calls_to("grant") if c.params.get("grant_type") == "refresh_token"])


def test_two_invoice_jobs_for_one_order_at_once_insert_one_invoice(live, fake_moloni):
    base, app, store_id = live
    _, (order_id,) = _setup(base, app, store_id, fake_moloni, orders=1)
    _reserve(app, store_id, order_id)
    fake_moloni.delays["invoices/getAll"] = 0.3  # both look Moloni up before either inserts, unless locked
    results = race(2, lambda i: transactions.execute(app, moloni_service.INVOICE_JOB, store_id, [order_id], {}))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(fake_moloni.calls_to("invoices/insert")) == 1 and len(fake_moloni.documents("invoices")) == 1
    row = _rows(app, store_id)[order_id]
    assert row.status == "INVOICED" and row.document_id == fake_moloni.documents("invoices")[0]["document_id"]
    assert sorted(r.split(":")[0] for r in results) == ["already invoiced (A/1)", "order #1 invoiced"]


def test_two_invoice_requests_at_once_answer_the_same_invoice(live, fake_moloni):
    base, app, store_id = live
    admin_token, (order_id,) = _setup(base, app, store_id, fake_moloni, orders=1)
    fake_moloni.delays["invoices/getAll"] = 0.3
    results = race(3, lambda i: call(base, "POST", f"/api/integrations/moloni/invoice/{order_id}",
                                     token=admin_token))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 201], results
    assert {body["number"] for _, body in results} == {"A/1"}
    assert len(fake_moloni.calls_to("invoices/insert")) == 1 and len(fake_moloni.documents("invoices")) == 1


def test_jobs_that_find_the_token_expired_refresh_it_once(live, fake_moloni):
    base, app, store_id = live
    _, order_ids = _setup(base, app, store_id, fake_moloni, orders=2)
    for order_id in order_ids:
        _reserve(app, store_id, order_id)
    _expire_access_token(app, store_id, fake_moloni)
    fake_moloni.delays["grant"] = 0.3  # a slow refresh: the other job arrives while it is under way
    results = race(2, lambda i: transactions.execute(app, moloni_service.INVOICE_JOB, store_id, [order_ids[i]],
                                                     {}))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert _refreshes(fake_moloni) == 1, results
    rows = _rows(app, store_id)
    assert [rows[o].status for o in order_ids] == ["INVOICED", "INVOICED"], [rows[o].failure_reason for o in order_ids]
    assert len(fake_moloni.documents("invoices")) == 2
