"""A shopper pays by card through Stripe's hosted page and tops up their balance in crypto through
Hoodpay's (both the fakes on 127.0.0.1, which send their signed webhooks back to the live server),
in Chromium at 1280 and 375 px."""
from __future__ import annotations

import re

from extensions import db
from services import payment_accounts, payments
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_shopping import DESKTOP, MOBILE, both_widths, delivered, sign_in


def _take(app, fake_hoodpay, *methods: str) -> None:
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            if "HOODPAY" in methods:
                payment_accounts.save_hoodpay(store, api_key=fake_hoodpay.api_key, business_id=fake_hoodpay.business_id,
                                              webhook_secret=fake_hoodpay.webhook_secret)
            payments.set_methods(store, {m: True for m in methods})
            db.session.commit()


def test_a_shopper_pays_by_card_on_stripes_page_and_gets_the_codes(live_server, live_shop, browser, shot,
                                                                   fake_hoodpay):
    base, app = live_server
    _take(app, fake_hoodpay, "STRIPE")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, live_shop["email"], live_shop["password"])
    page.goto(f"{base}/p/{live_shop['slug']}")
    page.fill("#quantity", "2")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    page.goto(f"{base}/checkout")
    page.check("input[value=STRIPE]")
    both_widths(page, shot, "checkout-card")
    page.check("input[value=STRIPE]")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(r".*/pay/cs_.*"))  # Stripe's hosted page (the fake)
    assert "29.98" in page.content()
    shot(top(page), "stripe-hosted-page")
    page.click("button:has-text('Pay')")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+\?payment=done$"))
    codes = delivered(page)
    assert len(codes) == 2 and all(code.startswith("GPU-1M-") for code in codes)
    assert page.text_content("[data-testid=payment-status]").strip() == "Paid"
    assert page.text_content("[data-testid=order-status]").strip() == "Completed"
    both_widths(page, shot, "order-paid-by-card")
    assert errors == []
    context.close()


def test_a_shopper_tops_up_in_crypto_on_hoodpays_page(live_server, live_shop, browser, shot, fake_hoodpay):
    base, app = live_server
    _take(app, fake_hoodpay, "HOODPAY")
    context = browser.new_context(viewport=MOBILE)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, live_shop["email"], live_shop["password"])
    page.goto(f"{base}/account/balance")
    assert page.text_content("[data-testid=account-balance]").strip() == "€100.00"
    page.fill("#amount", "0")  # refused, with the limits, nothing created
    page.click("[data-testid=topup-submit]")
    page.wait_for_selector(".error:has-text('Top-ups go from')")
    shot(top(page), "topup-refused-mobile")
    page.fill("#amount", "25")
    page.click("[data-testid=topup-submit]")
    page.wait_for_url(re.compile(r".*/pay/.*"))  # Hoodpay's hosted page (the fake)
    shot(top(page), "hoodpay-hosted-page")
    page.click("button:has-text('Pay with crypto')")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/balance\?topup=done$"))
    assert page.text_content("[data-testid=account-balance]").strip() == "€125.00"
    assert page.text_content("[data-testid=topup-status]").strip() == "Credited"
    shot(top(page), "topup-credited-mobile")
    page.set_viewport_size(DESKTOP)
    page.reload()
    shot(top(page), "topup-credited-desktop")
    assert errors == []
    context.close()
