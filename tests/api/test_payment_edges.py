"""Edges a review found, each a way money could move wrongly: a declined card's page left open
beside a new one, a duplicate payment's refund booked on the order, a refund stuck on a provider
that never answers, a closed dispute reopened, one store's Hoodpay event answered as another's,
a paid order cancelled by a status change."""
from __future__ import annotations

import json

from sqlalchemy import select

from extensions import db
from integrations import hoodpay
from models import Order, Payment, Refund, Store, WebhookEvent
from services import payment_accounts
from tenancy import tenant_scope
from tests.api.shop import ship, shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import enable_methods, paid_stripe_order, rows, save_hoodpay_keys, stripe_order, stripe_post


def _admin(make, store):
    return make.headers(make.user(store, role="ADMIN", username="boss", email="boss@example.com"), store)


def test_a_declined_card_keeps_one_way_to_pay_and_cancelling_closes_it(app, client, make, store, shop,
                                                                      stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, session_id = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    intent = client.post("/api/payments/create-intent", json={"order_id": body["id"]}, headers=shop.headers)
    assert intent.status_code == 201, intent.get_json()
    assert stripe_platform.get(session_id)["status"] == "expired"  # the page closed: one way to pay at a time
    pi_id = intent.get_json()["payment_intent_id"]
    seen = len(stripe_platform.events)
    stripe_platform.fail_intent(pi_id)
    for event in stripe_platform.events[seen:]:
        assert stripe_post(client, stripe_platform, event).status_code == 200
    [attempt] = rows(app, store, Payment, Payment.provider_ref == pi_id)
    assert attempt.status == "PENDING" and attempt.failure_reason  # Stripe keeps it open for another card
    again = client.post("/api/payments/create-intent", json={"order_id": body["id"]}, headers=shop.headers)
    assert again.get_json()["payment_intent_id"] == pi_id  # the same intent, not a second one to pay
    cancelled = client.put(f"/api/orders/{body['id']}/status", json={"status": "CANCELLED"},
                           headers=_admin(make, store))
    assert cancelled.status_code == 200
    assert stripe_platform.get(pi_id)["status"] == "canceled"  # nothing left that takes money for it
    assert {p.status for p in rows(app, store, Payment)} == {"EXPIRED"}


def test_refunding_a_second_payment_leaves_the_orders_books_alone(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, pi_id = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    with app.app_context(), tenant_scope(store):  # a second payment that slipped through (a race at Stripe)
        second = Payment(provider="STRIPE", purpose="order", kind="intent", order_id=body["id"], amount=1000,
                         currency="EUR", provider_ref="pi_second", intent_ref="pi_second", status="SUCCEEDED")
        db.session.add(second)
        db.session.commit()
        second_id = second.id
    refunded = stripe_platform.event("charge.refunded", {
        "id": "ch_second", "object": "charge", "payment_intent": "pi_second", "amount": 1000, "amount_refunded": 1000,
        "currency": "eur", "refunded": True, "metadata": {"payment_id": second_id}})
    assert stripe_post(client, stripe_platform, refunded).status_code == 200
    order = rows(app, store, Order, Order.id == body["id"])[0]
    assert (order.payment_status, order.amount_refunded) == ("PAID", 0)
    assert rows(app, store, Payment, Payment.id == second_id)[0].amount_refunded == 1000
    assert rows(app, store, Refund) == []


def test_a_card_refund_the_provider_never_answers_fails_and_frees_the_amount(app, client, make, store, shop,
                                                                           stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    body, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    admin = _admin(make, store)
    stripe_platform.fail_next("/v1/refunds", status=503)
    answer = client.post(f"/api/orders/{body['id']}/refund", json={"amount": 4}, headers=admin)
    assert answer.status_code == 201  # accepted; the job (inline here: no retry) could not reach Stripe
    [refund] = rows(app, store, Refund)
    order = rows(app, store, Order, Order.id == body["id"])[0]
    assert refund.status == "FAILED" and "could not be reached" in refund.failure_reason
    assert (order.payment_status, order.amount_refunded) == ("PAID", 0)
    assert any("Refund failed" in m.subject for m in mail_outbox)
    assert client.post(f"/api/orders/{body['id']}/refund", json={"amount": 4}, headers=admin).status_code == 201


def test_a_late_or_replayed_dispute_opening_never_reopens_a_closed_dispute(app, client, make, store, shop,
                                                                          stripe_platform):
    enable_methods(app, store, "STRIPE")
    body, pi_id = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    seen = len(stripe_platform.events)
    dispute = stripe_platform.open_dispute(pi_id)
    stripe_platform.close_dispute(dispute["id"], "won")
    created, closed = stripe_platform.events[seen:seen + 2]
    assert (created["type"], closed["type"]) == ("charge.dispute.created", "charge.dispute.closed")
    for event in (closed, created):  # out of order: the closing first
        assert stripe_post(client, stripe_platform, event).status_code == 200
    order = rows(app, store, Order, Order.id == body["id"])[0]
    assert (order.dispute_status, order.payment_status) == ("won", "PAID")
    admin = _admin(make, store)
    opened = rows(app, store, WebhookEvent, WebhookEvent.type == "charge.dispute.created")[0]
    assert client.post(f"/api/payments/events/{opened.id}/process", headers=admin).status_code == 202
    order = rows(app, store, Order, Order.id == body["id"])[0]
    assert (order.dispute_status, order.payment_status) == ("won", "PAID")
    assert client.post(f"/api/orders/{body['id']}/refund", json={"amount": 1}, headers=admin).status_code == 201


def test_one_stores_hoodpay_event_is_never_answered_as_another_stores(app, client, store, other_store, hoodpay_api):
    save_hoodpay_keys(app, store, hoodpay_api)
    with app.app_context(), tenant_scope(other_store):
        payment_accounts.save_hoodpay(db.session.get(Store, other_store.id), api_key="hp_other", business_id="biz_other",
                                      webhook_secret="hp_whsec_other", check=False)
        db.session.commit()
    body = json.dumps({"eventType": "PAYMENT_CREATED", "forPaymentEvents": {"id": "p-1", "status": "PENDING"}}).encode()
    headers = hoodpay.sign(body, "hp_whsec_other", msg_id="msg_shared")
    other = client.post("/api/webhooks/hoodpay", data=body, headers={**headers, "Content-Type": "application/json",
                                                                         "Host": "other.example.com"})
    assert other.status_code == 200 and other.get_json()["duplicate"] is False
    headers = hoodpay.sign(body, hoodpay_api.webhook_secret, msg_id="msg_shared")
    mine = client.post("/api/webhooks/hoodpay", data=body, headers={**headers, "Content-Type": "application/json"})
    assert mine.status_code == 200 and mine.get_json()["duplicate"] is False  # the same id, another store
    assert mine.get_json()["id"] != other.get_json()["id"]
    with app.app_context():
        stored = db.session.scalars(select(WebhookEvent.store_id).execution_options(all_stores=True)).all()
    assert sorted(stored) == sorted([store.id, other_store.id])


def test_a_paid_order_cannot_be_cancelled_by_a_status_change(app, client, make, store, shop):
    client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 1}, headers=shop.headers)
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE", **ship(shop)},
                         headers=shop.headers)
    assert placed.status_code == 201 and placed.get_json()["status"] == "PROCESSING"
    order_id, admin = placed.get_json()["id"], _admin(make, store)
    assert client.post(f"/api/orders/{order_id}/refund", json={"amount": 5, "destination": "balance"},
                       headers=admin).status_code == 201
    refused = client.put(f"/api/orders/{order_id}/status", json={"status": "CANCELLED"}, headers=admin)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "order_paid"
    assert rows(app, store, Order, Order.id == order_id)[0].status == "PROCESSING"
