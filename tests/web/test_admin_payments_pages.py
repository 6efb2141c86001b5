"""The admin's side of payments in the dashboard: the payments page (methods, Stripe Connect with
its money, Hoodpay keys, top-up limits), the callback inspector, and refunds on the order page.
What an admin would notice: status codes, messages on the page, rows in the database."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Order, PaymentAccount, Refund, Store, User, Variant, WebhookEvent
from services import balance, checkout, orders, payments, stock
from services import cart as cart_service
from services import products as product_service
from services.stores import settings_of
from tenancy import tenant_scope
from tests.payments import enable_methods, stripe_post
from tests.web.test_admin_orders_pages import HX, as_role, page_token

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens there: the provider "cannot be reached"


def admin_client(app, make, store):
    client, _ = as_role(app, make, store, "ADMIN")
    return client


def text(response) -> str:
    """The page's text with tags and whitespace squeezed, for sentences that span markup."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.data.decode())).split())


def post(client, url, data=None, *, page="/admin/payments", **kw):
    token = page_token(client.get(page))
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kw)


@contextmanager
def in_store(app, store):
    """An app context bound to ``store`` (commit yourself)."""
    with app.app_context(), tenant_scope(store):
        yield db.session


def enabled(app, store) -> list[str]:
    with in_store(app, store):
        return payments.enabled_methods(db.session.get(Store, store.id))


def account(app, store, provider: str) -> PaymentAccount | None:
    with in_store(app, store) as session:
        return session.scalar(select(PaymentAccount).where(PaymentAccount.provider == provider))


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/admin/payments", "/admin/payments/events"])
def test_anonymous_visitors_are_sent_to_sign_in(client, store, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_and_managers_get_403_and_no_links(app, store, make):
    for role in ("STAFF", "MANAGER"):
        client, _ = as_role(app, make, store, role)
        for url in ("/admin/payments", "/admin/payments/events", "/admin/payments/events/nope"):
            assert client.get(url).status_code == 403, (role, url)
        token = page_token(client.get("/admin/"))
        for url in ("/admin/payments/methods", "/admin/payments/stripe/connect", "/admin/payments/hoodpay",
                    "/admin/payments/topups", "/admin/payments/stripe/payout", "/admin/payments/hoodpay/remove"):
            assert client.post(url, data={"csrf_token": token, "method": "MANUAL", "enable": "0"}).status_code == 403
        sidebar = client.get("/admin/").data.decode()
        assert 'href="/admin/payments"' not in sidebar and 'href="/admin/payments/events"' not in sidebar
    assert enabled(app, store) == ["BALANCE", "MANUAL"]
    admin = admin_client(app, make, store)
    sidebar = admin.get("/admin/").data.decode()
    assert 'href="/admin/payments"' in sidebar and 'href="/admin/payments/events"' in sidebar


def test_a_post_without_the_csrf_token_is_refused(app, store, make):
    admin = admin_client(app, make, store)
    response = admin.post("/admin/payments/methods", data={"method": "MANUAL", "enable": "0"})
    assert response.status_code == 400 and enabled(app, store) == ["BALANCE", "MANUAL"]


# --- payment methods ----------------------------------------------------------------------------

def test_enabling_stripe_without_platform_keys_is_refused_with_the_reason(app, store, make):
    admin = admin_client(app, make, store)
    page = admin.get("/admin/payments")
    assert page.status_code == 200
    assert "Card payments are not set up on this platform" in text(page)
    assert 'data-testid="stripe-connect"' not in page.data.decode()

    refused = post(admin, "/admin/payments/methods", {"method": "STRIPE", "enable": "1"}, headers=HX)
    assert refused.status_code == 422
    fragment = refused.data.decode()
    assert "<html" not in fragment and 'id="methods-card"' in fragment
    error = re.search(r'data-testid="method-STRIPE".*?data-testid="method-error">([^<]+)<', fragment, re.S)
    assert error and error.group(1) == ("Card (Stripe) cannot be enabled yet: Card payments are not set up on this "
                                        "platform yet (STRIPE_SECRET_KEY is missing)")
    assert fragment.count('data-testid="method-error"') == 1  # next to that method only
    assert enabled(app, store) == ["BALANCE", "MANUAL"]

    plain = post(admin, "/admin/payments/methods", {"method": "HOODPAY", "enable": "1"})
    assert plain.status_code == 422 and "<html" in plain.data.decode()
    assert "Crypto (Hoodpay) cannot be enabled yet: Save your Hoodpay API key" in text(plain)
    assert enabled(app, store) == ["BALANCE", "MANUAL"]
    assert post(admin, "/admin/payments/methods", {"method": "BITCOIN", "enable": "1"}).status_code == 400


def test_with_the_platform_keys_stripe_enables_and_disables(app, store, make, stripe_platform):
    admin = admin_client(app, make, store)
    swapped = post(admin, "/admin/payments/methods", {"method": "STRIPE", "enable": "1"}, headers=HX)
    assert swapped.status_code == 200 and "Card (Stripe) is enabled." in text(swapped)
    assert re.search(r'data-testid="method-STRIPE".*?badge-on">Enabled<', swapped.data.decode(), re.S)
    assert enabled(app, store) == ["BALANCE", "STRIPE", "MANUAL"]
    off = post(admin, "/admin/payments/methods", {"method": "MANUAL", "enable": "0"})
    assert off.status_code == 303 and off.headers["Location"] == "/admin/payments"
    assert "Manual payment is disabled." in text(admin.get("/admin/payments"))
    assert enabled(app, store) == ["BALANCE", "STRIPE"]


# --- Stripe Connect -----------------------------------------------------------------------------

def test_connect_sends_the_admin_to_stripe_onboarding_and_shows_the_account(app, store, make, stripe_platform):
    fake = stripe_platform
    admin = admin_client(app, make, store)
    page = admin.get("/admin/payments")
    assert "takes card payments on the platform's own Stripe account" in text(page)
    assert 'data-testid="stripe-connect"' in page.data.decode()

    response = post(admin, "/admin/payments/stripe/connect")
    assert response.status_code == 303
    match = re.fullmatch(re.escape(fake.base_url) + r"/connect/onboard/(acct_\w+)", response.headers["Location"])
    assert match, response.headers["Location"]
    acct = match.group(1)
    saved = account(app, store, "STRIPE")
    assert saved is not None and saved.account_ref == acct and not saved.charges_enabled
    link = fake.requests_to("POST", "/v1/account_links")[-1].params
    assert (link["account"], link["return_url"], link["refresh_url"]) == (
        acct, "http://localhost/admin/payments", "http://localhost/admin/payments")

    shown = admin.get("/admin/payments")
    body, words = shown.data.decode(), text(shown)
    assert f'data-testid="stripe-account">{acct}<' in body
    assert "Charges Not enabled Payouts Not enabled" in words and "Still due Not known yet" in words
    assert "Finish your Stripe onboarding: Stripe has not enabled charges yet" in words
    assert "Continue onboarding at Stripe" in words

    assert post(admin, "/admin/payments/stripe/refresh").status_code == 303  # asks Stripe
    shown = admin.get("/admin/payments")
    assert "card payments do not work yet (Finish your Stripe onboarding" in text(shown)
    assert re.search(r'data-testid="stripe-requirements"><li><code>[a-z_.]+</code>', shown.data.decode())

    fake.set_account(acct, charges_enabled=True, payouts_enabled=True, details_submitted=True)
    refreshed = post(admin, "/admin/payments/stripe/refresh")
    assert refreshed.status_code == 303
    words = text(admin.get("/admin/payments"))
    assert "Stripe account status refreshed: card payments work." in words
    assert "Charges Enabled Payouts Enabled" in words and "Taking card payments" in words
    assert "Continue onboarding" not in words and account(app, store, "STRIPE").charges_enabled

    # the account's money: balance, a payout, the tables
    fake.add_funds(5_000, "eur", account=acct)
    page = admin.get("/admin/payments")
    assert re.search(r'data-testid="stripe-available">€50\.00<', page.data.decode())
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"', page.data.decode()).group(1)
    paid = admin.post("/admin/payments/stripe/payout", data={"csrf_token": page_token(page), "amount": "20.00",
                                                              "request_key": key})
    assert paid.status_code == 303
    again = admin.post("/admin/payments/stripe/payout", data={"csrf_token": page_token(page), "amount": "20.00",
                                                               "request_key": key})
    assert again.status_code == 303  # the same form sent twice is one payout
    assert len(fake.objects("payout", acct)) == 1
    page = admin.get("/admin/payments")
    words = text(page)
    assert "Payout of €20.00 requested: pending." in words
    assert re.search(r'data-testid="stripe-available">€30\.00<', page.data.decode())
    assert 'data-testid="stripe-payouts"' in page.data.decode() and 'data-testid="stripe-transactions"' in page.data.decode()

    too_much = post(admin, "/admin/payments/stripe/payout", {"amount": "100.00", "request_key": "k" * 32})
    assert too_much.status_code == 422
    assert "Stripe refused the payout" in text(too_much) and "insufficient funds" in text(too_much)
    assert re.search(r'<input aria-describedby="amount-err" aria-invalid="true"[^>]*id="amount"', too_much.data.decode())
    assert 'value="kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"' not in too_much.data.decode()  # a fresh key to try again
    zero = post(admin, "/admin/payments/stripe/payout", {"amount": "0", "request_key": "z" * 32})
    assert zero.status_code == 422 and "Enter an amount above zero" in text(zero)
    assert len(fake.objects("payout", acct)) == 1


def test_a_store_without_a_connected_account_is_asked_to_connect(app, store, make, stripe_platform):
    app.config["STRIPE_DEFAULT_STORE_DIRECT"] = False  # the fixture puts it back
    admin = admin_client(app, make, store)
    page = admin.get("/admin/payments")
    words = text(page)
    assert "Connect a Stripe account to take card payments" in words and "Not taking card payments" in words
    assert "Balance at Stripe" not in words and 'data-testid="stripe-connect"' in page.data.decode()
    refused = post(admin, "/admin/payments/methods", {"method": "STRIPE", "enable": "1"}, headers=HX)
    assert refused.status_code == 422
    assert "Card (Stripe) cannot be enabled yet: Connect a Stripe account first" in text(refused)
    assert "STRIPE" not in enabled(app, store)


def test_stripe_out_of_reach_is_a_message_not_an_error_page(app, store, make, stripe_platform):
    admin = admin_client(app, make, store)
    app.config["STRIPE_API_BASE"] = CLOSED_PORT  # the fixture puts the fake's address back
    page = admin.get("/admin/payments")
    assert page.status_code == 200
    assert "Stripe's balance, payouts and transactions cannot be shown right now." in text(page)
    assert "could not be reached" in text(page)
    refused = post(admin, "/admin/payments/stripe/connect")
    assert refused.status_code == 422
    assert "Starting Stripe onboarding failed: the payment provider could not be reached" in text(refused)
    assert account(app, store, "STRIPE") is None


# --- Hoodpay ------------------------------------------------------------------------------------

def test_hoodpay_keys_save_with_hints_and_the_secret_never_shows(app, store, make, hoodpay_api):
    fake = hoodpay_api
    admin = admin_client(app, make, store)
    page = admin.get("/admin/payments")
    assert f'value="{app.config["PUBLIC_BASE_URL"]}/api/webhooks/hoodpay"' in page.data.decode()
    assert "Not set up" in text(page)

    missing = post(admin, "/admin/payments/hoodpay", {"business_id": fake.business_id})
    assert missing.status_code == 422
    assert "Hoodpay needs an API key, a business id and a webhook secret" in text(missing)
    assert len(re.findall(r'class="error" id="(api_key|webhook_secret)-err">required<', missing.data.decode())) == 2

    wrong = post(admin, "/admin/payments/hoodpay", {"api_key": "hp_wrong_key", "business_id": fake.business_id,
                                                    "webhook_secret": fake.webhook_secret})
    assert wrong.status_code == 422
    assert re.search(r'id="api_key-err">Hoodpay refused these keys', wrong.data.decode())
    assert fake.webhook_secret not in wrong.data.decode() and "hp_wrong_key" not in wrong.data.decode()
    assert account(app, store, "HOODPAY") is None

    saved = post(admin, "/admin/payments/hoodpay", {"api_key": fake.api_key, "business_id": fake.business_id,
                                                    "webhook_secret": fake.webhook_secret})
    assert saved.status_code == 303 and saved.headers["Location"] == "/admin/payments#hoodpay-h"
    page = admin.get("/admin/payments")
    body = page.data.decode()
    assert "Hoodpay keys saved and checked with Hoodpay." in text(page)
    assert f'data-testid="hoodpay-key-hint">…{fake.api_key[-4:]}<' in body
    assert f'data-testid="hoodpay-secret-hint">…{fake.webhook_secret[-4:]}<' in body
    assert fake.business_id in body
    assert fake.api_key not in body and fake.webhook_secret not in body
    assert account(app, store, "HOODPAY").account_ref == fake.business_id

    # blank keeps the saved key and secret; now crypto can be enabled
    kept = post(admin, "/admin/payments/hoodpay", {"business_id": fake.business_id})
    assert kept.status_code == 303 and account(app, store, "HOODPAY") is not None
    assert post(admin, "/admin/payments/methods", {"method": "HOODPAY", "enable": "1"}).status_code == 303
    assert "HOODPAY" in enabled(app, store)

    removed = post(admin, "/admin/payments/hoodpay/remove")
    assert removed.status_code == 303
    assert account(app, store, "HOODPAY") is None and "HOODPAY" not in enabled(app, store)
    assert "Hoodpay keys removed; crypto payments are off." in text(admin.get("/admin/payments"))


# --- top-ups ------------------------------------------------------------------------------------

def test_topup_limits_are_saved_in_minor_units_and_checked(app, store, make):
    admin = admin_client(app, make, store)
    page = admin.get("/admin/payments")
    assert re.search(r'<input [^>]*id="topup_min"[^>]*value="1\.00"', page.data.decode())
    saved = post(admin, "/admin/payments/topups", {"topup_min": "2.50", "topup_max": "500"})
    assert saved.status_code == 303
    assert "Top-ups now take €2.50 to €500.00." in text(admin.get("/admin/payments"))
    with in_store(app, store) as session:
        settings = settings_of(session.get(Store, store.id))
        assert (settings.topup_min, settings.topup_max) == (250, 50_000)

    upside_down = post(admin, "/admin/payments/topups", {"topup_min": "50.00", "topup_max": "5.00"})
    assert upside_down.status_code == 422
    assert re.search(r'id="topup_max-err">The top-up maximum must be at least the minimum<', upside_down.data.decode())
    bad = post(admin, "/admin/payments/topups", {"topup_min": "abc", "topup_max": "5.001"})
    assert bad.status_code == 422
    assert re.search(r'id="topup_min-err">Not a number: enter an amount such as 5\.00<', bad.data.decode())
    assert re.search(r'id="topup_max-err">More decimals than EUR allows', bad.data.decode()) is None  # one at a time
    negative = post(admin, "/admin/payments/topups", {"topup_min": "-1", "topup_max": "5"})
    assert negative.status_code == 422 and re.search(r'id="topup_min-err">Enter an amount above zero<',
                                                     negative.data.decode())
    huge = post(admin, "/admin/payments/topups", {"topup_min": "5", "topup_max": "100000000.01"})
    assert huge.status_code == 422 and re.search(  # the limit in the store's currency, as the page shows money
        r'id="topup_max-err">The top-up maximum must be from €0\.01 to €100,000,000\.00<', huge.data.decode())
    with in_store(app, store) as session:
        settings = settings_of(session.get(Store, store.id))
        assert (settings.topup_min, settings.topup_max) == (250, 50_000)


# --- the callback inspector ---------------------------------------------------------------------

def test_inspector_lists_an_event_shows_its_escaped_payload_and_processes_it_again(app, client, store, make,
                                                                                  stripe_platform):
    fake = stripe_platform
    event = fake.event("customer.created", {"id": "cus_test1", "object": "customer",
                                            "description": "</pre><script>alert(1)</script>"})
    assert stripe_post(client, fake, event).status_code == 200
    admin = admin_client(app, make, store)

    listing = admin.get("/admin/payments/events")
    assert listing.status_code == 200
    rows = listing.data.decode().count('data-testid="event-row"')
    assert rows == 1 and "customer.created" in text(listing) and "Ignored" in text(listing)
    assert "<script>alert" not in listing.data.decode()
    for query, count in (("provider=HOODPAY", 0), ("provider=STRIPE", 1), ("status=IGNORED", 1), ("status=FAILED", 0),
                         (f"q={event['id']}", 1), ("q=evt_nothing", 0)):
        fragment = admin.get(f"/admin/payments/events?{query}", headers=HX)
        assert b"<html" not in fragment.data, query
        assert fragment.data.decode().count('data-testid="event-row"') == count, query

    with in_store(app, store) as session:
        row = session.scalar(select(WebhookEvent).where(WebhookEvent.event_id == event["id"]))
        event_row_id, attempts = row.id, row.attempts
        assert row.status == "IGNORED"
    detail = admin.get(f"/admin/payments/events/{event_row_id}")
    body = detail.data.decode()
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in body and "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert f'\n  "id": "{event["id"]}",' in html.unescape(body)  # indented
    assert "verified" in text(detail) and event["id"] in body and "cus_test1" in body
    assert admin.get("/admin/payments/events/no-such-event").status_code == 404

    with in_store(app, store) as session:  # as if the last try had failed
        row = session.get(WebhookEvent, event_row_id)
        row.status, row.error = "FAILED", "ConnectionError: boom"
        session.commit()
    assert "ConnectionError: boom" in text(admin.get(f"/admin/payments/events/{event_row_id}"))
    again = post(admin, f"/admin/payments/events/{event_row_id}/process", page="/admin/payments/events")
    assert again.status_code == 303 and again.headers["Location"] == f"/admin/payments/events/{event_row_id}"
    shown = admin.get(again.headers["Location"])
    assert "Queued again." in text(shown)
    with in_store(app, store) as session:
        row = session.get(WebhookEvent, event_row_id)
        assert (row.status, row.attempts, row.error) == ("IGNORED", attempts + 1, None)
    fragment = post(admin, f"/admin/payments/events/{event_row_id}/process", page="/admin/payments/events", headers=HX)
    assert fragment.status_code == 200 and b"<html" not in fragment.data and b'data-testid="event-notice"' in fragment.data


def test_a_paid_card_order_links_from_the_inspector_and_refunds_to_the_card(app, client, store, make,
                                                                           stripe_platform):
    fake = stripe_platform
    enable_methods(app, store, "STRIPE")
    buyer = make.user(store, username="carla", email="carla@example.com")
    with in_store(app, store) as session:
        product = product_service.create_product({"title": "Steam Card", "variants": [{"title": "10", "price": 1000}]})
        variant = session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "SC-1\nSC-2")
        cart = cart_service.get_cart(user=session.get(User, buyer.id))
        cart_service.add_item(cart, variant.id, 1)
        placed = checkout.place_order(session.get(Store, store.id), cart, buyer=session.get(User, buyer.id),
                                      method="STRIPE", site_url="http://localhost")
        number, session_ref = placed.order.order_number, placed.redirect_url.rsplit("/", 1)[1]
        session.commit()
    seen = len(fake.events)
    fake.complete_session(session_ref)
    for event in fake.events[seen:]:
        assert stripe_post(client, fake, event).status_code == 200

    admin = admin_client(app, make, store)
    listing = admin.get("/admin/payments/events?status=PROCESSED").data.decode()
    assert f'href="/admin/orders/{number}">#{number}<' in listing

    order_page = admin.get(f"/admin/orders/{number}")
    assert "Original payment: back to the Stripe payment." in text(order_page)
    refunded = admin.post(f"/admin/orders/{number}/refund", data={
        "csrf_token": page_token(order_page), "amount": "4.00", "destination": "original", "reason": "late"})
    assert refunded.status_code == 303
    with in_store(app, store) as session:
        row = session.scalar(select(Refund))
        assert (row.amount, row.destination, row.status) == (400, "provider", "SUCCEEDED")  # the job ran inline
    words = text(admin.get(f"/admin/orders/{number}"))
    assert "€4.00 to the original payment Refunded" in words and "Refundable: €6.00 of €10.00" in words


# --- refunds on the order page ------------------------------------------------------------------

@pytest.fixture
def paid(app, store, make):
    """Ann (60.00 balance) paid order #1 (2 × 10.00) with her balance; a guest's order #2 (MANUAL)
    was approved by an admin."""
    ann = make.user(store, username="ann", email="ann@example.com")
    approver = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    with make.scope(store):
        balance.credit(ann.id, 6_000, "topup", reason="test")
    with in_store(app, store) as session:
        product = product_service.create_product({"title": "Netflix Gift", "variants": [{"title": "1 month", "price": 1000}]})
        variant = session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"NFX-{i}" for i in range(4)))
        shop = session.get(Store, store.id)
        cart = cart_service.get_cart(user=session.get(User, ann.id))
        cart_service.add_item(cart, variant.id, 2)
        checkout.place_order(shop, cart, buyer=session.get(User, ann.id), method="BALANCE")
        guest_cart = cart_service.get_cart(guest_key="guest-1")
        cart_service.add_item(guest_cart, variant.id, 1)
        guest = checkout.place_order(shop, guest_cart, buyer=None, method="MANUAL", email="guest@example.com").order
        orders.approve(guest, actor=session.get(User, approver.id))
        session.commit()
    return {"ann": ann.id}


def ann_balance(app, store, paid) -> int:
    with in_store(app, store) as session:
        return session.get(User, paid["ann"]).balance


def refund_rows(app, store) -> int:
    with in_store(app, store) as session:
        return session.scalar(select(func.count()).select_from(Refund))


def test_refund_of_a_balance_order_to_the_balance_credits_the_buyer(app, store, make, paid):
    admin = admin_client(app, make, store)
    before = ann_balance(app, store, paid)
    page = admin.get("/admin/orders/1")
    words = text(page)
    assert 'data-testid="refund-card"' in page.data.decode() and "Refundable: €20.00" in words
    assert '<option value="balance">Store balance</option>' in page.data.decode()

    done = admin.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": "5.00",
                                                       "destination": "balance", "reason": "one code was used"})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/orders/1"
    assert ann_balance(app, store, paid) == before + 500
    page = admin.get("/admin/orders/1")
    words = text(page)
    assert "Refunded €5.00 to the buyer's balance." in words
    assert page.data.decode().count('data-testid="refund-row"') == 1
    assert "€5.00 to balance Refunded" in words and "one code was used" in words
    assert "Refundable: €15.00 of €20.00" in words and "Partially Refunded" in words
    with in_store(app, store) as session:
        order = session.scalar(select(Order).where(Order.order_number == 1))
        assert (order.amount_refunded, order.payment_status) == (500, "PARTIALLY_REFUNDED")

    # more than is left: the message next to the amount, and nothing changes
    too_much = admin.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": "15.01",
                                                           "destination": "balance", "reason": ""})
    assert too_much.status_code == 422
    assert re.search(r'id="amount-err">At most €15\.00 can be refunded on this order<', too_much.data.decode())
    assert ann_balance(app, store, paid) == before + 500 and refund_rows(app, store) == 1
    for amount, message in (("0", "The refund amount must be positive"),
                            ("1.234", "More decimals than EUR allows: enter an amount such as 5.00"),
                            ("1,5", "Not a number: use a dot before the decimals (1.5, not 1,5)")):
        refused = admin.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": amount,
                                                              "destination": "balance"})
        assert refused.status_code == 422 and message in text(refused), amount
    assert refund_rows(app, store) == 1

    # blank: all that is left; then the order is refunded and the card is gone
    rest = admin.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": "",
                                                       "destination": "original"})
    assert rest.status_code == 303 and ann_balance(app, store, paid) == before + 2_000
    page = admin.get("/admin/orders/1")
    assert page.data.decode().count('data-testid="refund-row"') == 2 and 'data-testid="refund-card"' not in page.data.decode()
    again = admin.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": "1.00",
                                                        "destination": "balance"})
    assert again.status_code == 422 and "This order is already fully refunded" in text(again)


def test_a_guest_order_offers_no_balance_refund(app, store, make, paid):
    admin = admin_client(app, make, store)
    page = admin.get("/admin/orders/2")
    body = page.data.decode()
    assert 'data-testid="refund-card"' in body and '<option value="balance">' not in body
    assert "A guest order paid without a provider has no payment or balance to refund to." in text(page)
    refused = admin.post("/admin/orders/2/refund", data={"csrf_token": page_token(page), "amount": "",
                                                          "destination": "original"})
    assert refused.status_code == 422 and "A guest has no balance: refund to the original payment" in text(refused)
    assert refund_rows(app, store) == 0


def test_staff_see_no_refund_card_and_cannot_refund(app, store, make, paid):
    staff, _ = as_role(app, make, store, "STAFF")
    page = staff.get("/admin/orders/1")
    assert page.status_code == 200 and 'data-testid="refund-card"' not in page.data.decode()
    refused = staff.post("/admin/orders/1/refund", data={"csrf_token": page_token(page), "amount": "1.00",
                                                          "destination": "balance"})
    assert refused.status_code == 403 and refund_rows(app, store) == 0


def test_a_disputed_order_shows_the_dispute_and_no_refund_form(app, store, make, paid):
    with in_store(app, store) as session:
        order = session.scalar(select(Order).where(Order.order_number == 1))
        order.dispute_status = "open"
        session.commit()
    admin = admin_client(app, make, store)
    page = admin.get("/admin/orders/1")
    assert 'data-testid="dispute-status"' in page.data.decode() and "Dispute Open" in text(page)
    assert "This payment is disputed" in text(page) and 'data-testid="refund-submit"' not in page.data.decode()
