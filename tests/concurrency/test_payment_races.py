"""Payments under load, on SQLite and PostgreSQL, through a live threaded server and the fake Stripe:
every event delivered 1-5 times, concurrently and out of order, pays once and delivers once;
refunds racing for the same order never refund more than was paid; a top-up confirmed many times
at once is credited once."""
from __future__ import annotations

import http.client
import json
import random
from urllib.parse import urlsplit

from sqlalchemy import func, select

from extensions import db
from models import (
    BalanceTopUp,
    BalanceTransaction,
    Order,
    OrderEvent,
    Payment,
    Refund,
    Role,
    StockItem,
    User,
    Variant,
    WebhookEvent,
)
from services import auth as auth_service
from services import balance, payments, stock
from services import cart as cart_service
from services import products as product_service
from services.stores import get_store
from tenancy import tenant_scope
from tests.fakes.stripe_server import sign

from .conftest import call, race

PRICE = 1000  # 10.00


def _setup(app, store_id: str, buyers: int, codes: int = 20) -> tuple[str, list[str]]:
    """A product with stock, STRIPE enabled, and ``buyers`` users with the product in their cart."""
    with app.app_context(), tenant_scope(store_id):
        product = product_service.create_product({"title": "Pay Card", "variants": [{"title": "10", "price": PRICE}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"PAY-{i:04d}" for i in range(codes)))
        payments.set_methods(get_store(store_id), {"STRIPE": True, "BALANCE": True})
        tokens = []
        for i in range(buyers):
            user = auth_service.create_user(username=f"payer{i}", email=f"payer{i}@example.com",
                                            password="race-pass-123", role=Role.USER, check_strength=False)
            cart_service.add_item(cart_service.get_cart(user=user), variant.id, 1)
            tokens.append(auth_service.issue_tokens(user)["access_token"])
        db.session.commit()
        return variant.id, tokens


def _post_event(base: str, fake, event: dict) -> tuple[int, dict]:
    body = json.dumps(event).encode()
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("POST", "/api/webhooks/stripe", body=body,
                     headers={"Content-Type": "application/json", "Stripe-Signature": sign(body, fake.webhook_secret)})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else {}
    finally:
        conn.close()


def test_each_event_delivered_one_to_five_times_concurrently_and_out_of_order_pays_once(live_stripe, fake_stripe):
    base, app, store_id = live_stripe
    n = 4
    variant_id, tokens = _setup(app, store_id, n)
    fake_stripe.webhook_url = None  # the test delivers the events itself, shuffled and repeated
    orders = []
    for token in tokens:
        status, body = call(base, "POST", "/api/orders/checkout", token=token, body={"payment_method": "STRIPE"})
        assert status == 201, body
        orders.append(body)
    events = []
    for body in orders:
        seen = len(fake_stripe.events)
        fake_stripe.complete_session(body["redirect_url"].rsplit("/", 1)[1])
        events += fake_stripe.events[seen:]  # checkout.session.completed + payment_intent.succeeded
    rng = random.Random(9)
    deliveries = [event for event in events for _ in range(rng.randint(1, 5))]
    rng.shuffle(deliveries)

    results = race(len(deliveries), lambda i: _post_event(base, fake_stripe, deliveries[i]))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {status for status, _ in results} == {200}, results
    order_ids = {body["id"] for body in orders}
    with app.app_context(), tenant_scope(store_id):
        paid = db.session.scalars(select(Order).where(Order.id.in_(order_ids))).all()
        assert {(o.status, o.payment_status) for o in paid} == {("COMPLETED", "PAID")}
        # paid once: one "paid" timeline entry per order, one sold code per order, no code twice
        assert db.session.scalar(select(func.count()).select_from(OrderEvent)
                                 .where(OrderEvent.kind == "paid")) == n
        sold = db.session.execute(select(StockItem.id, StockItem.order_id).where(StockItem.is_sold.is_(True))).all()
        assert len(sold) == n and {order for _, order in sold} == order_ids
        assert db.session.get(Variant, variant_id).stock_count == 20 - n
        # each event stored once, every delivery counted, each applied once
        rows = db.session.scalars(select(WebhookEvent)).all()
        assert len(rows) == len(events) == 2 * n
        assert sum(row.deliveries for row in rows) == len(deliveries)
        assert {row.status for row in rows if row.type == "checkout.session.completed"} <= {"PROCESSED", "IGNORED"}
        assert sum(1 for row in rows if row.status == "PROCESSED") == n  # the first of each order's pair
        assert db.session.scalar(select(func.count()).select_from(Payment).where(Payment.status == "SUCCEEDED")) == n


def test_refunds_racing_for_one_order_never_refund_more_than_was_paid(live_stripe):
    base, app, store_id = live_stripe
    variant_id, tokens = _setup(app, store_id, 1)
    with app.app_context(), tenant_scope(store_id):
        buyer = db.session.scalar(select(User).where(User.username == "payer0"))
        balance.credit(buyer.id, PRICE, "topup", reason="race test")
        admin = auth_service.create_user(username="boss", email="boss@example.com", password="race-pass-123",
                                         role=Role.ADMIN, check_strength=False)
        admin_token = auth_service.issue_tokens(admin)["access_token"]
        db.session.commit()
    status, order = call(base, "POST", "/api/orders/checkout", token=tokens[0], body={"payment_method": "BALANCE"})
    assert status == 201 and order["payment_status"] == "PAID", order
    n = 6  # six refunds of 4.00 on a 10.00 order: two fit

    results = race(n, lambda i: call(base, "POST", f"/api/orders/{order['id']}/refund", token=admin_token,
                                     body={"amount": 4, "destination": "balance", "reason": f"race {i}"}))

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 201] + [422] * (n - 2), [(s, b.get("error")) for s, b in results]
    assert {body["error"]["code"] for status, body in results if status == 422} == {"refund_exceeds_paid"}
    with app.app_context(), tenant_scope(store_id):
        fresh = db.session.get(Order, order["id"])
        assert fresh.amount_refunded == 800 and fresh.payment_status == "PARTIALLY_REFUNDED"
        assert db.session.scalar(select(func.count()).select_from(Refund)) == 2
        refunds = db.session.scalars(select(BalanceTransaction.amount).where(BalanceTransaction.kind == "refund")).all()
        assert sorted(refunds) == [400, 400]
        buyer = db.session.scalar(select(User).where(User.username == "payer0"))
        assert buyer.balance == balance.ledger_sum(buyer.id) == 800


def test_a_top_up_confirmed_many_times_at_once_is_credited_once(live_stripe, fake_stripe):
    base, app, store_id = live_stripe
    _, tokens = _setup(app, store_id, 1)
    fake_stripe.webhook_url = None
    status, body = call(base, "POST", "/api/user/balance/top-up", token=tokens[0],
                        body={"amount": 25, "payment_method": "STRIPE"})
    assert status == 201, body
    seen = len(fake_stripe.events)
    fake_stripe.complete_session(body["redirect_url"].rsplit("/", 1)[1])
    events = fake_stripe.events[seen:]
    deliveries = events * 5

    results = race(len(deliveries), lambda i: _post_event(base, fake_stripe, deliveries[i]))

    assert {status for status, _ in results} == {200}, results
    with app.app_context(), tenant_scope(store_id):
        topup = db.session.get(BalanceTopUp, body["topup"]["id"])
        assert topup.status == "PAID"
        credits = db.session.scalars(select(BalanceTransaction).where(BalanceTransaction.kind == "topup")).all()
        assert [c.amount for c in credits] == [2500]
        user = db.session.get(User, topup.user_id)
        assert user.balance == balance.ledger_sum(user.id) == 2500
