"""Balance top-ups through the API: paid on the provider's page (Stripe or Hoodpay, the fakes),
credited to the ledger once however often the webhook arrives (even after the top-up expired),
and every out-of-range amount or unavailable method refused with nothing written."""
from __future__ import annotations

import copy

import pytest

from extensions import db
from models import BalanceTopUp, BalanceTransaction, Payment, Store, User, WebhookEvent
from services import topups as topup_service
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import enable_methods, hoodpay_post, row, rows, save_hoodpay_keys, stripe_post

TOPUP = "/api/user/balance/top-up"


def topup_rows(app, store, user_id):
    return rows(app, store, BalanceTransaction, BalanceTransaction.user_id == user_id,
                BalanceTransaction.kind == "topup", BalanceTransaction.reason == "Balance top-up")


def topped_mails(outbox, email="buyer@example.com"):
    return [m for m in outbox if m.to == [email] and m.subject.startswith("Balance topped up")]


def start(client, headers, fake, amount=20, method="STRIPE") -> tuple[dict, str]:
    response = client.post(TOPUP, json={"amount": amount, "payment_method": method}, headers=headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["redirect_url"].startswith(fake.base_url + "/pay/"), body
    return body, body["redirect_url"].rsplit("/", 1)[1]


def test_a_stripe_top_up_is_credited_once_however_often_the_webhook_arrives(app, client, store, shop,
                                                                          stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    body, session_id = start(client, shop.headers, stripe_platform)
    assert body["topup"]["status"] == "PENDING" and body["topup"]["amount"] == 20.0
    assert body["topup"]["payment_method"] == "STRIPE"
    session = stripe_platform.get(session_id)
    assert session["amount_total"] == 2000 and session["metadata"]["topup_id"] == body["topup"]["id"]
    assert row(app, store, User, shop.buyer.id).balance == 5000
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    raised = stripe_platform.events[seen:]
    for event in raised * 3:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    (entry,) = topup_rows(app, store, shop.buyer.id)
    assert entry.amount == 2000 and entry.balance_after == 7000
    assert row(app, store, User, shop.buyer.id).balance == 7000
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "PAID"
    (mail,) = topped_mails(mail_outbox)
    assert "20.00" in mail.subject and "70.00" in mail.body
    assert all(e.deliveries == 3 for e in rows(app, store, WebhookEvent))
    listed = client.get("/api/user/balance/top-ups", headers=shop.headers)
    assert listed.status_code == 200
    (item,) = listed.get_json()["items"]
    assert item["id"] == body["topup"]["id"] and item["status"] == "PAID" and item["paid_at"]
    history = client.get("/api/user/balance/history", headers=shop.headers).get_json()["items"]
    assert history[0]["kind"] == "topup" and history[0]["amount"] == 20.0


@pytest.mark.parametrize("amount", [0, -5, 0.5, 1000.01, 10**12])
def test_out_of_range_amounts_are_refused_and_nothing_is_written(app, client, store, shop, stripe_platform, amount):
    enable_methods(app, store, "STRIPE")
    sessions = len(stripe_platform.objects("checkout.session"))
    response = client.post(TOPUP, json={"amount": amount, "payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 422, response.get_json()
    assert error_code(response) == "amount_out_of_range"
    assert rows(app, store, BalanceTopUp) == [] and rows(app, store, Payment) == []
    assert len(stripe_platform.objects("checkout.session")) == sessions


def test_the_store_limits_are_the_bounds(app, client, store, shop, stripe_platform):
    from services.stores import update_settings

    enable_methods(app, store, "STRIPE")
    with app.app_context(), tenant_scope(store):
        update_settings(db.session.get(Store, store.id), {"topup_min": 500, "topup_max": 2500})
        db.session.commit()
    low = client.post(TOPUP, json={"amount": 4.99, "payment_method": "STRIPE"}, headers=shop.headers)
    high = client.post(TOPUP, json={"amount": 25.01, "payment_method": "STRIPE"}, headers=shop.headers)
    for response in (low, high):
        assert response.status_code == 422 and error_code(response) == "amount_out_of_range"
        error = response.get_json()["error"]
        assert error["message"] == "Top-ups go from 5.00 EUR to 25.00 EUR"
        assert (error["details"]["min"], error["details"]["max"], error["details"]["currency"]) == (5.0, 25.0, "EUR")
    assert rows(app, store, BalanceTopUp) == []
    start(client, shop.headers, stripe_platform, amount=5)
    start(client, shop.headers, stripe_platform, amount=25)


def test_a_method_that_is_not_configured_is_refused(app, client, store, shop, stripe_platform, monkeypatch):
    hoodpay = client.post(TOPUP, json={"amount": 20, "payment_method": "HOODPAY"}, headers=shop.headers)
    assert hoodpay.status_code == 422 and error_code(hoodpay) == "payment_method_unavailable"
    balance = client.post(TOPUP, json={"amount": 20, "payment_method": "BALANCE"}, headers=shop.headers)
    assert balance.status_code == 422 and error_code(balance) == "payment_method_unavailable"
    enable_methods(app, store, "STRIPE")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    stripe = client.post(TOPUP, json={"amount": 20, "payment_method": "STRIPE"}, headers=shop.headers)
    assert stripe.status_code == 422 and error_code(stripe) == "payment_method_unavailable"
    assert rows(app, store, BalanceTopUp) == []
    assert client.post(TOPUP, json={"amount": 20, "payment_method": "STRIPE"}).status_code == 401


def test_a_hoodpay_top_up_is_confirmed_with_hoodpay_and_credited(app, client, store, shop, hoodpay_api, mail_outbox):
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    body, payment_id = start(client, shop.headers, hoodpay_api, amount=12.5, method="HOODPAY")
    assert hoodpay_api.payment(payment_id)["metadata"]["topup_id"] == body["topup"]["id"]
    hoodpay_api.complete(payment_id, deliver=False)
    notice = hoodpay_api.event("payment:completed", hoodpay_api.payment(payment_id))
    for _ in range(2):
        assert hoodpay_post(client, hoodpay_api, notice).status_code == 200
    (entry,) = topup_rows(app, store, shop.buyer.id)
    assert entry.amount == 1250
    assert row(app, store, User, shop.buyer.id).balance == 6250
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "PAID"
    assert len(topped_mails(mail_outbox)) == 1


def test_a_success_after_the_top_up_expired_still_credits_once(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, session_id = start(client, shop.headers, stripe_platform)
    # Stripe says the page expired (the event only: the shopper is still on it) -> EXPIRED
    expired = stripe_platform.event("checkout.session.expired", {**stripe_platform.get(session_id),
                                                                 "status": "expired"})
    assert stripe_post(client, stripe_platform, expired).status_code == 200
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "EXPIRED"
    listed = client.get("/api/user/balance/top-ups", headers=shop.headers).get_json()["items"]
    assert listed[0]["status"] == "EXPIRED"
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    raised = stripe_platform.events[seen:]
    for event in raised + raised:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    assert stripe_post(client, stripe_platform, expired).status_code == 200  # a replay of the expiry
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "PAID"
    assert len(topup_rows(app, store, shop.buyer.id)) == 1
    assert row(app, store, User, shop.buyer.id).balance == 7000


def test_a_top_up_the_daily_sweep_expired_is_credited_when_paid_late(app, client, store, shop, stripe_platform):
    from datetime import UTC, datetime, timedelta

    enable_methods(app, store, "STRIPE")
    body, session_id = start(client, shop.headers, stripe_platform)
    with app.app_context(), tenant_scope(store):
        assert topup_service.expire_stale(datetime.now(UTC) + timedelta(days=2)) == 1
        db.session.commit()
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "EXPIRED"
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "PAID"
    assert row(app, store, User, shop.buyer.id).balance == 7000


def test_a_top_up_event_with_the_wrong_amount_credits_nothing(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, session_id = start(client, shop.headers, stripe_platform)
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    paid = next(e for e in stripe_platform.events[seen:] if e["type"] == "checkout.session.completed")
    forged = copy.deepcopy(paid)
    forged["id"] += "_more"
    forged["data"]["object"]["amount_total"] = 200000
    assert stripe_post(client, stripe_platform, forged).status_code == 200
    (event,) = rows(app, store, WebhookEvent)
    assert event.status == "REFUSED" and "does not match" in event.result
    assert row(app, store, BalanceTopUp, body["topup"]["id"]).status == "PENDING"
    assert row(app, store, User, shop.buyer.id).balance == 5000


def test_stripe_down_when_topping_up_is_a_502_and_writes_nothing(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    stripe_platform.fail_next("/v1/checkout/sessions", 503)
    response = client.post(TOPUP, json={"amount": 20, "payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 502 and error_code(response) == "payment_provider_error"
    assert rows(app, store, BalanceTopUp) == [] and rows(app, store, Payment) == []
    assert client.get("/api/user/balance/top-ups", headers=shop.headers).get_json()["items"] == []


def test_the_top_up_email_gives_the_balance_right_after_it_even_when_sent_late(app, client, store, shop,
                                                                              stripe_platform, mail_outbox):
    """The emails queue lagging (or a retry) after a purchase: the email still tells the balance the
    top-up left, from its ledger row, not whatever the balance is when the email goes out."""
    from transactions import execute

    enable_methods(app, store, "STRIPE")
    body, session_id = start(client, shop.headers, stripe_platform)
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    assert client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).status_code == 201
    assert row(app, store, User, shop.buyer.id).balance == 6000
    del mail_outbox[:]
    execute(app, "jobs.emails.send_topup_email", store.id, [body["topup"]["id"]], {})  # sent late
    (mail,) = topped_mails(mail_outbox)
    assert "70.00" in mail.body and "60.00" not in mail.body
