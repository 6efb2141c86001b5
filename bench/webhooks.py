"""Webhook speed: a signed Stripe event through the whole app (verify the signature on the raw
body, store it once under (provider, event id), apply it through the transition table: pay the
order, deliver its code, queue the email), beside a redelivery of the same event (verified,
counted, nothing applied) and an event the table ignores, on SQLite and PostgreSQL. Jobs run
inline (no REDIS_URL), so "apply" happens inside the timed request here; with Redis the request
only stores the event. The provider is the fake Stripe of tests/fakes on 127.0.0.1.

    .venv/bin/python bench/webhooks.py [--events 200] [--db both|sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import json
import time

from _common import backends, bench_app


def seed(app, fake, n: int) -> list[dict]:
    """``n`` orders paid at the (fake) Stripe, and the events Stripe sent for them."""
    from extensions import db
    from models import Variant
    from services import auth, payments, stock, stores
    from services import products as product_service
    from tenancy import tenant_scope

    with app.app_context():
        store = stores.create_store("bench", "Bench", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            product = product_service.create_product({"title": "Card", "variants": [{"title": "10", "price": 1000}]})
            variant = db.session.query(Variant).filter(Variant.product_id == product.id).one()
            stock.import_stock(variant, "\n".join(f"HOOK-{i:07d}" for i in range(n + 10)))
            payments.set_methods(store, {"STRIPE": True})
            user = auth.create_user(username="bencher", email="bench@example.com", password="bench-password-1")
            db.session.commit()
            with app.test_request_context():
                token = auth.issue_tokens(user)["access_token"]
            variant_id = variant.id
    client, headers = app.test_client(), {"Authorization": f"Bearer {token}"}
    events = []
    for _ in range(n):
        assert client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": 1},
                           headers=headers).status_code in (200, 201)
        placed = client.post("/api/orders/checkout", json={"payment_method": "STRIPE"}, headers=headers)
        assert placed.status_code == 201, placed.get_json()
        seen = len(fake.events)
        fake.complete_session(placed.get_json()["redirect_url"].rsplit("/", 1)[1])
        events.append({e["type"]: e for e in fake.events[seen:]})
    return events


def deliver(app, fake, events: list[dict]) -> float:
    """Events per second, each POSTed signed to /api/webhooks/stripe."""
    from tests.fakes.stripe_server import sign

    client = app.test_client()
    bodies = [json.dumps(e).encode() for e in events]
    started = time.perf_counter()
    for body in bodies:
        r = client.post("/api/webhooks/stripe", data=body,
                        headers={"Stripe-Signature": sign(body, fake.webhook_secret), "Content-Type": "application/json"})
        assert r.status_code == 200, r.get_json()
    return len(bodies) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--db", default="both")
    args = parser.parse_args()
    from tests.fakes.stripe_server import FakeStripe

    print(f"{'database':<11} {'what':<52} {'per second':>11} {'ms each':>8}")
    with FakeStripe() as fake:
        for backend in backends(args.db):
            settings = {"STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_API_BASE": fake.base_url,
                        "STRIPE_WEBHOOK_SECRET": fake.webhook_secret}
            with bench_app(backend, **settings) as app:
                events = seed(app, fake, args.events)
                rows = [
                    ("checkout.session.completed: verify, store, pay, deliver",
                     deliver(app, fake, [e["checkout.session.completed"] for e in events])),
                    ("the same events again (redelivery: counted only)",
                     deliver(app, fake, [e["checkout.session.completed"] for e in events])),
                    ("payment_intent.succeeded (already paid: ignored)",
                     deliver(app, fake, [e["payment_intent.succeeded"] for e in events])),
                ]
                for what, rate in rows:
                    print(f"{backend:<11} {what:<52} {rate:>11.0f} {1000 / rate:>8.2f}")


if __name__ == "__main__":
    main()
