"""A refund takes back the share of a paid 5-star review reward that it removes
(``services.reviews.settle_reward``): a full refund the whole reward, a partial one its share of the
reward; from the buyer's balance with a ledger row of its own, never below zero; nothing when no
reward was paid; given back when a card refund fails; also for a refund made at Stripe's
dashboard; all of it when a dispute is lost (nothing when it is won). What the admin and the
buyer see: the refund's answer, the ledger, the order's timeline."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import BalanceTransaction, OrderEvent, Review, Store, User
from services import balance
from services import stores as store_service
from tests.payments import enable_methods, paid_stripe_order, stripe_post

from .shop import in_store, shop_fixture  # noqa: F401 - the shop fixture


@pytest.fixture
def admin(make, store, shop):
    return shop.h(make.user(store, role="ADMIN", email="admin@example.com"))


def settings(shop, **values) -> None:
    with in_store(shop) as session:
        store_service.update_settings(session.get(Store, shop.store.id), values)
        session.commit()


def place(client, shop, quantity=1) -> dict:
    """A BALANCE order of the digital variant (10.00 each), COMPLETED at once."""
    added = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": quantity},
                        headers=shop.headers)
    assert added.status_code == 200, added.get_json()
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    assert order["status"] == "COMPLETED"
    return order


def review(client, shop, order_id, rating=5):
    response = client.post(f"/api/orders/{order_id}/create-review", json={"rating": rating, "text_review": "Great"},
                           headers=shop.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def refund(client, admin, order_id, **body):
    response = client.post(f"/api/orders/{order_id}/refund", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reward_rows(shop) -> list[tuple[int, str]]:
    """(amount, reason) of the buyer's review_reward ledger rows, oldest first."""
    with in_store(shop) as session:
        return [(r.amount, r.reason) for r in session.scalars(
            select(BalanceTransaction).where(BalanceTransaction.user_id == shop.buyer.id,
                                             BalanceTransaction.kind == "review_reward")
            .order_by(BalanceTransaction.created_at, BalanceTransaction.id))]


def balance_of(shop) -> int:
    """The buyer's balance, checked against the ledger it caches."""
    with in_store(shop) as session:
        cached = session.get(User, shop.buyer.id).balance
        assert cached == balance.ledger_sum(shop.buyer.id) and cached >= 0
        return cached


def reward_events(shop, order_id) -> list[str]:
    with in_store(shop) as session:
        return list(session.scalars(select(OrderEvent.message).where(
            OrderEvent.order_id == order_id, OrderEvent.kind == "review_reward").order_by(OrderEvent.created_at)))


def test_a_full_refund_after_a_rewarded_review_takes_the_reward_back(client, shop, admin):
    settings(shop, review_reward=10)
    order = place(client, shop)  # 10.00 of the buyer's 50.00
    review(client, shop, order["id"])
    assert [amount for amount, _ in reward_rows(shop)] == [100] and balance_of(shop) == 4000 + 100

    answer = refund(client, admin, order["id"])  # everything, to the balance (the order was paid from it)

    assert (answer["reward_taken_back"], answer["reward_not_recovered"]) == (1.0, 0)
    assert answer["refund"]["amount"] == 10.0 and answer["order"]["payment_status"] == "REFUNDED"
    (paid, taken) = reward_rows(shop)
    assert paid[0] == 100 and taken[0] == -100
    assert f"order #{order['order_number']}" in taken[1] and "taken back" in taken[1]
    assert balance_of(shop) == 5000  # the 10.00 back, the 1.00 reward gone
    (event,) = reward_events(shop, order["id"])
    assert event.startswith("Review reward taken back: 1.00 EUR")
    # the buyer sees it in their ledger
    history = client.get("/api/user/balance/history", headers=shop.headers)
    assert history.status_code == 200, history.get_json()
    (row,) = [r for r in history.get_json()["items"] if r["kind"] == "review_reward" and r["amount"] < 0]
    assert row["amount"] == -1.0 and row["order_id"] == order["id"] and "taken back" in row["reason"]


def test_a_partial_refund_takes_back_its_share_and_the_rest_follows(client, shop, admin):
    settings(shop, review_reward=10)
    order = place(client, shop, quantity=2)  # 20.00: a reward of 2.00
    review(client, shop, order["id"])
    before = balance_of(shop)

    first = refund(client, admin, order["id"], amount=5)  # a quarter refunded: a quarter of the reward
    assert (first["reward_taken_back"], first["reward_not_recovered"]) == (0.5, 0)
    assert [amount for amount, _ in reward_rows(shop)] == [200, -50]
    assert balance_of(shop) == before + 500 - 50
    second = refund(client, admin, order["id"], amount=2.5)  # 12.50 kept: a reward of 1.25
    assert second["reward_taken_back"] == 0.25
    rest = refund(client, admin, order["id"])
    assert rest["reward_taken_back"] == 1.25
    assert [amount for amount, _ in reward_rows(shop)] == [200, -50, -25, -125]
    assert balance_of(shop) == before + 2000 - 200


def test_a_reward_paid_after_a_partial_refund_loses_only_the_share_of_a_later_refund(client, shop, admin, make):
    settings(shop, review_reward=10, reviews_require_approval=True)
    order = place(client, shop, quantity=2)  # 20.00
    waiting = review(client, shop, order["id"])
    assert refund(client, admin, order["id"], amount=5)["reward_taken_back"] == 0  # no reward paid yet
    approved = client.patch(f"/api/admin/reviews/{waiting['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.get_json()
    assert [amount for amount, _ in reward_rows(shop)] == [150]  # 10 % of the 15.00 kept
    # 5.00 more refunded: 10.00 of the 15.00 the reward was paid on is kept, so 1.00 of it stays
    assert refund(client, admin, order["id"], amount=5)["reward_taken_back"] == 0.5
    assert [amount for amount, _ in reward_rows(shop)] == [150, -50]


@pytest.mark.parametrize("left", [40, 0])
def test_a_reward_spent_already_takes_what_the_balance_holds_and_never_goes_below_zero(
        app, client, store, shop, admin, stripe_platform, left):
    enable_methods(app, store, "STRIPE")  # (first: it saves the store's row as the fixture holds it)
    settings(shop, review_reward=10)
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)  # 10.00 by card
    review(client, shop, order["id"])
    with in_store(shop) as session:  # the buyer spends their balance, the reward with it
        balance.debit(shop.buyer.id, session.get(User, shop.buyer.id).balance - left, "purchase", reason="spent")
        session.commit()
    assert balance_of(shop) == left

    answer = refund(client, admin, order["id"])  # to the card: nothing comes into the balance

    assert answer["refund"]["destination"] == "provider"
    assert (answer["reward_taken_back"], answer["reward_not_recovered"]) == (left / 100, (100 - left) / 100)
    assert balance_of(shop) == 0
    taken = [(amount, reason) for amount, reason in reward_rows(shop) if amount < 0]
    if left:
        ((amount, reason),) = taken
        assert amount == -left and "0.40 EUR of 1.00 EUR" in reason
    else:
        assert taken == []  # nothing to take: no ledger row of 0
    (event,) = reward_events(shop, order["id"])
    assert f"{left / 100:.2f} EUR of 1.00 EUR" in event
    assert f"{(100 - left) / 100:.2f} EUR stays with them" in event


@pytest.mark.parametrize("case", ["four_stars", "no_reward_setting", "no_review"])
def test_no_reward_paid_means_nothing_is_taken_back(client, shop, admin, case):
    settings(shop, review_reward=0 if case == "no_reward_setting" else 10)
    order = place(client, shop)
    if case != "no_review":
        review(client, shop, order["id"], rating=4 if case == "four_stars" else 5)
    before = balance_of(shop)

    answer = refund(client, admin, order["id"])

    assert (answer["reward_taken_back"], answer["reward_not_recovered"]) == (0, 0)
    assert reward_rows(shop) == [] and reward_events(shop, order["id"]) == []
    assert balance_of(shop) == before + 1000  # the refund, all of it


def test_a_card_refund_that_fails_gives_the_reward_back(app, client, store, shop, admin, stripe_platform):
    enable_methods(app, store, "STRIPE")  # (first: it saves the store's row as the fixture holds it)
    settings(shop, review_reward=10)
    order, _ = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    review(client, shop, order["id"])
    before = balance_of(shop)
    stripe_platform.fail_next("/v1/refunds", 400, code="charge_disputed", message="This charge is disputed.")

    answer = refund(client, admin, order["id"], amount=5)  # taken back at once; the job then fails

    assert answer["reward_taken_back"] == 0.5
    assert [amount for amount, _ in reward_rows(shop)] == [100, -50, 50]
    assert "given back" in reward_rows(shop)[-1][1]
    assert balance_of(shop) == before
    assert [e.split(":")[0] for e in reward_events(shop, order["id"])] == ["Review reward taken back",
                                                                          "Review reward given back"]


def test_a_refund_made_at_stripes_dashboard_takes_its_share_too(app, client, store, shop, stripe_platform):
    from integrations.stripe import StripeGateway

    enable_methods(app, store, "STRIPE")  # (first: it saves the store's row as the fixture holds it)
    settings(shop, review_reward=10)
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    review(client, shop, order["id"])
    before = balance_of(shop)
    seen = len(stripe_platform.events)
    StripeGateway(api_key="sk_test_dashboard", api_base=stripe_platform.base_url).refund(
        pi, 600, idempotency_key=f"dashboard:{pi}")
    (event,) = [e for e in stripe_platform.events[seen:] if e["type"] == "charge.refunded"]
    for _ in range(2):  # delivered twice: booked, and taken back, once
        assert stripe_post(client, stripe_platform, event).status_code == 200
    assert [amount for amount, _ in reward_rows(shop)] == [100, -60]
    assert balance_of(shop) == before - 60
    with in_store(shop) as session:
        assert session.scalar(select(Review.reward_basis).where(Review.order_id == order["id"])) == 1000


# --- disputes: a chargeback lost takes the money back as a full refund does ------------------------

def dispute(client, stripe_platform, pi, outcome) -> dict:
    """The cardholder disputes the payment and the dispute closes ``outcome``; each event delivered
    twice, as Stripe may. The closing event."""
    seen = len(stripe_platform.events)
    opened = stripe_platform.open_dispute(pi, reason="fraudulent")
    stripe_platform.close_dispute(opened["id"], outcome)
    created, closed = stripe_platform.events[seen:seen + 2]
    for event in (created, created, closed, closed):
        assert stripe_post(client, stripe_platform, event).status_code == 200
    return closed


@pytest.mark.parametrize("left", [None, 30])
def test_a_lost_dispute_takes_the_reward_back_once(app, client, store, shop, admin, stripe_platform, left):
    enable_methods(app, store, "STRIPE")  # (first: it saves the store's row as the fixture holds it)
    settings(shop, review_reward=10)
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)  # 10.00 by card
    review(client, shop, order["id"])
    if left is not None:  # the buyer spent their balance, the reward with most of it
        with in_store(shop) as session:
            balance.debit(shop.buyer.id, session.get(User, shop.buyer.id).balance - left, "purchase", reason="spent")
            session.commit()
    before = balance_of(shop)

    closed = dispute(client, stripe_platform, pi, "lost")

    shown = client.get(f"/api/orders/{order['id']}", headers=admin).get_json()
    assert (shown["payment_status"], shown["dispute_status"]) == ("DISPUTED", "lost")
    taken = 100 if left is None else left
    assert balance_of(shop) == before - taken >= 0
    ((paid, _), (amount, reason)) = reward_rows(shop)
    assert (paid, amount) == (100, -taken)
    assert f"order #{order['order_number']}" in reason and "taken back after a lost dispute" in reason
    (event,) = reward_events(shop, order["id"])
    if left is None:
        assert event.startswith("Review reward taken back: 1.00 EUR") and "dispute was lost" in event
    else:
        assert "0.30 EUR of 1.00 EUR" in event and "0.70 EUR stays with them" in event
    # the closing processed again by an admin moves nothing more
    events = client.get("/api/payments/events", headers=admin).get_json()["items"]
    (stored,) = [e for e in events if e["type"] == "charge.dispute.closed"]
    assert (stored["event_id"], stored["deliveries"]) == (closed["id"], 2)  # stored once, delivered twice
    assert client.post(f"/api/payments/events/{stored['id']}/process", headers=admin).status_code == 202
    assert len(reward_rows(shop)) == 2 and len(reward_events(shop, order["id"])) == 1
    assert balance_of(shop) == before - taken


def test_a_won_dispute_leaves_the_reward_alone(app, client, store, shop, admin, stripe_platform):
    enable_methods(app, store, "STRIPE")  # (first: it saves the store's row as the fixture holds it)
    settings(shop, review_reward=10)
    order, pi = paid_stripe_order(client, shop.headers, shop.digital, stripe_platform)
    review(client, shop, order["id"])
    before = balance_of(shop)

    dispute(client, stripe_platform, pi, "won")

    shown = client.get(f"/api/orders/{order['id']}", headers=admin).get_json()
    assert (shown["payment_status"], shown["dispute_status"]) == ("PAID", "won")
    assert [amount for amount, _ in reward_rows(shop)] == [100]
    assert reward_events(shop, order["id"]) == [] and balance_of(shop) == before
