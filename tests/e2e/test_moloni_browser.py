"""Issue 15's "a merchant can invoice through Moloni from the browser", in Chromium against the
fake Moloni on 127.0.0.1: the admin opens Integrations, clicks Connect, allows the app on Moloni's
authorize page, lands back connected, chooses the company, series and tax and turns "invoice
automatically" on. A shopper pays an order with their balance; Moloni refuses its invoice: the
order page says why with a Retry button and the admins got an email; Retry invoices it, the page
shows the number and a PDF link that downloads the PDF. A refund makes the credit note appear.
The Integrations page and the order page with the invoice card, at 1280 and 375 px: no serious or
critical axe-core violation, nothing wider than the screen (screenshots moloni-*.png)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import MoloniInvoice
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_accessibility import AXE, RUN_AXE
from tests.e2e.test_admin_payments import SIZES, overflow, top
from tests.e2e.test_shopping import sign_in
from tests.fakes.moloni_server import CLIENT_ID, CLIENT_SECRET, FakeMoloni

REFUSAL = "O NIF do cliente não é válido"


@pytest.fixture
def fake_moloni():
    with FakeMoloni() as fake:
        yield fake


@pytest.fixture
def live_config(fake_moloni) -> dict:
    """Moloni at the fake from the start (the CSP's form-action lets "Connect" go to its page)."""
    return {"MOLONI_API_URL": fake_moloni.api_url, "MOLONI_AUTH_URL": fake_moloni.auth_url,
            "MOLONI_CLIENT_ID": CLIENT_ID, "MOLONI_CLIENT_SECRET": CLIENT_SECRET, "MOLONI_TIMEOUT": 5.0}


def _checked(page, found: dict, where: str) -> None:
    """axe (serious or critical) and overflow on what ``page`` shows now."""
    page.wait_for_load_state("load")
    violations = page.evaluate(RUN_AXE)
    if violations:
        found[where] = violations
    assert overflow(top(page)) == [], (where, overflow(page))


def _report(found: dict) -> str:
    return "\n".join(f"{where}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
                     for where, vs in found.items() for v in vs)


def _rows(app):
    with app.app_context():
        with tenant_scope(store_service.get_store_by_slug("e2e")):
            return list(db.session.scalars(select(MoloniInvoice)))


def test_an_admin_connects_moloni_and_invoices_an_order_from_the_browser(live_server, live_admin, live_shop,
                                                                        fake_moloni, browser, shot):
    base, app = live_server
    email, password = live_admin
    shop = live_shop
    found: dict[str, list] = {}
    fake = fake_moloni
    outbox = app.extensions["mailman"].outbox = []

    # --- the admin connects Moloni (desktop) ---------------------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, email, password)
    page.goto(f"{base}/admin/integrations")
    assert page.text_content("[data-testid=moloni-state]").strip() == "Not connected"
    _checked(page, found, "integrations (not connected) @ 1280")
    shot(top(page), "moloni-integrations-new-desktop")
    page.click("[data-testid=moloni-connect]")
    page.wait_for_url(re.compile(re.escape(fake.auth_url)))  # Moloni's own page
    assert "state=" in page.url and f"client_id={CLIENT_ID}" in page.url
    shot(page, "moloni-authorize-page")
    page.click("#allow")
    page.wait_for_url(f"{base}/admin/integrations?connected=1")
    assert page.is_visible("text=Moloni is connected.")
    assert "Loja Demo Lda" in page.text_content("[data-testid=moloni-facts]")
    # the company and its series are chosen; the tax and "invoice automatically" are the admin's
    page.select_option("#company_id", "5")
    page.select_option("#document_set_id", "11")
    page.select_option("#tax_id", "21")
    page.check("#auto_invoice")
    page.click("button:has-text('Save Moloni settings')")
    page.wait_for_selector(".flash-success:has-text('Moloni settings saved.')")
    assert page.text_content("[data-testid=moloni-state]").strip() == "Connected"
    facts = page.text_content("[data-testid=moloni-facts]")
    assert "IVA Normal (23 %)" in facts and re.search(r"Invoice automatically\s*On", facts), facts
    assert page.is_checked("#auto_invoice")

    # --- a shopper pays; Moloni refuses the invoice ---------------------------------------
    fake.refuse_next("invoices/insert", REFUSAL)
    shopper = browser.new_context(viewport={"width": 1280, "height": 800})
    buyer = shopper.new_page()
    buyer_errors = watch(buyer)
    sign_in(buyer, base, shop["email"], shop["password"])
    buyer.goto(f"{base}/p/{shop['slug']}")
    buyer.click("button:has-text('Add to cart')")
    buyer.wait_for_selector("[data-testid=cart-added]")
    buyer.goto(f"{base}/checkout")
    buyer.check("input[value=BALANCE]")
    buyer.click("[data-testid=place-order]")
    buyer.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    number = buyer.url.rsplit("/", 1)[1]
    assert buyer_errors == [], buyer_errors
    shopper.close()

    page.goto(f"{base}/admin/orders/{number}")
    failed = page.text_content("[data-testid=invoice-failed]")
    assert "Invoice failed:" in failed and REFUSAL in failed, failed
    assert page.is_visible("[data-testid=invoice-retry]")
    shot(top(page), "moloni-order-failed-desktop")
    alerts = [m for m in outbox if "Invoice failed on order #" in m.subject]
    assert len(alerts) == 1 and alerts[0].to == [email] and REFUSAL in alerts[0].body, \
        [(m.to, m.subject) for m in outbox]

    page.click("[data-testid=invoice-retry]")
    page.wait_for_selector("[data-testid=invoice-number]")
    assert page.text_content("[data-testid=invoice-number]").strip() == "A/1"
    assert page.locator("[data-testid=invoice-failed]").count() == 0
    (invoice,) = fake.documents("invoices")
    # the PDF link (with the admin's cookies): to Moloni's download, a PDF
    href = page.get_attribute("[data-testid=invoice-pdf]", "href")
    assert href == f"/admin/orders/{number}/invoice.pdf"
    pdf = context.request.get(base + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf", (pdf.status, pdf.url)
    assert pdf.url.startswith(fake.download_url) and pdf.url.endswith(f"h={invoice['document_id']}")
    assert pdf.body().startswith(b"%PDF")
    _checked(page, found, "order with invoice @ 1280")
    shot(top(page), "moloni-order-invoiced-desktop")
    page.goto(f"{base}/admin/integrations")
    _checked(page, found, "integrations (connected) @ 1280")
    shot(top(page), "moloni-integrations-desktop")

    # --- a refund: the credit note ------------------------------------------------------------
    page.goto(f"{base}/admin/orders/{number}")
    page.select_option("#destination", "balance")
    page.fill("#reason", "Bought by mistake")
    page.once("dialog", lambda dialog: dialog.accept())  # "Refund order #1?"
    page.click("[data-testid=refund-submit]")
    page.wait_for_selector(".flash-success")
    page.wait_for_selector("[data-testid=credit-note-number]")
    assert page.text_content("[data-testid=credit-note-number]").strip() == "A/1"
    (credit,) = fake.documents("creditNotes")
    assert credit["associated_documents"][0]["associated_id"] == str(invoice["document_id"])
    _checked(page, found, "order with credit note @ 1280")
    shot(top(page), "moloni-order-credited-desktop")
    assert errors == [], errors
    context.close()
    assert [(r.status, r.number, r.credit_status) for r in _rows(app)] == [("INVOICED", "A/1", "ISSUED")]
    assert len(fake.calls_to("invoices/insert")) == 2  # the refused one, then the retry's

    # --- the same pages on a phone --------------------------------------------------------------
    width, height, label = SIZES[1]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, email, password)
    for path, name in (("/admin/integrations", "integrations"), (f"/admin/orders/{number}", "order")):
        assert page.goto(base + path).status == 200, path
        _checked(page, found, f"{name} @ {width}")
        shot(top(page), f"moloni-{name}-{label}")
    assert page.text_content("[data-testid=invoice-number]").strip() == "A/1"
    assert page.is_visible("[data-testid=invoice-pdf]")
    assert errors == [], errors
    context.close()
    assert found == {}, _report(found)
