"""The admin's payments screens in Chromium, on a desktop and a phone: the payments page (methods
toggled with htmx, a connected Stripe account with its money, Hoodpay, top-ups), the callback
inspector and an event's page, and a refund made on an order page. Nothing may overflow at 375 px."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Order, Store, User, Variant
from services import cart as cart_service
from services import checkout, payment_accounts
from services import stores as store_service
from tenancy import tenant_scope
from tests.conftest import STRIPE_CONNECT_SECRET, stripe_settings
from tests.e2e.conftest import watch
from tests.fakes.stripe_server import FakeStripe
from tests.payments import stripe_post

SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))


def top(page):
    page.evaluate("window.scrollTo(0, 0)")
    return page


def overflow(page) -> list[str]:
    """Elements wider than the window (a table scrolls inside its .table-wrap, so it does not count)."""
    return page.evaluate("""() => {
      const width = document.documentElement.clientWidth, out = [];
      if (document.documentElement.scrollWidth > width) out.push('page ' + document.documentElement.scrollWidth);
      for (const el of document.querySelectorAll('.dash-main *')) {
        if (el.closest('.table-wrap, pre')) continue;
        const box = el.getBoundingClientRect();
        if (box.width && box.right > width + 1) out.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(box.right));
      }
      return out.slice(0, 10);
    }""")


def sign_in(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("#login", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/account")


def test_admin_payments_inspector_and_a_refund(live_server, live_admin, live_shop, browser, shot):
    base, app = live_server
    email, password = live_admin
    with FakeStripe(connect_webhook_secret=STRIPE_CONNECT_SECRET) as fake:
        app.config.update({**stripe_settings(fake), "STRIPE_DEFAULT_STORE_DIRECT": False})
        # the store connected its Stripe account (onboarding done at Stripe) and has money there;
        # the shopper paid order #1 with their balance
        with app.app_context():
            store = store_service.get_store_by_slug("e2e")
            with tenant_scope(store):
                shop = db.session.get(Store, store.id)
                admin = db.session.scalar(select(User).where(User.email == email))
                payment_accounts.connect_onboard(shop, admin=admin, return_url=f"{base}/admin/payments",
                                                 refresh_url=f"{base}/admin/payments")
                acct = payment_accounts.account_of("STRIPE").account_ref
                fake.set_account(acct, charges_enabled=True, payouts_enabled=True, details_submitted=True)
                payment_accounts.connect_status(shop, refresh=True)
                shopper = db.session.scalar(select(User).where(User.email == live_shop["email"]))
                variant = db.session.scalar(select(Variant).where(Variant.title == "1 month"))
                cart = cart_service.get_cart(user=shopper)
                cart_service.add_item(cart, variant.id, 2)
                checkout.place_order(shop, cart, buyer=shopper, method="BALANCE")
                db.session.commit()
        fake.add_funds(12_345, "eur", account=acct)
        fake.add_funds(2_000, "eur", account=acct)
        client = app.test_client()
        for event in [*fake.events, fake.event("customer.created", {
                "id": "cus_e2e", "object": "customer", "description": "<b>not markup</b>"})]:
            assert stripe_post(client, fake, event).status_code == 200

        for width, height, tag in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions
            errors = watch(page)
            sign_in(page, base, email, password)

            # --- the payments page ----------------------------------------------------------
            page.goto(f"{base}/admin/payments")
            assert page.text_content("[data-testid=stripe-account]").strip() == acct
            available = "€143.45" if tag == "desktop" else "€133.45"  # after the desktop's payout
            assert page.text_content("[data-testid=stripe-available]").strip() == available
            assert page.is_visible("[data-testid=stripe-transactions]")
            if tag == "desktop":
                # htmx: enabling crypto without keys is refused next to it; cards enable
                page.click("[data-testid=method-HOODPAY] button")
                error = page.wait_for_selector("[data-testid=method-HOODPAY] [data-testid=method-error]")
                assert "Save your Hoodpay API key" in error.text_content()
                page.click("[data-testid=method-STRIPE] button")
                page.wait_for_selector("#methods-card .flash:has-text('Card (Stripe) is enabled.')")
                assert page.url == f"{base}/admin/payments"
                page.fill("#amount", "10.00")
                page.click("text=Request payout")
                page.wait_for_selector(".flash:has-text('Payout of €10.00 requested')")
                assert page.text_content("[data-testid=stripe-available]").strip() == "€133.45"
            assert overflow(page) == [], overflow(page)
            shot(top(page), f"admin-payments-{tag}")

            # --- the callback inspector -----------------------------------------------------
            if tag == "desktop":
                page.click(".dash-side >> text=Webhooks")
            else:
                page.goto(f"{base}/admin/payments/events")
            page.wait_for_url(f"{base}/admin/payments/events")
            assert page.locator("[data-testid=event-row]").count() == 2
            page.select_option("#status", "IGNORED")  # htmx filters in place and pushes the URL
            page.wait_for_url(re.compile(r".*status=IGNORED.*"))
            expect(page.locator("[data-testid=event-row]")).to_have_count(1)
            page.select_option("#status", "")
            expect(page.locator("[data-testid=event-row]")).to_have_count(2)
            assert overflow(page) == [], overflow(page)
            shot(top(page), f"admin-webhooks-{tag}")
            page.click("[data-testid=event-row] >> text=customer.created")
            page.wait_for_selector("[data-testid=payload]")
            assert '"description": "<b>not markup</b>"' in page.text_content("[data-testid=payload]")
            assert page.locator("[data-testid=payload] b").count() == 0  # shown as text, never as markup
            page.click("[data-testid=process-again]")
            page.wait_for_selector("[data-testid=event-notice]:has-text('Queued again.')")
            assert overflow(page) == [], overflow(page)
            shot(top(page), f"admin-webhook-event-{tag}")

            # --- a refund on the order page -------------------------------------------------
            page.goto(f"{base}/admin/orders/1")
            page.fill("#amount", "5.00" if tag == "desktop" else "")
            page.select_option("#destination", "balance")
            page.fill("#reason", "One code did not work" if tag == "desktop" else "The rest")
            page.click("[data-testid=refund-submit]")
            page.wait_for_selector(".flash-success:has-text('to the buyer\\'s balance')")
            assert page.locator("[data-testid=refund-row]").count() == (1 if tag == "desktop" else 2)
            assert overflow(page) == [], overflow(page)
            shot(top(page), f"admin-order-refund-{tag}")
            assert errors == [], errors
            context.close()

        with app.app_context():
            with tenant_scope(store):
                order = db.session.scalar(select(Order).where(Order.order_number == 1))
                assert (order.amount_refunded, order.payment_status) == (order.total, "REFUNDED")
