"""The shopper's payment pages: checkout by card goes to Stripe's page, an unpaid order offers
"Pay now" (the same page again), a provider that cannot be reached loses nothing, the balance page
tops up within the store's limits."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import BalanceTopUp, Cart, CartItem, Order, Payment, StockItem
from tenancy import tenant_scope
from tests.payments import enable_methods, hoodpay_post, save_hoodpay_keys
from tests.statements import statements_of
from tests.web.test_auth_pages import csrf, login
from tests.web.test_cart_checkout_pages import (
    add,
    checkout,
    shop,  # noqa: F401 - the `shop` fixture
    shopper,
)


def _count(app, store, model, *where) -> int:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_card_checkout_sends_the_shopper_to_stripe_and_pay_now_offers_the_same_page(app, client, store, make, shop,
                                                                                   stripe_platform):
    enable_methods(app, store, "STRIPE")
    login(client, shopper(make, store, app).username)
    add(client, shop.steam, 2)
    page = client.get("/checkout").data.decode()
    assert "Card (Stripe)" in page and "Stripe&#39;s secure page" in page
    placed = checkout(client, "STRIPE")
    assert placed.status_code == 303 and placed.headers["Location"].startswith(stripe_platform.base_url + "/pay/cs_")
    session = stripe_platform.get(placed.headers["Location"].rsplit("/", 1)[1])
    assert session["amount_total"] == 2000 and session["success_url"].endswith("/account/orders/1?payment=done")
    order_page = client.get("/account/orders/1").data.decode()
    assert "Waiting for your Card (Stripe) payment" in order_page and 'data-testid="pay-now"' in order_page
    again = client.post("/account/orders/1/pay", data={"csrf_token": csrf(order_page.encode())})
    assert again.status_code == 303 and again.headers["Location"] == placed.headers["Location"]
    assert _count(app, store, Payment) == 1
    back = client.get("/account/orders/1?payment=done").data.decode()
    assert 'data-testid="payment-confirming"' in back and 'http-equiv="refresh"' in back


def test_stripe_unreachable_at_checkout_keeps_the_cart_and_holds_no_stock(app, client, store, make, shop,
                                                                         stripe_platform):
    enable_methods(app, store, "STRIPE")
    login(client, shopper(make, store, app).username)
    add(client, shop.steam, 1)
    stripe_platform.fail_next("/v1/checkout/sessions", status=500)
    refused = checkout(client, "STRIPE")
    html = refused.data.decode()
    assert refused.status_code == 422 and "the payment provider could not be reached" in html
    assert _count(app, store, Order) == 0 and _count(app, store, Payment) == 0
    assert _count(app, store, StockItem, StockItem.order_id.isnot(None)) == 0
    assert _count(app, store, CartItem) == 1 and _count(app, store, Cart) == 1


def test_a_guest_pays_an_unpaid_order_from_the_secret_link(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    add(client, shop.steam, 1)
    placed = checkout(client, "STRIPE", email="guest@example.com")
    assert placed.status_code == 303
    session = stripe_platform.get(placed.headers["Location"].rsplit("/", 1)[1])
    link = session["success_url"].split("?")[0]
    assert "/orders/guest/" in link
    path = link[link.index("/orders/guest/"):]
    page = client.get(path)
    assert page.status_code == 200 and b'data-testid="pay-now"' in page.data
    again = client.post(path + "/pay", data={"csrf_token": csrf(page.data)})
    assert again.status_code == 303 and again.headers["Location"] == placed.headers["Location"]


def test_back_from_a_cancelled_hoodpay_page_the_order_says_so_instead_of_waiting(app, client, store, make, shop,
                                                                                 hoodpay_api):
    """Hoodpay knows no cancel address: a shopper who cancels there comes back to "?payment=done".
    Once the cancellation is known the page says the payment did not go through and offers Pay
    now, rather than "waiting for the provider to confirm" (refreshing for as long as the order lives)."""
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    login(client, shopper(make, store, app).username)
    add(client, shop.steam, 1)
    placed = checkout(client, "HOODPAY")
    payment_id = placed.headers["Location"].rsplit("/", 1)[1]
    waiting = client.get("/account/orders/1?payment=done").data.decode()
    assert 'data-testid="payment-confirming"' in waiting and 'http-equiv="refresh"' in waiting
    hoodpay_api.cancel(payment_id, deliver=False)
    notice = hoodpay_api.event("payment:cancelled", hoodpay_api.payment(payment_id))
    assert hoodpay_post(client, hoodpay_api, notice).status_code == 200
    back = client.get("/account/orders/1?payment=done").data.decode()
    assert 'data-testid="payment-not-through"' in back and "nothing was charged" in back
    assert 'data-testid="payment-confirming"' not in back and 'http-equiv="refresh"' not in back
    assert 'data-testid="pay-now"' in back


def test_the_balance_page_tops_up_within_the_limits(app, client, store, make, hoodpay_api):
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    login(client, shopper(make, store, app).username)
    page = client.get("/account/balance")
    html = page.data.decode()
    assert "Add money" in html and "From €1.00 to €1,000.00" in html and "Crypto (Hoodpay)" in html
    for amount in ("0", "-5", "1000.01", "abc"):
        refused = client.post("/account/balance/top-up", data={"csrf_token": csrf(page.data), "amount": amount,
                                                               "payment_method": "HOODPAY"})
        assert refused.status_code == 422, amount
        assert _count(app, store, BalanceTopUp) == 0
    started = client.post("/account/balance/top-up", data={"csrf_token": csrf(page.data), "amount": "20",
                                                           "payment_method": "HOODPAY"})
    assert started.status_code == 303 and started.headers["Location"].startswith(hoodpay_api.base_url + "/pay/")
    listed = client.get("/account/balance").data.decode()
    assert "€20.00 · Crypto (Hoodpay)" in listed and "Waiting for payment" in listed


def test_a_top_up_amount_that_is_not_a_number_gets_a_plain_message_and_stays_typed(app, client, store, make,
                                                                                  hoodpay_api):
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    login(client, shopper(make, store, app).username)
    page = client.get("/account/balance")
    for amount, message in (("abc", "Not a number: enter an amount such as 5.00"),
                            ("12,50", "Not a number: use a dot before the decimals (12.50, not 12,50)"),
                            ("0.001", "More decimals than EUR allows: enter an amount such as 5.00")):
        refused = client.post("/account/balance/top-up", data={"csrf_token": csrf(page.data), "amount": amount,
                                                               "payment_method": "HOODPAY"})
        html = refused.data.decode()
        assert refused.status_code == 422 and message in html, (amount, html)
        assert "amount must be" not in html and "amount has" not in html and f'value="{amount}"' in html
    assert _count(app, store, BalanceTopUp) == 0


def test_back_from_a_cancelled_hoodpay_top_up_the_balance_page_says_so(app, client, store, make, hoodpay_api):
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    login(client, shopper(make, store, app).username)
    page = client.get("/account/balance")
    started = client.post("/account/balance/top-up", data={"csrf_token": csrf(page.data), "amount": "20",
                                                           "payment_method": "HOODPAY"})
    payment_id = started.headers["Location"].rsplit("/", 1)[1]
    assert 'data-testid="topup-returned"' in client.get("/account/balance?topup=done").data.decode()
    hoodpay_api.cancel(payment_id, deliver=False)
    assert hoodpay_post(client, hoodpay_api, hoodpay_api.event("payment:cancelled",
                                                               hoodpay_api.payment(payment_id))).status_code == 200
    back = client.get("/account/balance?topup=done").data.decode()
    assert 'data-testid="topup-not-through"' in back and 'data-testid="topup-returned"' not in back


def test_a_balance_too_low_at_checkout_links_to_the_top_up(app, client, store, make, shop, hoodpay_api):
    login(client, shopper(make, store, app, balance_minor=500).username)
    add(client, shop.steam, 1)
    assert 'data-testid="checkout-top-up"' not in client.get("/checkout").data.decode()  # no way to top up yet
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    page = client.get("/checkout").data.decode()
    assert "Your balance is too low for this order" in page
    assert 'href="/account/balance" data-testid="checkout-top-up"' in page
    # the top-up's methods come from the options the page read: the payment accounts are read once
    status, sql = statements_of(app, client, "/checkout")
    assert status == 200 and sum("payment_accounts" in statement for statement in sql) == 1, sql
    login(other := app.test_client(), shopper(make, store, app, balance_minor=5000, username="rich").username)
    add(other, shop.steam, 1)
    assert 'data-testid="checkout-top-up"' not in other.get("/checkout").data.decode()  # enough already


def test_no_top_up_form_when_the_store_takes_no_provider_payments(app, client, store, make):
    login(client, shopper(make, store, app).username)
    html = client.get("/account/balance").data.decode()
    assert "Top-ups are not available at this store yet." in html and 'data-testid="topup-form"' not in html
