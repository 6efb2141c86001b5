"""The Integrations page (Moloni) and the order page's invoice card, as an admin sees them: connect
through the fake Moloni, choose the tax and "invoice automatically", a paid order whose invoice
failed shows why with a retry button, the retry invoices it, the PDF link goes to Moloni."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from extensions import db
from models import MoloniConnection, Order
from tenancy import tenant_scope
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.api.test_moloni import fake_moloni, moloni  # noqa: F401 - fixtures
from tests.api.test_sysadmin_api import _plan, _put_on
from tests.payments import checkout
from tests.web.test_admin_orders_pages import as_role, page_token
from tests.web.test_admin_payments_pages import text


def _post(client, url, data=None, page="/admin/integrations"):
    return client.post(url, data={"csrf_token": page_token(client.get(page)), **(data or {})})


def test_connect_choose_invoice_fails_visibly_retry_and_pdf(app, client, store, shop, make, moloni):
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/integrations")
    assert page.status_code == 200 and "Not connected" in text(page) and b"Integrations</a>" in page.data
    started = _post(admin, "/admin/integrations/moloni/connect")
    assert started.status_code == 303 and started.headers["Location"].startswith(moloni.auth_url)
    back = urlsplit(moloni.allow(started.headers["Location"]))
    assert admin.get(f"{back.path}?{back.query}").status_code == 302
    page = admin.get("/admin/integrations")
    assert "Loja Demo Lda" in text(page) and "Choose the default tax" in text(page)
    saved = _post(admin, "/admin/integrations/moloni/settings",
                  {"company_id": "5", "document_set_id": "11", "tax_id": "21", "exemption_reason": "",
                   "auto_invoice": "y"})
    assert saved.status_code == 303, text(saved)
    page = admin.get("/admin/integrations")
    assert "IVA Normal (23 %)" in text(page) and "Invoice automatically On" in text(page)

    moloni.fail_next("invoices/insert", status=503)
    paid = checkout(client, shop.headers, "BALANCE", shop.digital)
    assert paid.status_code == 201, paid.get_json()
    number = paid.get_json()["order_number"]
    detail = admin.get(f"/admin/orders/{number}")
    assert "Invoice failed: Moloni could not be reached" in text(detail) and b'data-testid="invoice-retry"' in detail.data
    retried = _post(admin, f"/admin/orders/{number}/invoice/retry", page=f"/admin/orders/{number}")
    assert retried.status_code == 303
    detail = admin.get(f"/admin/orders/{number}")
    assert "Moloni invoice A/1" in text(detail) and b'data-testid="invoice-failed"' not in detail.data
    assert len(moloni.documents("invoices")) == 1
    pdf = admin.get(f"/admin/orders/{number}/invoice.pdf")
    assert pdf.status_code == 302 and pdf.headers["Location"].startswith(moloni.download_url)

    gone = _post(admin, "/admin/integrations/moloni/disconnect")
    assert gone.status_code == 303
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(MoloniConnection)) is None
        assert db.session.scalar(select(Order).where(Order.order_number == number)).payment_status == "PAID"


def test_the_page_is_for_admins_of_a_store_with_the_addon(app, store, make, moloni):
    manager, _ = as_role(app, make, store, "MANAGER")
    assert manager.get("/admin/integrations").status_code == 403
    admin, _ = as_role(app, make, store, "ADMIN")
    _put_on(app, store, _plan(app, "lite", 500, features=["campaigns"]))
    gated = admin.get("/admin/integrations")
    assert gated.status_code == 403 and "Moloni invoicing" in text(gated)


def test_moloni_refuses_the_invoice_the_page_says_why_the_admins_are_emailed_and_retry_invoices(
        app, client, store, shop, make, moloni, mail_outbox):
    admin, admin_user = as_role(app, make, store, "ADMIN")
    started = _post(admin, "/admin/integrations/moloni/connect")
    back = urlsplit(moloni.allow(started.headers["Location"]))
    assert admin.get(f"{back.path}?{back.query}").status_code == 302
    saved = _post(admin, "/admin/integrations/moloni/settings",
                  {"company_id": "5", "document_set_id": "11", "tax_id": "21", "auto_invoice": "y"})
    assert saved.status_code == 303, text(saved)
    moloni.refuse_next("invoices/insert", "Customer VAT number is invalid")
    paid = checkout(client, shop.headers, "BALANCE", shop.digital)
    assert paid.status_code == 201, paid.get_json()
    number = paid.get_json()["order_number"]
    detail = admin.get(f"/admin/orders/{number}")
    assert "Invoice failed: Moloni refused invoices/insert: Customer VAT number is invalid" in text(detail)
    assert b'data-testid="invoice-retry"' in detail.data
    (alert,) = [m for m in mail_outbox if m.subject == f"Invoice failed on order #{number}"]
    assert alert.to == [admin_user.email] and "Customer VAT number is invalid" in alert.body
    assert moloni.documents("invoices") == []
    retried = _post(admin, f"/admin/orders/{number}/invoice/retry", page=f"/admin/orders/{number}")
    assert retried.status_code == 303
    detail = admin.get(f"/admin/orders/{number}")
    assert "Moloni invoice A/1" in text(detail) and b'data-testid="invoice-failed"' not in detail.data
    assert len(moloni.documents("invoices")) == 1
    assert len([m for m in mail_outbox if "failed" in m.subject]) == 1  # told once
