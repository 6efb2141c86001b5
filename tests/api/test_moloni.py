"""Moloni invoicing against a fake Moloni on 127.0.0.1 (tests/fakes/moloni_server.py): connect
through OAuth2 (a signed, one-time state), an invoice made by the job when an order is paid, a
retried job that makes no second invoice, a refund's credit note, the PDF link; a forged or
replayed callback refused; the addon's gate."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

import transactions
from extensions import db
from models import MoloniConnection, MoloniInvoice, Order, Store
from services import crypto
from services import moloni as moloni_service
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.api.test_sysadmin_api import _plan, _put_on, root, sys_headers  # noqa: F401 (fixtures)
from tests.fakes.moloni_server import CLIENT_ID, CLIENT_SECRET, FakeMoloni
from tests.payments import checkout


@pytest.fixture(scope="session")
def fake_moloni():
    with FakeMoloni() as fake:
        yield fake


@pytest.fixture
def moloni(app, fake_moloni):
    settings = {"MOLONI_API_URL": fake_moloni.api_url, "MOLONI_AUTH_URL": fake_moloni.auth_url,
                "MOLONI_CLIENT_ID": CLIENT_ID, "MOLONI_CLIENT_SECRET": CLIENT_SECRET, "MOLONI_TIMEOUT": 5.0}
    before = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    fake_moloni.reset()
    try:
        yield fake_moloni
    finally:
        app.config.update(before)


@pytest.fixture
def admin(make, store, shop):
    return shop.h(make.user(store, role="ADMIN", email="admin@example.com"))


def _connection(app, store) -> MoloniConnection | None:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(MoloniConnection))


def _invoice(app, store, order_id) -> MoloniInvoice | None:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(MoloniInvoice).where(MoloniInvoice.order_id == order_id))


def _callback_url(client, admin, fake) -> str:
    """Start at /authorize, let the fake Moloni "allow", and return the callback it redirects to."""
    started = client.get("/api/integrations/moloni/authorize", headers=admin)
    assert started.status_code == 302, started.get_json()
    location = started.headers["Location"]
    assert location.startswith(fake.auth_url) and started.get_json()["authorize_url"] == location
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"] and query["state"]
    back = urlsplit(fake.allow(location))  # Moloni's page, the admin clicks "allow"
    assert back.path == "/api/integrations/moloni/callback"
    return f"{back.path}?{back.query}"


def _connect(app, client, store, admin, fake) -> None:
    done = client.get(_callback_url(client, admin, fake))
    assert done.status_code == 302, done.get_json()
    assert done.headers["Location"].endswith("/admin/integrations?connected=1")


def _choose(app, store, **settings) -> None:
    with app.app_context(), tenant_scope(store):
        # the row as it is now (merging the fixture's old copy would write its stale settings back)
        moloni_service.update_settings(db.session.get(Store, store.id), **settings)
        db.session.commit()


def test_connect_invoice_on_payment_retry_refund_credit_note_pdf(app, client, store, shop, admin, moloni,
                                                                mail_outbox):
    # connect: the one company and its one series are chosen at once; the tokens are encrypted
    _connect(app, client, store, admin, moloni)
    status = client.get("/api/integrations/moloni/status", headers=admin).get_json()
    assert status["connected"] and status["company"] == {"id": 5, "name": "Loja Demo Lda"}
    assert status["document_set"] == {"id": 11, "name": "A"} and not status["ready"]
    assert "tax" in status["reason"]
    conn = _connection(app, store)
    assert conn.access_token and conn.refresh_token and conn.oauth_nonce_hash is None
    with app.app_context():  # stored encrypted, readable with our keys
        plain = crypto.decrypt(conn.access_token)
    assert plain in moloni._access and plain not in conn.access_token
    _choose(app, store, tax_id=21, auto_invoice=True)
    status = client.get("/api/integrations/moloni/status", headers=admin).get_json()
    assert status["ready"] and status["auto_invoice"] and status["tax"] == {"id": 21, "name": "IVA Normal",
                                                                              "rate": 23.0}

    # invoice on payment: the balance pays at once, the job runs after commit
    placed = checkout(client, shop.headers, "BALANCE", shop.digital)
    assert placed.status_code in (200, 201), placed.get_json()
    order_id = placed.get_json()["id"]
    (invoice,) = moloni.documents("invoices")
    row = _invoice(app, store, order_id)
    assert row.status == "INVOICED" and row.document_id == invoice["document_id"] and row.number == "A/1"
    assert invoice["our_reference"] == row.our_reference and invoice["status"] == "1"
    assert invoice["document_set_id"] == "11" and invoice["company_id"] == "5"
    (line,) = invoice["products"]
    assert line["qty"] == "1" and line["price"] == "8.13008"  # 10.00 with 23 % VAT inside
    assert line["taxes"] == [{"tax_id": "21", "value": "23.00", "order": "0", "cumulative": "0"}]
    (customer,) = moloni.documents("customers")
    assert customer["vat"] == "999999990"  # no tax number given: the final consumer

    # a retried job (its first run's commit lost) looks the invoice up and makes no second one
    with app.app_context(), tenant_scope(store):
        db.session.get(MoloniInvoice, row.id).status = "PENDING"
        db.session.commit()
    inserts = len(moloni.calls_to("invoices/insert"))
    assert "invoiced" in transactions.execute(app, "jobs.moloni.invoice_order", store.id, [order_id], {})
    assert len(moloni.documents("invoices")) == 1 and len(moloni.calls_to("invoices/insert")) == inserts
    assert _invoice(app, store, order_id).document_id == invoice["document_id"]
    # asking through the API is the same invoice
    again = client.post(f"/api/integrations/moloni/invoice/{order_id}", headers=admin)
    assert again.status_code == 200 and again.get_json()["number"] == "A/1"
    assert len(moloni.documents("invoices")) == 1

    # refund: the order becomes REFUNDED, one credit note for the invoice
    refunded = client.post(f"/api/orders/{order_id}/refund", json={}, headers=admin)
    assert refunded.status_code == 201, refunded.get_json()
    (credit,) = moloni.documents("creditNotes")
    assert credit["associated_documents"] == [{"associated_id": str(invoice["document_id"]), "value": "10.00000"}]
    assert credit["products"][0]["related_id"] == str(invoice["products"][0]["document_product_id"])
    row = _invoice(app, store, order_id)
    assert row.credit_status == "ISSUED" and row.credit_number == "A/1"
    # a second run of the credit job changes nothing
    transactions.execute(app, "jobs.moloni.credit_order", store.id, [order_id], {})
    assert len(moloni.documents("creditNotes")) == 1

    # the PDF links
    pdf = client.get(f"/api/integrations/moloni/invoice/{order_id}/pdf", headers=admin)
    assert pdf.status_code == 200, pdf.get_json()
    body = pdf.get_json()
    assert body["url"].endswith(f"h={invoice['document_id']}") and body["number"] == "A/1"
    assert body["credit_note_url"].endswith(f"h={credit['document_id']}")
    timeline = [e["kind"] for e in client.get(f"/api/orders/{order_id}/timeline", headers=admin).get_json()["items"]]
    assert "invoice" in timeline and "credit_note" in timeline
    assert not [m for m in mail_outbox if "failed" in m.subject]


def test_a_lost_answer_fails_visibly_then_the_retry_finds_the_invoice(app, client, store, shop, admin, moloni,
                                                                     mail_outbox):
    _connect(app, client, store, admin, moloni)
    _choose(app, store, tax_id=21, auto_invoice=True)
    moloni.lose_next_answer("invoices/insert")  # Moloni made it, we never heard
    order_id = checkout(client, shop.headers, "BALANCE", shop.digital).get_json()["id"]
    row = _invoice(app, store, order_id)
    assert row.status == "FAILED" and "could not be reached" in row.failure_reason
    assert len(moloni.documents("invoices")) == 1
    (alert,) = [m for m in mail_outbox if m.subject.startswith("Invoice failed on order #")]
    assert alert.to == ["admin@example.com"]
    # the admin page shows it with a retry button; the retry finds Moloni's invoice by our reference
    page = client.get(f"/admin/orders/{_number(app, store, order_id)}", headers=admin)
    if page.status_code == 200:
        assert b"Invoice failed" in page.data
    with app.app_context(), tenant_scope(store):
        moloni_service.retry(db.session.merge(store), db.session.get(Order, order_id))
        db.session.commit()
    row = _invoice(app, store, order_id)
    assert row.status == "INVOICED" and len(moloni.documents("invoices")) == 1
    assert len(moloni.calls_to("invoices/insert")) == 1


def _number(app, store, order_id) -> int:
    with app.app_context(), tenant_scope(store):
        return db.session.get(Order, order_id).order_number


def test_an_expired_access_token_is_refreshed_once(app, client, store, shop, admin, moloni):
    _connect(app, client, store, admin, moloni)
    _choose(app, store, tax_id=21)
    before = _connection(app, store).refresh_token
    with app.app_context(), tenant_scope(store):
        conn = db.session.scalar(select(MoloniConnection))
        conn.access_expires_at = conn.access_expires_at.replace(year=2000)
        db.session.commit()
    moloni.expire_access_tokens()
    order_id = checkout(client, shop.headers, "BALANCE", shop.digital).get_json()["id"]
    made = client.post(f"/api/integrations/moloni/invoice/{order_id}", headers=admin)
    assert made.status_code == 201, made.get_json()
    assert len([c for c in moloni.calls_to("grant") if c.params["grant_type"] == "refresh_token"]) == 1
    assert _connection(app, store).refresh_token != before


def test_a_forged_or_replayed_callback_state_is_refused_and_changes_nothing(app, client, store, shop, admin,
                                                                           make, moloni):
    url = _callback_url(client, admin, moloni)
    query = parse_qs(urlsplit(url).query)
    code, state = query["code"][0], query["state"][0]
    forged = client.get(f"/api/integrations/moloni/callback?code={code}&state={state[:-3]}abc")
    assert forged.status_code == 422 and error_code(forged) == "moloni_state_invalid"
    # a state signed with another key, naming this store and admin
    from itsdangerous import URLSafeTimedSerializer
    other = URLSafeTimedSerializer("not-our-key", salt=moloni_service.STATE_SALT).dumps({"s": store.id, "u": "x",
                                                                                          "n": "y"})
    assert client.get(f"/api/integrations/moloni/callback?code={code}&state={other}").status_code == 422
    assert _connection(app, store).access_token is None
    # the real one connects, and replaying it changes nothing
    assert client.get(url).status_code == 302
    tokens = _connection(app, store).access_token
    replay = client.get(url)
    assert replay.status_code == 422 and error_code(replay) == "moloni_state_invalid"
    assert _connection(app, store).access_token == tokens
    # a second authorisation started by another admin cannot be finished with the first admin's state
    other_admin = shop.h(make.user(store, role="ADMIN"))
    first = _callback_url(client, admin, moloni)
    _callback_url(client, other_admin, moloni)  # replaces the nonce
    assert client.get(first).status_code == 422


def test_access_levels_and_the_addon_gate(app, client, store, shop, admin, make, moloni, sys_headers):
    staff = shop.h(make.user(store, role="MANAGER"))
    assert client.get("/api/integrations/moloni/status", headers=staff).status_code == 403
    assert client.get("/api/integrations/moloni/status").status_code == 401
    order_id = checkout(client, shop.headers, "BALANCE", shop.digital).get_json()["id"]
    not_connected = client.post(f"/api/integrations/moloni/invoice/{order_id}", headers=admin)
    assert not_connected.status_code == 409 and "Connect Moloni" in not_connected.get_json()["error"]["message"]
    url = _callback_url(client, admin, moloni)
    _put_on(app, store, _plan(app, "lite", 500, features=["campaigns"]))
    for method, path in [("GET", "/api/integrations/moloni/authorize"), ("GET", "/api/integrations/moloni/status"),
                         ("POST", f"/api/integrations/moloni/invoice/{order_id}"),
                         ("GET", f"/api/integrations/moloni/invoice/{order_id}/pdf")]:
        refused = client.open(path, method=method, headers=admin)
        assert refused.status_code == 403 and error_code(refused) == "feature_not_enabled", path
        assert refused.get_json()["error"]["details"]["addon"] == "moloni"
    # the public callback's service checks the gate of the store in the state
    gated = client.get(url)
    assert gated.status_code == 403 and error_code(gated) == "feature_not_enabled"
    assert _connection(app, store).access_token is None


@pytest.mark.parametrize("inclusive, total, price", [(True, 1000, "8.13008"), (False, 1230, "10.00000")])
def test_an_orders_own_tax_lines_are_read_as_the_store_enters_prices(app, client, store, shop, admin, moloni,
                                                                   inclusive, total, price):
    """A store with a PT 23 % rule: prices typed with tax inside give an order whose tax line is
    included (10.00 paid, 8.13 net sent); typed without tax, the tax is on top (12.30 paid, 10.00
    net sent). Moloni adds its 23 % to the net price either way: the invoice equals what was paid."""
    from services import taxes

    with app.app_context(), tenant_scope(store):
        taxes.create_rule({"name": "IVA", "country": "PT", "rate_bps": 2300})
        db.session.commit()
    changed = client.put("/api/tenant/settings", json={"prices_include_tax": inclusive, "tax_country": "PT"},
                         headers=admin)
    assert changed.status_code == 200, changed.get_json()
    _connect(app, client, store, admin, moloni)
    _choose(app, store, tax_id=21, auto_invoice=True)
    placed = checkout(client, shop.headers, "BALANCE", shop.digital)
    assert placed.status_code in (200, 201), placed.get_json()
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Order, placed.get_json()["id"]).total == total
    (invoice,) = moloni.documents("invoices")
    (line,) = invoice["products"]
    assert line["price"] == price and line["taxes"][0]["value"] == "23.00"
