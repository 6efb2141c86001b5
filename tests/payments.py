"""Helpers for payment tests: signed provider webhooks sent to the app, stores set up to take
card (Stripe) and crypto (Hoodpay) payments against the fakes."""
from __future__ import annotations

import json

from extensions import db
from integrations import hoodpay
from services import payment_accounts, payments
from tenancy import tenant_scope
from tests.fakes import stripe_server


def stripe_post(client, fake, event: dict, *, secret: str | None = None, timestamp: int | None = None,
                path: str = "/api/webhooks/stripe", **kw):
    """POST a Stripe event to the app, signed like Stripe signs it."""
    body = json.dumps(event).encode()
    header = stripe_server.sign(body, secret or fake.secret_for(event), timestamp)
    return client.post(path, data=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}, **kw)


def hoodpay_post(client, fake, body: bytes, *, secret: str | None = None, **kw):
    headers = hoodpay.sign(body, secret or fake.webhook_secret)
    return client.post("/api/webhooks/hoodpay", data=body, headers={**headers, "Content-Type": "application/json"},
                       **kw)


def enable_methods(app, store, *names: str) -> None:
    """Turn methods on (through the service, so a method that is not configured is refused)."""
    with app.app_context(), tenant_scope(store):
        fresh = db.session.merge(store)
        payments.set_methods(fresh, {name: True for name in names})
        db.session.commit()


def save_hoodpay_keys(app, store, fake) -> None:
    with app.app_context(), tenant_scope(store):
        fresh = db.session.merge(store)
        payment_accounts.save_hoodpay(fresh, api_key=fake.api_key, business_id=fake.business_id,
                                      webhook_secret=fake.webhook_secret)
        db.session.commit()


# --- shared steps of the payment API tests ------------------------------------------------------

def add_to_cart(client, headers, variant_id: str, quantity: int = 1) -> None:
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def checkout(client, headers, method: str, variant_id: str | None = None, quantity: int = 1):
    """Put ``variant_id`` in the cart (when given) and check out with ``method``: the response."""
    if variant_id:
        add_to_cart(client, headers, variant_id, quantity)
    return client.post("/api/orders/checkout", json={"payment_method": method}, headers=headers)


def stripe_order(client, headers, variant_id: str, fake, quantity: int = 1) -> tuple[dict, str]:
    """A STRIPE order through the API: (the checkout answer, its Checkout Session id)."""
    response = checkout(client, headers, "STRIPE", variant_id, quantity)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["redirect_url"].startswith(fake.base_url + "/pay/cs_"), body
    return body, body["redirect_url"].rsplit("/", 1)[1]


def pay_session(client, fake, session_id: str) -> list[dict]:
    """The shopper pays on Stripe's page; every event it raises is delivered once. The events."""
    seen = len(fake.events)
    fake.complete_session(session_id)
    raised = fake.events[seen:]
    for event in raised:
        response = stripe_post(client, fake, event)
        assert response.status_code == 200, response.get_json()
    return raised


def paid_stripe_order(client, headers, variant_id: str, fake, quantity: int = 1) -> tuple[dict, str]:
    """A STRIPE order, paid through its signed webhooks: (the checkout answer, its PaymentIntent id)."""
    body, session_id = stripe_order(client, headers, variant_id, fake, quantity)
    pay_session(client, fake, session_id)
    return body, fake.get(session_id)["payment_intent"]


def rows(app, store, model, *where) -> list:
    """Every row of ``model`` in ``store`` (fresh from the database)."""
    from sqlalchemy import select

    with app.app_context(), tenant_scope(store):
        return list(db.session.scalars(select(model).where(*where)))


def row(app, store, model, row_id):
    with app.app_context(), tenant_scope(store):
        return db.session.get(model, row_id)
