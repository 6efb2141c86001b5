"""A card payment end to end through the API, the real stripe client and the fake Stripe: checkout
answers Stripe's hosted page, the signed webhook pays and delivers once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from extensions import db
from models import Order, Payment, StockItem, WebhookEvent
from services import orders
from tenancy import tenant_scope
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import enable_methods, stripe_post


def add(client, headers, variant_id, quantity=1):
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def test_stripe_checkout_redirects_to_stripe_and_the_webhook_pays_once(app, client, store, shop, stripe_platform):
    enable_methods(app, store, "STRIPE")
    add(client, shop.headers, shop.digital, 1)
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["redirect_url"].startswith(stripe_platform.base_url + "/pay/cs_")
    assert body["status"] == "PENDING" and body["payment_status"] == "UNPAID"
    session_id = body["redirect_url"].rsplit("/", 1)[1]
    assert stripe_platform.get(session_id)["metadata"]["order_id"] == body["id"]
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(session_id)
    raised = stripe_platform.events[seen:]
    assert [e["type"] for e in raised] == ["checkout.session.completed", "payment_intent.succeeded"]
    for event in raised + raised[:1] * 2:  # the session event three times, the intent once
        received = stripe_post(client, stripe_platform, event)
        assert received.status_code == 200, received.get_json()
    with app.app_context(), tenant_scope(store):
        order = db.session.get(Order, body["id"])
        assert order.payment_status == "PAID" and order.status == "COMPLETED"
        events = {e.type: e for e in db.session.query(WebhookEvent)}
        assert events["checkout.session.completed"].deliveries == 3
        assert events["checkout.session.completed"].status == "PROCESSED"
        assert events["payment_intent.succeeded"].status == "IGNORED"
        assert db.session.query(Payment).one().status == "SUCCEEDED"


def _stripe_order(client, shop, store, app):
    enable_methods(app, store, "STRIPE")
    add(client, shop.headers, shop.digital, 2)
    response = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _cancel(client, make, store, order_id):
    admin = make.user(store, role="ADMIN", username="boss", email="boss@example.com")
    response = client.put(f"/api/orders/{order_id}/status", json={"status": "CANCELLED"},
                          headers=make.headers(admin, store))
    assert response.status_code == 200, response.get_json()


def test_a_cancelled_order_closes_its_stripe_page_so_it_cannot_be_paid(app, client, make, store, shop,
                                                                      stripe_platform):
    body = _stripe_order(client, shop, store, app)
    session_id = body["redirect_url"].rsplit("/", 1)[1]
    _cancel(client, make, store, body["id"])
    assert stripe_platform.get(session_id)["status"] == "expired"  # Stripe no longer takes money for it
    with app.app_context(), tenant_scope(store):
        assert db.session.query(Payment).one().status == "EXPIRED"
    assert client.get(body["redirect_url"].replace(stripe_platform.base_url, "")).status_code == 404  # not ours


def _expire(app, store, order_id):
    """The order's time runs out (the periodic job's work)."""
    with app.app_context(), tenant_scope(store):
        order = db.session.get(Order, order_id)
        order.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.flush()
        assert orders.expire_due() == 1
        db.session.commit()


def _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform):
    body = _stripe_order(client, shop, store, app)
    seen = len(stripe_platform.events)
    stripe_platform.complete_session(body["redirect_url"].rsplit("/", 1)[1])  # paid; the event is on its way
    event = next(e for e in stripe_platform.events[seen:] if e["type"] == "checkout.session.completed")
    return body, event


def test_money_that_arrives_after_the_order_expired_takes_the_stock_again_and_delivers(app, client, store, shop,
                                                                                       stripe_platform):
    body, event = _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform)
    _expire(app, store, body["id"])  # meanwhile the order expires and its codes go back
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Order, body["id"]).status == "EXPIRED"
        assert db.session.query(Payment).one().status == "PENDING"  # the page could not be closed: it was paid
    assert stripe_post(client, stripe_platform, event).status_code == 200
    with app.app_context(), tenant_scope(store):
        order = db.session.get(Order, body["id"])
        assert (order.status, order.payment_status) == ("COMPLETED", "PAID")
        assert db.session.query(StockItem).filter_by(order_id=order.id, is_sold=True).count() == 2
        row = db.session.query(WebhookEvent).one()
        assert row.status == "PROCESSED" and "stock taken again" in row.result


def test_money_for_an_order_an_admin_cancelled_is_recorded_not_delivered(app, client, make, store, shop,
                                                                        stripe_platform, mail_outbox):
    body, event = _paid_at_stripe_meanwhile(client, shop, store, app, stripe_platform)
    _cancel(client, make, store, body["id"])
    assert stripe_post(client, stripe_platform, event).status_code == 200
    with app.app_context(), tenant_scope(store):
        order = db.session.get(Order, body["id"])
        assert (order.status, order.payment_status) == ("CANCELLED", "PAID")  # stays cancelled, money on record
        assert db.session.query(StockItem).filter_by(order_id=order.id).count() == 0
    assert any("paid after it was cancelled" in m.subject for m in mail_outbox)
    admin = make.headers(make.user(store, role="ADMIN", username="boss2", email="boss2@example.com"), store)
    refunded = client.post(f"/api/orders/{body['id']}/refund", json={}, headers=admin)
    assert refunded.status_code == 201, refunded.get_json()
    assert refunded.get_json()["order"]["payment_status"] == "REFUNDED"
