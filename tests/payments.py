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
