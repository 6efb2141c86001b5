"""Paying an order through the API with the real stripe client against the fake Stripe, and with
Hoodpay against its fake: checkout answers the provider's page, signed webhooks pay once in any
order, a second "pay now" reuses the open page, and refusals (a method that is not configured, a
provider that is down, a forged notification) leave nothing behind."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Order, Payment, StockItem, WebhookEvent
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import counts, shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import (
    add_to_cart,
    checkout,
    enable_methods,
    hoodpay_post,
    paid_stripe_order,
    row,
    rows,
    save_hoodpay_keys,
    stripe_order,
    stripe_post,
)


def delivered(app, store, order_id: str) -> int:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(func.count()).select_from(StockItem).where(
            StockItem.order_id == order_id, StockItem.is_sold.is_(True)))


def mails_to(outbox, email: str, subject: str = "") -> list:
    return [m for m in outbox if m.to == [email] and subject in m.subject]


def confirmations(outbox, email: str = "buyer@example.com") -> list:
    """The "your order is ready" emails (the items), not the "order received" one."""
    return [m for m in mails_to(outbox, email) if m.subject.endswith("is ready")]


def test_events_out_of_order_pay_once_deliver_once_and_email_once(app, client, store, shop, stripe_platform,
                                                                   mail_outbox):
    enable_methods(app, store, "STRIPE")
    body, session_id = stripe_order(client, shop.headers, shop.digital, stripe_platform, quantity=2)
    assert body["status"] == "PENDING" and body["payment_status"] == "UNPAID"
    assert [m.subject for m in mails_to(mail_outbox, "buyer@example.com")] == [
        f"Order #{body['order_number']} received"]
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    session_event, intent_event = stripe_platform.events[seen:]
    assert (session_event["type"], intent_event["type"]) == ("checkout.session.completed", "payment_intent.succeeded")
    for event in (intent_event, session_event, intent_event, session_event):  # the intent first, then replays
        response = stripe_post(client, stripe_platform, event)
        assert response.status_code == 200, response.get_json()
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
    assert delivered(app, store, body["id"]) == 2
    shown = client.get(f"/api/orders/{body['id']}", headers=shop.headers).get_json()
    assert len(shown["deliverables"]) == 2 and set(shown["deliverables"]) <= {f"CODE-{i}" for i in range(6)}
    assert len(confirmations(mail_outbox)) == 1
    (payment,) = rows(app, store, Payment)
    assert payment.status == "SUCCEEDED" and payment.intent_ref == intent_event["data"]["object"]["id"]
    events = {e.type: e for e in rows(app, store, WebhookEvent)}
    assert events["payment_intent.succeeded"].status == "PROCESSED"
    assert events["checkout.session.completed"].status == "IGNORED"
    assert events["payment_intent.succeeded"].deliveries == 2


def test_create_session_offers_the_open_page_again_and_refuses_what_cannot_be_paid(
        app, client, store, shop, make, stripe_platform):
    enable_methods(app, store, "STRIPE", "BALANCE")
    body, session_id = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    sessions = len(stripe_platform.objects("checkout.session"))
    again = client.post("/api/checkout/create-session", json={"order_id": body["id"]}, headers=shop.headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["session_id"] == session_id
    assert again.get_json()["url"] == body["redirect_url"]
    assert len(stripe_platform.objects("checkout.session")) == sessions
    assert len(rows(app, store, Payment)) == 1

    stranger = shop.h(make.user(store))
    other = client.post("/api/checkout/create-session", json={"order_id": body["id"]}, headers=stranger)
    assert other.status_code == 404 and error_code(other) == "order_not_found"

    paid, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    again = client.post("/api/checkout/create-session", json={"order_id": paid["id"]}, headers=shop.headers)
    assert again.status_code == 409 and error_code(again) == "order_not_payable"

    by_balance = checkout(client, shop.headers, "BALANCE", shop.digital)
    assert by_balance.status_code == 201, by_balance.get_json()
    refused = client.post("/api/checkout/create-session", json={"order_id": by_balance.get_json()["id"]},
                          headers=shop.headers)
    assert refused.status_code == 409 and error_code(refused) == "order_not_payable"
    assert len(stripe_platform.objects("checkout.session")) == sessions + 1  # only the paid order's own


def test_create_intent_answers_a_client_secret_and_its_webhook_pays(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, _ = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    response = client.post("/api/payments/create-intent", json={"orderId": body["id"]}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    intent = response.get_json()
    assert intent["amount"] == 10.0 and intent["currency"] == "EUR"
    assert intent["payment_intent_id"].startswith("pi_") and intent["client_secret"]
    assert intent["client_secret"] == stripe_platform.get(intent["payment_intent_id"])["client_secret"]
    seen = len(stripe_platform.events)
    stripe_platform.succeed_intent(intent["payment_intent_id"])
    (event,) = stripe_platform.events[seen:]
    assert stripe_post(client, stripe_platform, event).status_code == 200
    order = row(app, store, Order, body["id"])
    assert order.payment_status == "PAID" and order.status == "COMPLETED"
    assert delivered(app, store, body["id"]) == 1


def test_a_failed_then_succeeded_intent_ends_paid(app, client, store, shop, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    body, _ = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    pi = client.post("/api/payments/create-intent", json={"order_id": body["id"]},
                     headers=shop.headers).get_json()["payment_intent_id"]
    seen = len(stripe_platform.events)
    stripe_platform.fail_intent(pi)
    stripe_platform.succeed_intent(pi)
    failed, succeeded = stripe_platform.events[seen:]
    assert failed["type"] == "payment_intent.payment_failed"
    assert stripe_post(client, stripe_platform, failed).status_code == 200
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PENDING", "UNPAID")
    assert stripe_post(client, stripe_platform, succeeded).status_code == 200
    assert stripe_post(client, stripe_platform, failed).status_code == 200  # a late replay of the failure
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
    intent_payment = next(p for p in rows(app, store, Payment) if p.kind == "intent")
    assert intent_payment.status == "SUCCEEDED"
    assert len(confirmations(mail_outbox)) == 1


def test_checkout_with_a_method_that_is_not_configured_changes_nothing(app, client, store, shop, monkeypatch):
    add_to_cart(client, shop.headers, shop.digital, 1)
    before = counts(shop)
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 422 and error_code(response) == "payment_method_unavailable"
    assert counts(shop) == before


def test_checkout_with_stripe_enabled_but_its_keys_gone_changes_nothing(app, client, store, shop, stripe_platform,
                                                                        monkeypatch):
    enable_methods(app, store, "STRIPE")
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", None)
    add_to_cart(client, shop.headers, shop.digital, 1)
    before = counts(shop)
    requests = len(stripe_platform.requests)
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 422 and error_code(response) == "payment_method_unavailable"
    assert counts(shop) == before and len(stripe_platform.requests) == requests


def test_stripe_down_during_checkout_leaves_no_order_and_the_cart_as_it_was(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    add_to_cart(client, shop.headers, shop.digital, 2)
    before = counts(shop)
    stripe_platform.fail_next("/v1/checkout/sessions", 500)
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 502 and error_code(response) == "payment_provider_error"
    assert counts(shop) == before
    assert before["cart_items"] == 1 and before["held"] == 0
    assert rows(app, store, Payment) == []
    cart = client.get("/api/cart", headers=shop.headers).get_json()
    assert sum(item["quantity"] for item in cart["items"]) == 2
    retry = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert retry.status_code == 201, retry.get_json()


# --- Hoodpay ------------------------------------------------------------------------------------

def hoodpay_order(app, client, store, shop, fake) -> tuple[dict, str]:
    save_hoodpay_keys(app, store, fake)
    enable_methods(app, store, "HOODPAY")
    response = checkout(client, shop.headers, "HOODPAY", shop.digital)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["redirect_url"].startswith(fake.base_url + "/pay/"), body
    return body, body["redirect_url"].rsplit("/", 1)[1]


def test_hoodpay_checkout_is_confirmed_with_hoodpay_before_the_order_is_paid(app, client, store, shop, hoodpay_api):
    body, payment_id = hoodpay_order(app, client, store, shop, hoodpay_api)
    assert hoodpay_api.payment(payment_id)["metadata"]["order_id"] == body["id"]
    hoodpay_api.complete(payment_id, deliver=False)
    looked = len(hoodpay_api.requests)
    notice = hoodpay_api.event("payment:completed", hoodpay_api.payment(payment_id))
    response = hoodpay_post(client, hoodpay_api, notice)
    assert response.status_code == 200, response.get_json()
    gets = [r for r in hoodpay_api.requests[looked:] if r["method"] == "GET"]
    assert [r["path"] for r in gets] == [f"/v1/businesses/{hoodpay_api.business_id}/payments/{payment_id}"]
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
    assert delivered(app, store, body["id"]) == 1
    (event,) = rows(app, store, WebhookEvent)
    assert event.status == "PROCESSED" and event.order_id == body["id"]


def test_a_hoodpay_notification_while_hoodpay_says_pending_is_refused(app, client, store, shop, hoodpay_api):
    body, payment_id = hoodpay_order(app, client, store, shop, hoodpay_api)
    claimed = {**hoodpay_api.payment(payment_id), "status": "COMPLETED"}  # the body lies; the API does not
    response = hoodpay_post(client, hoodpay_api, hoodpay_api.event("payment:completed", claimed))
    assert response.status_code == 200, response.get_json()
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PENDING", "UNPAID")
    assert delivered(app, store, body["id"]) == 0
    (event,) = rows(app, store, WebhookEvent)
    assert event.status == "REFUSED" and "PENDING".lower() in event.result.lower(), event.result


def test_a_mis_signed_hoodpay_notification_is_a_400_and_stores_nothing(app, client, store, shop, hoodpay_api):
    body, payment_id = hoodpay_order(app, client, store, shop, hoodpay_api)
    hoodpay_api.complete(payment_id, deliver=False)
    notice = hoodpay_api.event("payment:completed", hoodpay_api.payment(payment_id))
    response = hoodpay_post(client, hoodpay_api, notice, secret="hp_whsec_not_the_secret")
    assert response.status_code == 400 and error_code(response) == "bad_signature"
    assert rows(app, store, WebhookEvent) == []
    assert row(app, store, Order, body["id"]).payment_status == "UNPAID"


def test_after_stripe_expires_the_page_pay_now_opens_a_new_one_that_pays(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, first = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    seen = len(stripe_platform.events)
    stripe_platform.expire_session(first)
    (expired,) = stripe_platform.events[seen:]
    assert expired["type"] == "checkout.session.expired"
    assert stripe_post(client, stripe_platform, expired).status_code == 200
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PENDING", "UNPAID")
    again = client.post("/api/checkout/create-session", json={"order_id": body["id"]}, headers=shop.headers)
    assert again.status_code == 201, again.get_json()
    second = again.get_json()["session_id"]
    assert second != first and again.get_json()["payment"]["status"] == "PENDING"
    assert sorted(p.status for p in rows(app, store, Payment)) == ["EXPIRED", "PENDING"]
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(second)
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    assert row(app, store, Order, body["id"]).payment_status == "PAID"
    assert delivered(app, store, body["id"]) == 1


def test_a_cancelled_hoodpay_payment_leaves_the_order_waiting(app, client, store, shop, hoodpay_api):
    body, payment_id = hoodpay_order(app, client, store, shop, hoodpay_api)
    hoodpay_api.cancel(payment_id, deliver=False)
    notice = hoodpay_api.event("payment:cancelled", hoodpay_api.payment(payment_id))
    assert hoodpay_post(client, hoodpay_api, notice).status_code == 200
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PENDING", "UNPAID")
    (payment,) = rows(app, store, Payment)
    assert payment.status == "FAILED"
    again = client.post("/api/checkout/create-session", json={"order_id": body["id"]}, headers=shop.headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["redirect_url"].startswith(hoodpay_api.base_url + "/pay/")
    assert again.get_json()["session_id"] != payment_id


def expire(app, store, order_id: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from services import orders as order_service

    with app.app_context(), tenant_scope(store):
        db.session.execute(update(Order).where(Order.id == order_id)
                           .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        assert order_service.expire_due() == 1
        db.session.commit()


def test_money_for_a_lapsed_order_whose_stock_is_gone_is_kept_and_the_admins_told(
        app, client, store, shop, make, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE", "BALANCE")
    make.user(store, role="ADMIN", email="boss@example.com")
    body, session_id = stripe_order(client, shop.headers, shop.digital, stripe_platform, quantity=4)
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)  # paid at Stripe; the events are still on their way
    expire(app, store, body["id"])  # meanwhile the order lapses and its 4 codes go back
    assert row(app, store, Order, body["id"]).status == "EXPIRED"
    other = checkout(client, shop.headers, "BALANCE", shop.digital, 4)  # and are sold: 2 codes left
    assert other.status_code == 201, other.get_json()
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PROCESSING", "PAID")
    assert delivered(app, store, body["id"]) == 0
    assert counts(shop)["stock"] == 2  # nothing half-taken
    alerts = [m for m in mail_outbox if m.to == ["boss@example.com"] and "lapsed" in m.subject]
    assert [m.subject for m in alerts] == [f"Order #{body['order_number']} paid after it lapsed"]
    assert "deliver by hand or refund" in alerts[0].body


def test_asking_for_an_intent_twice_gives_the_same_open_intent(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, _ = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    intents = len(stripe_platform.objects("payment_intent"))
    first = client.post("/api/payments/create-intent", json={"order_id": body["id"]}, headers=shop.headers)
    second = client.post("/api/payments/create-intent", json={"order_id": body["id"]}, headers=shop.headers)
    assert first.status_code == 201 and second.status_code == 201, (first.get_json(), second.get_json())
    assert second.get_json()["payment_intent_id"] == first.get_json()["payment_intent_id"]
    assert second.get_json()["client_secret"] == first.get_json()["client_secret"]
    assert len(stripe_platform.objects("payment_intent")) == intents + 1
    assert len([p for p in rows(app, store, Payment) if p.kind == "intent"]) == 1
