"""Stripe webhooks through the API: verified on the raw body (nothing stored otherwise), stored once
however often they arrive, refused (with the reason) when they name another store's order or the
wrong money, account.updated for a Connect account, a dispute opened and won and then a refund,
and the callback inspector."""
from __future__ import annotations

import copy
import json
import time

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Order, PaymentAccount, Refund, StockItem, Variant, WebhookEvent
from services import products as product_service
from services import stock
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import (
    enable_methods,
    paid_stripe_order,
    pay_session,
    row,
    rows,
    stripe_order,
    stripe_post,
)

OTHER = "http://other.example.com"


def all_events(app) -> list[WebhookEvent]:
    with app.app_context():
        return list(db.session.scalars(select(WebhookEvent).execution_options(all_stores=True)))


def confirmations(outbox, email: str = "buyer@example.com") -> list:
    return [m for m in outbox if m.to == [email] and m.subject.endswith("is ready")]


def a_paid_event(client, shop, fake) -> tuple[dict, dict]:
    """(an unpaid STRIPE order, the checkout.session.completed event that pays it), not delivered."""
    body, session_id = stripe_order(client, shop.headers, shop.digital, fake)
    seen = len(fake.events)
    fake.complete_session(session_id)
    event = next(e for e in fake.events[seen:] if e["type"] == "checkout.session.completed")
    return body, event


# --- verification ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/webhooks/stripe", "/api/payments/webhook"])
def test_unsigned_mis_signed_and_stale_webhooks_are_400_and_store_nothing(app, client, store, shop, stripe_platform,
                                                                          path):
    enable_methods(app, store, "STRIPE")
    body, event = a_paid_event(client, shop, stripe_platform)
    raw = json.dumps(event).encode()
    unsigned = client.post(path, data=raw, headers={"Content-Type": "application/json"})
    wrong = stripe_post(client, stripe_platform, event, secret="whsec_not_ours", path=path)
    stale = stripe_post(client, stripe_platform, event, timestamp=int(time.time()) - 301, path=path)
    tampered_body = raw.replace(b'"paid"', b'"unpaid"')
    from tests.fakes.stripe_server import sign

    tampered = client.post(path, data=tampered_body, headers={
        "Stripe-Signature": sign(raw, stripe_platform.webhook_secret), "Content-Type": "application/json"})
    for response in (unsigned, wrong, stale, tampered):
        assert response.status_code == 400 and error_code(response) == "bad_signature", response.get_json()
    assert "timestamp" in stale.get_json()["error"]["message"]
    assert all_events(app) == []
    assert row(app, store, Order, body["id"]).payment_status == "UNPAID"
    good = stripe_post(client, stripe_platform, event, timestamp=int(time.time()) - 250, path=path)
    assert good.status_code == 200, good.get_json()
    assert good.get_json()["duplicate"] is False
    assert row(app, store, Order, body["id"]).payment_status == "PAID"


def test_the_same_event_five_times_is_one_row_and_applied_once(app, client, store, shop, stripe_platform,
                                                              mail_outbox):
    enable_methods(app, store, "STRIPE")
    body, event = a_paid_event(client, shop, stripe_platform)
    answers = []
    for n in range(5):
        path = "/api/webhooks/stripe" if n % 2 == 0 else "/api/payments/webhook"
        response = stripe_post(client, stripe_platform, event, path=path)
        assert response.status_code == 200, response.get_json()
        answers.append(response.get_json())
    assert [a["duplicate"] for a in answers] == [False, True, True, True, True]
    assert len({a["id"] for a in answers}) == 1
    (stored,) = rows(app, store, WebhookEvent)
    assert stored.deliveries == 5 and stored.attempts == 1 and stored.status == "PROCESSED"
    assert stored.order_id == body["id"]
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(StockItem)
                                 .where(StockItem.order_id == body["id"])) == 1
    assert len(confirmations(mail_outbox)) == 1


# --- refusals ------------------------------------------------------------------------------------

def connect(client, fake, headers, base_url: str = "http://localhost") -> str:
    """Onboard the store's Stripe account through the API and let Stripe enable it (account.updated)."""
    response = client.post("/api/payments/connect/onboard", json={}, headers=headers, base_url=base_url)
    assert response.status_code == 200, response.get_json()
    account = response.get_json()["url"].rsplit("/", 1)[1]
    seen = len(fake.events)
    fake.set_account(account, charges_enabled=True, payouts_enabled=True, details_submitted=True)
    (event,) = fake.events[seen:]
    assert event["type"] == "account.updated" and event["account"] == account
    assert stripe_post(client, fake, event).status_code == 200
    return account


def test_an_event_naming_another_stores_order_is_refused_and_changes_nothing(app, client, store, other_store, shop,
                                                                           make, stripe_platform):
    enable_methods(app, store, "STRIPE")
    mine, _ = stripe_order(client, shop.headers, shop.digital, stripe_platform)  # store A's own unpaid order
    # store B: its own Stripe account, a product, a buyer and an unpaid STRIPE order
    connect(client, stripe_platform, make.headers(make.user(other_store, role="ADMIN"), other_store), OTHER)
    enable_methods(app, other_store, "STRIPE")
    with app.app_context(), tenant_scope(other_store):
        product = product_service.create_product({"title": "Other Card", "variants": [{"title": "x", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "B-1\nB-2")
        db.session.commit()
        variant_id = variant.id
    buyer_b = make.headers(make.user(other_store), other_store)
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": 1}, headers=buyer_b,
                           base_url=OTHER)
    assert response.status_code == 200, response.get_json()
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=buyer_b, base_url=OTHER)
    assert response.status_code == 201, response.get_json()
    theirs = response.get_json()
    session_b = theirs["redirect_url"].rsplit("/", 1)[1]
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_b)
    genuine = next(e for e in stripe_platform.events[seen:] if e["type"] == "checkout.session.completed")
    # the same payment, sent as an event of store A (the platform account, A named in the metadata)
    forged = copy.deepcopy(genuine)
    forged["id"] = "evt_cross_store_1"
    forged.pop("account")
    forged["data"]["object"]["metadata"]["store_id"] = store.id
    response = stripe_post(client, stripe_platform, forged)
    assert response.status_code == 200, response.get_json()
    (event,) = rows(app, store, WebhookEvent)
    assert event.status == "REFUSED" and event.result == "no payment of this store matches this event"
    assert event.order_id is None and event.payment_id is None
    assert row(app, other_store, Order, theirs["id"]).payment_status == "UNPAID"
    assert row(app, store, Order, mine["id"]).payment_status == "UNPAID"
    with app.app_context(), tenant_scope(other_store):
        assert db.session.scalar(select(func.count()).select_from(StockItem).where(StockItem.is_sold.is_(True))) == 0
    # the genuine event (store B's account) pays store B's order, and only it
    assert stripe_post(client, stripe_platform, genuine).status_code == 200
    assert row(app, other_store, Order, theirs["id"]).payment_status == "PAID"
    assert row(app, store, Order, mine["id"]).payment_status == "UNPAID"


@pytest.mark.parametrize("field,value,reason", [
    ("amount_total", 1, "amount 0.01 EUR does not match"),
    ("currency", "usd", "currency USD does not match the payment's EUR"),
])
def test_an_event_with_the_wrong_money_is_refused_with_the_reason(app, client, store, shop, make, stripe_platform,
                                                                  field, value, reason):
    enable_methods(app, store, "STRIPE")
    body, event = a_paid_event(client, shop, stripe_platform)
    wrong = copy.deepcopy(event)
    wrong["id"] = event["id"] + "_wrong"
    wrong["data"]["object"][field] = value
    assert stripe_post(client, stripe_platform, wrong).status_code == 200
    (stored,) = rows(app, store, WebhookEvent)
    assert stored.status == "REFUSED" and reason in stored.result, stored.result
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("PENDING", "UNPAID")
    listed = client.get("/api/payments/events?status=REFUSED", headers=shop.h(make.user(store, role="ADMIN")))
    assert [e["result"] for e in listed.get_json()["items"]] == [stored.result]


# --- Connect ------------------------------------------------------------------------------------

def test_account_updated_makes_the_connected_store_ready_for_cards(app, client, store, other_store, make,
                                                                   stripe_platform):
    admin = make.headers(make.user(other_store, role="ADMIN"), other_store)
    response = client.post("/api/payments/connect/onboard", json={}, headers=admin, base_url=OTHER)
    assert response.status_code == 200, response.get_json()
    account = response.get_json()["url"].rsplit("/", 1)[1]
    assert account.startswith("acct_")
    refused = client.put("/api/payments/methods", json={"methods": {"STRIPE": True}}, headers=admin, base_url=OTHER)
    assert refused.status_code == 422 and error_code(refused) == "payment_method_not_configured"
    seen = len(stripe_platform.events)
    stripe_platform.set_account(account, charges_enabled=True, payouts_enabled=True, details_submitted=True)
    (event,) = stripe_platform.events[seen:]
    assert stripe_post(client, stripe_platform, event).status_code == 200  # to the platform's address
    (saved,) = rows(app, other_store, PaymentAccount)
    assert saved.account_ref == account and saved.charges_enabled and saved.payouts_enabled
    (stored,) = rows(app, other_store, WebhookEvent)
    assert stored.status == "PROCESSED" and stored.account_ref == account
    assert rows(app, store, WebhookEvent) == []
    enabled = client.put("/api/payments/methods", json={"methods": {"STRIPE": True}}, headers=admin, base_url=OTHER)
    assert enabled.status_code == 200, enabled.get_json()
    assert {m["name"]: m["enabled"] for m in enabled.get_json()["items"]}["STRIPE"] is True
    status = client.get("/api/payments/connect/status", headers=admin, base_url=OTHER).get_json()
    assert status["ready"] is True and status["account_id"] == account and not status["uses_platform_account"]


# --- disputes --------------------------------------------------------------------------------------

def test_a_dispute_marks_the_order_emails_the_evidence_and_a_won_dispute_then_a_refund(
        app, client, store, shop, make, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    admin = make.user(store, role="ADMIN", email="boss@example.com")
    body, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    shown = client.get(f"/api/orders/{body['id']}", headers=shop.headers)  # the buyer sees the codes
    assert len(shown.get_json()["deliverables"]) == 1
    buyer_ip = client.environ_base["REMOTE_ADDR"]
    seen = len(stripe_platform.events)
    dispute = stripe_platform.open_dispute(pi, reason="fraudulent")
    (opened,) = stripe_platform.events[seen:]
    for _ in range(2):
        assert stripe_post(client, stripe_platform, opened).status_code == 200
    order = row(app, store, Order, body["id"])
    assert order.payment_status == "DISPUTED" and order.dispute_status == "open"
    alerts = [m for m in mail_outbox if m.to == ["boss@example.com"]]
    assert len(alerts) == 1 and alerts[0].subject == f"Dispute opened on order #{body['order_number']}"
    assert buyer_ip in alerts[0].body and "fraudulent" in alerts[0].body
    with app.app_context(), tenant_scope(store):
        first_seen = db.session.scalar(select(func.min(StockItem.first_revealed_at))
                                       .where(StockItem.order_id == body["id"]))
    assert first_seen is not None and first_seen.isoformat() in alerts[0].body
    refused = client.post(f"/api/orders/{body['id']}/refund", json={"amount": 3}, headers=shop.h(admin))
    assert refused.status_code == 409 and error_code(refused) == "order_disputed"

    seen = len(stripe_platform.events)
    stripe_platform.close_dispute(dispute["id"], "won")
    (closed,) = stripe_platform.events[seen:]
    assert stripe_post(client, stripe_platform, closed).status_code == 200
    order = row(app, store, Order, body["id"])
    assert order.payment_status == "PAID" and order.dispute_status == "won"

    refund = client.post(f"/api/orders/{body['id']}/refund", json={"amount": 3}, headers=shop.h(admin))
    assert refund.status_code == 201, refund.get_json()
    (made,) = rows(app, store, Refund)
    assert made.status == "SUCCEEDED" and made.amount == 300
    order = row(app, store, Order, body["id"])
    assert order.payment_status == "PARTIALLY_REFUNDED" and order.amount_refunded == 300
    assert stripe_platform.get(stripe_platform.get(pi)["latest_charge"])["amount_refunded"] == 300


# --- the callback inspector -------------------------------------------------------------------------

def test_the_inspector_lists_shows_and_processes_again_without_a_second_effect(
        app, client, store, shop, make, stripe_platform, staff_headers, mail_outbox):
    enable_methods(app, store, "STRIPE")
    admin = shop.h(make.user(store, role="ADMIN"))
    body, session_id = stripe_order(client, shop.headers, shop.digital, stripe_platform)
    raised = pay_session(client, stripe_platform, session_id)
    listed = client.get("/api/payments/events", headers=admin)
    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()["items"]
    assert {i["type"] for i in items} == {e["type"] for e in raised}
    paid = next(i for i in items if i["type"] == "checkout.session.completed")
    assert paid["status"] == "PROCESSED" and paid["order_number"] == body["order_number"]
    assert paid["signature"] == "verified" and paid["payload"] is None
    assert client.get("/api/payments/events", headers=staff_headers).status_code == 403
    assert client.get(f"/api/payments/events/{paid['id']}", headers=staff_headers).status_code == 403
    assert client.get("/api/payments/events", headers=shop.headers).status_code == 403

    one = client.get(f"/api/payments/events/{paid['id']}", headers=admin)
    assert one.status_code == 200
    assert json.loads(one.get_json()["payload"]) == next(e for e in raised if e["id"] == paid["event_id"])
    missing = client.get("/api/payments/events/no-such-event", headers=admin)
    assert missing.status_code == 404 and error_code(missing) == "webhook_event_not_found"

    sold_before = row(app, store, Variant, shop.digital).stock_count
    mails_before = len(mail_outbox)
    again = client.post(f"/api/payments/events/{paid['id']}/process", headers=admin)
    assert again.status_code == 202, again.get_json()
    assert client.post(f"/api/payments/events/{paid['id']}/process", headers=staff_headers).status_code == 403
    stored = row(app, store, WebhookEvent, paid["id"])
    assert stored.attempts == 2 and stored.error is None
    assert stored.status == "PROCESSED" and stored.result.startswith(f"order #{body['order_number']} paid")
    assert client.post(f"/api/payments/events/{paid['id']}/process", headers=admin).status_code == 202
    assert row(app, store, WebhookEvent, paid["id"]).result == stored.result
    order = row(app, store, Order, body["id"])
    assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
    assert row(app, store, Variant, shop.digital).stock_count == sold_before
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(StockItem)
                                 .where(StockItem.order_id == body["id"])) == 1
    assert len(mail_outbox) == mails_before
    found = client.get(f"/api/payments/events?search={session_id}", headers=admin).get_json()["items"]
    assert [i["id"] for i in found] == [paid["id"]]


def test_events_of_one_store_are_not_listed_in_another(app, client, store, other_store, shop, make, stripe_platform):
    enable_methods(app, store, "STRIPE")
    paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    admin_b = make.headers(make.user(other_store, role="ADMIN"), other_store)
    listed = client.get("/api/payments/events", headers=admin_b, base_url=OTHER)
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    event_id = rows(app, store, WebhookEvent)[0].id
    assert client.get(f"/api/payments/events/{event_id}", headers=admin_b, base_url=OTHER).status_code == 404
    assert client.post(f"/api/payments/events/{event_id}/process", headers=admin_b, base_url=OTHER).status_code == 404
