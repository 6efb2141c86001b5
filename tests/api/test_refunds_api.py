"""Refunds through the API: partial and full card refunds sent to the fake Stripe by the job (one
refund each, keyed ``refund:<id>``), refunds to the balance (a ledger row and an email), every
refusal leaving the money where it was, and a refund Stripe refuses (released, admins told)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import BalanceTransaction, Order, Refund, User
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import checkout, enable_methods, paid_stripe_order, pay_session, row, rows, stripe_post


@pytest.fixture
def admin(make, store, shop):
    return shop.h(make.user(store, role="ADMIN", email="admin@example.com"))


def refund_requests(fake, since: int):
    return [r for r in fake.requests[since:] if r.method == "POST" and r.path == "/v1/refunds"]


def buyer_refund_mails(outbox, email="buyer@example.com"):
    return [m for m in outbox if m.to == [email] and m.subject.startswith("Refund on order #")]


def test_a_partial_then_the_rest_then_a_third_refund(app, client, store, shop, admin, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    charge = stripe_platform.get(pi)["latest_charge"]
    seen = len(stripe_platform.requests)
    events_seen = len(stripe_platform.events)
    first = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 3, "reason": "late"}, headers=admin)
    assert first.status_code == 201, first.get_json()
    answer = first.get_json()
    assert answer["refund"]["status"] == "PENDING" and answer["refund"]["amount"] == 3.0
    assert answer["refund"]["destination"] == "provider"
    assert answer["order"]["payment_status"] == "PARTIALLY_REFUNDED" and answer["order"]["amount_refunded"] == 3.0
    refund = row(app, store, Refund, answer["refund"]["id"])
    assert refund.status == "SUCCEEDED" and refund.provider_ref.startswith("re_")  # the job ran after commit
    (sent,) = refund_requests(stripe_platform, seen)
    assert sent.idempotency_key == f"refund:{refund.id}" and sent.params["amount"] == "300"
    assert stripe_platform.get(charge)["amount_refunded"] == 300
    assert len(buyer_refund_mails(mail_outbox)) == 1
    # Stripe's charge.refunded for it confirms what we booked, and books nothing more
    (refunded_event,) = [e for e in stripe_platform.events[events_seen:] if e["type"] == "charge.refunded"]
    assert stripe_post(client, stripe_platform, refunded_event).status_code == 200
    assert row(app, store, Order, order["id"]).amount_refunded == 300
    assert len(rows(app, store, Refund)) == 1

    rest = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)
    assert rest.status_code == 201, rest.get_json()
    assert rest.get_json()["refund"]["amount"] == 7.0
    saved = row(app, store, Order, order["id"])
    assert (saved.status, saved.payment_status, saved.amount_refunded) == ("REFUNDED", "REFUNDED", 1000)
    assert stripe_platform.get(charge)["amount_refunded"] == 1000
    assert len(refund_requests(stripe_platform, seen)) == 2

    third = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 1}, headers=admin)
    assert third.status_code == 409 and error_code(third) == "already_refunded"
    assert len(refund_requests(stripe_platform, seen)) == 2 and len(rows(app, store, Refund)) == 2
    # the order shows each refund and who made it
    timeline = client.get(f"/api/orders/{order['id']}/timeline", headers=admin).get_json()["items"]
    refunds = [e for e in timeline if e["kind"] == "refund"]
    assert len(refunds) == 2 and all(e["actor"] and e["actor"] in e["message"] for e in refunds), refunds
    assert "3.00" in refunds[0]["message"] and "late" in refunds[0]["message"]


@pytest.mark.parametrize("amount,code", [(10.01, "refund_exceeds_paid"), (0, None), (-3, None), ("abc", None)])
def test_refusals_move_nothing(app, client, store, shop, admin, stripe_platform, amount, code):
    enable_methods(app, store, "STRIPE")
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    seen = len(stripe_platform.requests)
    response = client.post(f"/api/orders/{order['id']}/refund", json={"amount": amount}, headers=admin)
    assert response.status_code == 422, response.get_json()
    if code:
        assert error_code(response) == code
        details = response.get_json()["error"]["details"]  # major units, with the currency (RECONCILE "Money")
        assert (details["refundable"], details["currency"]) == (10.0, "EUR")
    saved = row(app, store, Order, order["id"])
    assert (saved.payment_status, saved.amount_refunded) == ("PAID", 0)
    assert rows(app, store, Refund) == [] and refund_requests(stripe_platform, seen) == []


def test_more_than_what_is_left_after_a_partial_refund_is_refused(app, client, store, shop, admin, stripe_platform):
    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    assert client.post(f"/api/orders/{order['id']}/refund", json={"amount": 6}, headers=admin).status_code == 201
    response = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 4.01}, headers=admin)
    assert response.status_code == 422 and error_code(response) == "refund_exceeds_paid"
    assert row(app, store, Order, order["id"]).amount_refunded == 600
    assert len(rows(app, store, Refund)) == 1


def test_a_card_order_refunded_to_the_balance_credits_the_ledger_and_emails_the_buyer(
        app, client, store, shop, admin, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    seen = len(stripe_platform.requests)
    response = client.post("/api/payments/refund", json={"order_id": order["id"], "amount": 4,
                                                         "destination": "balance"}, headers=admin)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["refund"]["status"] == "SUCCEEDED"
    assert refund_requests(stripe_platform, seen) == []
    (entry,) = rows(app, store, BalanceTransaction, BalanceTransaction.kind == "refund")
    assert entry.amount == 400 and entry.order_id == order["id"] and entry.user_id == shop.buyer.id
    assert row(app, store, User, shop.buyer.id).balance == 5000 + 400
    (mail,) = buyer_refund_mails(mail_outbox)
    assert "4.00" in mail.body and "balance" in mail.body


def test_a_balance_paid_order_is_refunded_to_the_balance_by_default(app, client, store, shop, admin, mail_outbox):
    response = checkout(client, shop.headers, "BALANCE", shop.digital, 2)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["payment_status"] == "PAID"
    assert row(app, store, User, shop.buyer.id).balance == 3000
    refund = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)
    assert refund.status_code == 201, refund.get_json()
    assert refund.get_json()["refund"]["destination"] == "balance" and refund.get_json()["refund"]["amount"] == 20.0
    assert row(app, store, User, shop.buyer.id).balance == 5000
    saved = row(app, store, Order, order["id"])
    assert (saved.status, saved.payment_status) == ("REFUNDED", "REFUNDED")
    assert len(buyer_refund_mails(mail_outbox)) == 1
    card = client.post(f"/api/orders/{order['id']}/refund", json={"destination": "provider"}, headers=admin)
    assert card.status_code == 409 and error_code(card) == "already_refunded"


@pytest.mark.parametrize("body", [{}, {"amount": 1}, {"destination": "balance"}])
def test_a_gift_has_nothing_to_refund(app, client, store, shop, admin, mail_outbox, body):
    gift = client.post("/api/admin/orders/create-and-approve", headers=admin,
                       json={"userId": shop.buyer.id, "subcategoryId": shop.digital, "amount": 1})
    assert gift.status_code == 201 and gift.get_json()["total"] == 0
    response = client.post(f"/api/orders/{gift.get_json()['id']}/refund", json=body, headers=admin)
    assert response.status_code == 409 and error_code(response) == "nothing_to_refund"
    assert "a gift" in response.get_json()["error"]["message"]
    saved = row(app, store, Order, gift.get_json()["id"])
    assert (saved.status, saved.payment_status, saved.amount_refunded) == ("COMPLETED", "PAID", 0)
    assert rows(app, store, Refund) == [] and row(app, store, User, shop.buyer.id).balance == 5000
    assert buyer_refund_mails(mail_outbox) == []


def test_a_guest_order_cannot_be_refunded_to_a_balance(app, client, store, shop, admin, stripe_platform):
    enable_methods(app, store, "STRIPE")
    guest = {"X-Session-ID": "guest-refund-tab"}
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=guest)
    placed = client.post("/api/orders/checkout", json={"payment_method": "STRIPE", "email": "guest@example.com"},
                         headers=guest)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    pay_session(client, stripe_platform, order["redirect_url"].rsplit("/", 1)[1])
    assert row(app, store, Order, order["id"]).payment_status == "PAID"
    response = client.post(f"/api/orders/{order['id']}/refund", json={"destination": "balance"}, headers=admin)
    assert response.status_code == 422 and "destination" in response.get_json()["error"]["details"]
    assert row(app, store, Order, order["id"]).amount_refunded == 0 and rows(app, store, Refund) == []
    to_card = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)
    assert to_card.status_code == 201 and to_card.get_json()["refund"]["destination"] == "provider"


def test_a_refund_stripe_refuses_is_failed_released_and_the_admins_are_told(
        app, client, store, shop, admin, stripe_platform, mail_outbox):
    enable_methods(app, store, "STRIPE")
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    stripe_platform.fail_next("/v1/refunds", 400, code="charge_disputed", message="This charge is disputed.")
    response = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 5}, headers=admin)
    assert response.status_code == 201, response.get_json()
    (refund,) = rows(app, store, Refund)
    assert refund.status == "FAILED" and "disputed" in refund.failure_reason
    saved = row(app, store, Order, order["id"])
    assert (saved.payment_status, saved.amount_refunded) == ("PAID", 0)
    assert stripe_platform.get(stripe_platform.get(pi)["latest_charge"])["amount_refunded"] == 0
    alerts = [m for m in mail_outbox if m.to == ["admin@example.com"]]
    assert [m.subject for m in alerts] == [f"Refund failed on order #{order['order_number']}"]
    assert "disputed" in alerts[0].body
    # the buyer was not told that money is on its way
    assert buyer_refund_mails(mail_outbox) == []
    # the whole amount can be refunded again
    again = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)
    assert again.status_code == 201 and again.get_json()["refund"]["amount"] == 10.0
    assert row(app, store, Order, order["id"]).payment_status == "REFUNDED"


def test_a_refund_failed_twice_releases_its_reservation_once(
        app, client, store, shop, admin, stripe_platform, mail_outbox):
    """A failure that arrives again (a retried job, a webhook racing the job) with a copy of the
    refund read while it was still PENDING finds it settled: it releases nothing of what a later
    refund reserved, and the admins are told once."""
    from sqlalchemy.orm.attributes import set_committed_value

    from models import OrderEvent
    from services import refunds

    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    stripe_platform.fail_next("/v1/refunds", 400, code="charge_disputed", message="This charge is disputed.")
    assert client.post(f"/api/orders/{order['id']}/refund", json={"amount": 5}, headers=admin).status_code == 201
    again = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)  # the whole 10.00 now
    assert again.status_code == 201 and again.get_json()["refund"]["amount"] == 10.0
    assert (row(app, store, Order, order["id"]).amount_refunded, row(app, store, Order, order["id"]).payment_status) \
        == (1000, "REFUNDED")
    with app.app_context(), tenant_scope(store):
        first = db.session.scalar(select(Refund).where(Refund.amount == 500))
        assert first.status == "FAILED"
        set_committed_value(first, "status", "PENDING")  # a copy read before it failed
        assert refunds.fail(first, "the same failure, again") == "already settled"
        db.session.commit()
        events = db.session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order["id"])).all()
    saved = row(app, store, Order, order["id"])
    assert (saved.amount_refunded, saved.payment_status) == (1000, "REFUNDED")
    assert events.count("refund_failed") == 1
    alerts = [m for m in mail_outbox if m.to == ["admin@example.com"]]
    assert [m.subject for m in alerts] == [f"Refund failed on order #{order['order_number']}"]


@pytest.mark.parametrize("role", ["USER", "STAFF", "MANAGER"])
def test_only_admins_refund(app, client, store, shop, make, stripe_platform, role):
    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    headers = shop.h(make.user(store, role=role))
    for path, body in ((f"/api/orders/{order['id']}/refund", {"amount": 1}),
                       ("/api/payments/refund", {"order_id": order["id"], "amount": 1})):
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 403, response.get_json()
    assert client.post("/api/payments/refund", json={"order_id": order["id"]}).status_code == 401
    assert row(app, store, Order, order["id"]).amount_refunded == 0


def test_a_refund_of_an_order_of_another_store_is_a_404(app, client, store, other_store, shop, make, stripe_platform):
    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    admin_b = make.headers(make.user(other_store, role="ADMIN"), other_store)
    response = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 1}, headers=admin_b,
                           base_url="http://other.example.com")
    assert response.status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Order.amount_refunded).where(Order.id == order["id"])) == 0


def test_a_refund_stripe_reports_pending_is_confirmed_by_charge_refunded_and_the_buyer_emailed_once(
        app, client, store, shop, admin, stripe_platform, mail_outbox, monkeypatch):
    enable_methods(app, store, "STRIPE")
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    monkeypatch.setattr(stripe_platform, "refund_status", "pending")
    seen = len(stripe_platform.events)
    response = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 2}, headers=admin)
    assert response.status_code == 201, response.get_json()
    (refund,) = rows(app, store, Refund)
    assert refund.status == "PENDING" and refund.provider_ref.startswith("re_")
    assert buyer_refund_mails(mail_outbox) == []  # not before Stripe says it went through
    (confirmed,) = [e for e in stripe_platform.events[seen:] if e["type"] == "charge.refunded"]
    for _ in range(2):
        assert stripe_post(client, stripe_platform, confirmed).status_code == 200
    assert row(app, store, Refund, refund.id).status == "SUCCEEDED"
    assert row(app, store, Order, order["id"]).amount_refunded == 200
    assert len(buyer_refund_mails(mail_outbox)) == 1


def test_a_refund_made_at_stripes_dashboard_is_booked_once_and_counts_against_what_is_left(
        app, client, store, shop, admin, stripe_platform):
    from integrations.stripe import StripeGateway

    enable_methods(app, store, "STRIPE")
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    dashboard = StripeGateway(api_key="sk_test_dashboard", api_base=stripe_platform.base_url)
    seen = len(stripe_platform.events)
    dashboard.refund(pi, 600, idempotency_key=f"dashboard:{pi}")
    (event,) = [e for e in stripe_platform.events[seen:] if e["type"] == "charge.refunded"]
    for _ in range(3):
        assert stripe_post(client, stripe_platform, event).status_code == 200
    (booked,) = rows(app, store, Refund)
    assert (booked.amount, booked.status, booked.destination) == (600, "SUCCEEDED", "provider")
    saved = row(app, store, Order, order["id"])
    assert (saved.payment_status, saved.amount_refunded) == ("PARTIALLY_REFUNDED", 600)
    too_much = client.post(f"/api/orders/{order['id']}/refund", json={"amount": 5}, headers=admin)
    assert too_much.status_code == 422 and error_code(too_much) == "refund_exceeds_paid"
    rest = client.post(f"/api/orders/{order['id']}/refund", json={}, headers=admin)
    assert rest.status_code == 201 and rest.get_json()["refund"]["amount"] == 4.0
    assert row(app, store, Order, order["id"]).payment_status == "REFUNDED"
    assert stripe_platform.get(stripe_platform.get(pi)["latest_charge"])["amount_refunded"] == 1000
