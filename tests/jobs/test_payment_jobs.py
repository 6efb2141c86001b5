"""Payment jobs on a real Redis with a real RQ worker (burst mode), against the fake Stripe and
Hoodpay: a webhook is stored, queued once on ``webhooks`` and applied by the worker; a redelivery
after that queues nothing; a card refund whose first call times out after Stripe made the refund
is retried with the same key and refunds once; a webhook job that raises shows FAILED with its
error in the inspector and succeeds when retried."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from extensions import db
from models import Order, Refund, Variant, WebhookEvent
from services import products as product_service
from services import stock
from tenancy import tenant_scope
from tests.conftest import (
    REDIS_TEST_URL,
    base_config,
    hoodpay_settings,
    make_app,
    migrate,
    port_open,
    service_missing,
    stripe_settings,
)
from tests.factories import Factory
from tests.payments import enable_methods, hoodpay_post, save_hoodpay_keys, stripe_post
from transactions import queue

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pay_app(tmp_path, fake_stripe, fake_hoodpay):
    """An app with REDIS_URL (jobs go to RQ), Stripe and Hoodpay at the fakes, Stripe's timeout 1 s;
    a default store with a digital product, its admin and a buyer (committed: the worker reads them)."""
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    Redis.from_url(REDIS_TEST_URL).flushdb()
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'pay.db'}", REDIS_URL=REDIS_TEST_URL,
                         MAIL_BACKEND="locmem", **stripe_settings(fake_stripe), **hoodpay_settings(fake_hoodpay))
    config["STRIPE_TIMEOUT"] = 1.0
    application = make_app(config)
    migrate(application)
    fake_stripe.webhook_url = None
    fake_hoodpay.webhook_url = None
    make = Factory(application)
    store = make.store("pay", "Pay Store", default=True)
    with application.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Card", "variants": [{"title": "10", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "J-1\nJ-2\nJ-3")
        db.session.commit()
        variant_id = variant.id
    buyer = make.user(store, username="payer", email="payer@example.com")
    admin = make.user(store, role="ADMIN", email="owner@example.com")
    yield SimpleNamespace(app=application, config=config, store=store, variant=variant_id,
                          buyer=make.headers(buyer, store), admin=make.headers(admin, store),
                          client=application.test_client(), stripe=fake_stripe, hoodpay=fake_hoodpay)
    Redis.from_url(REDIS_TEST_URL).flushdb()
    with application.app_context():
        db.engine.dispose()


def run_worker(config: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **{k: str(v) for k, v in config.items()
                            if isinstance(v, (str, int, float)) and k.isupper()}}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "worker", "--burst", "--no-cron"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def work(env) -> str:
    result = run_worker(env.config)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def retry_now(env, name: str) -> int:
    """Move the retries RQ scheduled (10 s, 60 s...) on queue ``name`` to now: how many."""
    from rq.registry import ScheduledJobRegistry

    registry = ScheduledJobRegistry(queue=queue(env.app, name))
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.requeue(job_id)
    return len(ids)


def order_of(env, order_id: str) -> Order:
    with env.app.app_context(), tenant_scope(env.store):
        return db.session.get(Order, order_id)


def event_row(env, row_id: str) -> WebhookEvent:
    with env.app.app_context(), tenant_scope(env.store):
        return db.session.get(WebhookEvent, row_id)


def place(env, method: str) -> dict:
    client = env.client
    response = client.post("/api/cart/items", json={"subcategory_id": env.variant, "quantity": 1}, headers=env.buyer)
    assert response.status_code == 200, response.get_json()
    response = client.post("/api/orders/checkout", json={"payment_method": method}, headers=env.buyer)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def stripe_paid_event(env) -> tuple[dict, dict]:
    enable_methods(env.app, env.store, "STRIPE")
    order = place(env, "STRIPE")
    session_id = order["redirect_url"].rsplit("/", 1)[1]
    seen = len(env.stripe.events)
    env.stripe.complete_session(session_id)
    event = next(e for e in env.stripe.events[seen:] if e["type"] == "checkout.session.completed")
    return order, event


def test_a_webhook_is_stored_queued_once_and_applied_by_the_worker(pay_app):
    env = pay_app
    order, event = stripe_paid_event(env)
    webhooks = queue(env.app, "webhooks")
    received = stripe_post(env.client, env.stripe, event)
    assert received.status_code == 200, received.get_json()
    receipt = received.get_json()
    assert receipt["status"] == "RECEIVED" and receipt["duplicate"] is False
    assert webhooks.count == 1
    assert order_of(env, order["id"]).payment_status == "UNPAID"  # nothing applied in the web process
    again = stripe_post(env.client, env.stripe, event)  # redelivered before the worker ran: one job still
    assert again.get_json()["duplicate"] is True
    work(env)
    assert webhooks.count == 0
    paid = order_of(env, order["id"])
    assert (paid.status, paid.payment_status) == ("COMPLETED", "PAID")
    row = event_row(env, receipt["id"])
    assert row.status == "PROCESSED" and row.deliveries == 2 and row.attempts == 1
    late = stripe_post(env.client, env.stripe, event)  # after it was applied: nothing is queued
    assert late.status_code == 200 and late.get_json() == {**late.get_json(), "duplicate": True,
                                                           "status": "PROCESSED"}
    assert webhooks.count == 0
    assert event_row(env, receipt["id"]).deliveries == 3


def test_a_refund_timing_out_after_stripe_refunded_is_retried_with_the_same_key_and_refunds_once(pay_app):
    env = pay_app
    order, event = stripe_paid_event(env)
    assert stripe_post(env.client, env.stripe, event).status_code == 200
    work(env)
    assert order_of(env, order["id"]).payment_status == "PAID"
    intent = env.stripe.get(event["data"]["object"]["id"])["payment_intent"]
    charge = env.stripe.get(intent)["latest_charge"]
    response = env.client.post(f"/api/orders/{order['id']}/refund", json={"amount": 4}, headers=env.admin)
    assert response.status_code == 201, response.get_json()
    refund_id = response.get_json()["refund"]["id"]
    assert queue(env.app, "default").count == 1
    seen = len(env.stripe.requests)
    env.stripe.slow_next("/v1/refunds", 3)  # Stripe refunds, then answers after our 1 s timeout
    work(env)
    with env.app.app_context(), tenant_scope(env.store):
        refund = db.session.get(Refund, refund_id)
        assert refund.status == "PENDING" and refund.provider_ref is None
    assert env.stripe.get(charge)["amount_refunded"] == 400  # the money went back already
    assert retry_now(env, "default") == 1
    work(env)
    with env.app.app_context(), tenant_scope(env.store):
        refund = db.session.get(Refund, refund_id)
        assert refund.status == "SUCCEEDED" and refund.provider_ref.startswith("re_")
        assert db.session.get(Order, order["id"]).amount_refunded == 400
    sent = [r for r in env.stripe.requests[seen:] if r.method == "POST" and r.path == "/v1/refunds"]
    assert [r.idempotency_key for r in sent] == [f"refund:{refund_id}"] * 2
    refunds = [r for r in env.stripe.objects("refund") if r["charge"] == charge]
    assert len(refunds) == 1 and refunds[0]["id"] == refund.provider_ref
    assert env.stripe.get(charge)["amount_refunded"] == 400
    assert order_of(env, order["id"]).payment_status == "PARTIALLY_REFUNDED"


def test_a_webhook_job_that_raises_is_failed_in_the_inspector_then_succeeds_on_retry(pay_app):
    env = pay_app
    save_hoodpay_keys(env.app, env.store, env.hoodpay)
    enable_methods(env.app, env.store, "HOODPAY")
    order = place(env, "HOODPAY")
    payment_id = order["redirect_url"].rsplit("/", 1)[1]
    env.hoodpay.complete(payment_id, deliver=False)
    notice = env.hoodpay.event("payment:completed", env.hoodpay.payment(payment_id))
    received = hoodpay_post(env.client, env.hoodpay, notice)
    assert received.status_code == 200, received.get_json()
    row_id = received.get_json()["id"]
    env.hoodpay.fail_next(f"/v1/businesses/{env.hoodpay.business_id}/payments/{payment_id}", 503)
    work(env)  # confirming with Hoodpay fails: the job raises, RQ schedules a retry
    failed = env.client.get(f"/api/payments/events/{row_id}", headers=env.admin)
    assert failed.status_code == 200
    shown = failed.get_json()
    assert shown["status"] == "FAILED" and shown["result"] == "retrying", shown
    assert shown["error"].startswith("ProviderError: Hoodpay"), shown
    assert shown["attempts"] == 1 and shown["payload"] == notice.decode()
    listed = env.client.get("/api/payments/events?status=FAILED", headers=env.admin).get_json()["items"]
    assert [i["id"] for i in listed] == [row_id]
    assert order_of(env, order["id"]).payment_status == "UNPAID"
    assert retry_now(env, "webhooks") == 1
    work(env)
    done = event_row(env, row_id)
    assert done.status == "PROCESSED" and done.error is None and done.attempts == 2
    paid = order_of(env, order["id"])
    assert (paid.status, paid.payment_status) == ("COMPLETED", "PAID")
