"""A review reward taken back by a refund, under concurrency (a live server, every request
committed, SQLite and PostgreSQL):

* the shopper spends the balance that holds the reward while an admin refunds the order to the card:
  either the purchase gets the money and the refund takes back nothing (recorded as not recovered),
  or the refund takes it and the purchase is refused for the balance; the refund never fails, the
  balance never goes below zero and always equals its ledger (``balance.locked_balance``);
* a moderator approves the 5-star review while an admin refunds the order in full: the buyer ends
  with no reward either way (``reviews._reward`` reads the order locked, as the refund locks it).
"""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import BalanceTransaction, Review, Role, Store, User, Variant
from services import auth as auth_service
from services import balance, payments, stock
from services import products as product_service
from services import stores as store_service
from tenancy import tenant_scope

from .conftest import call, race
from .test_payment_races import _post_event

ROUNDS = 8
PRICE, REWARD = 1000, 100  # 10.00 by card, a 10 % reward of 1.00


def _deliver(base: str, fake, event: dict) -> None:
    status, _ = _post_event(base, fake, event)
    assert status == 200


def _shop(app, store_id: str, *, approval: bool = False, methods=("STRIPE", "BALANCE")) -> dict:
    """A 10.00 card product and a 1.00 one, a buyer, an admin; the 10 % review reward on."""
    with app.app_context(), tenant_scope(store_id):
        store = db.session.get(Store, store_id)
        store_service.update_settings(store, {"review_reward": 10, "reviews_require_approval": approval})
        payments.set_methods(store, {name: True for name in methods})
        ids = {}
        for name, price in (("card", PRICE), ("spend", REWARD)):
            product = product_service.create_product({"title": f"Race {name}", "variants": [{"title": "x", "price": price}]})
            variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
            stock.import_stock(variant, "\n".join(f"{name.upper()}-{i}" for i in range(ROUNDS + 2)))
            ids[name] = variant.id
        buyer = auth_service.create_user(username="spender", email="spender@example.com", password="race-pass-123",
                                         role=Role.USER, check_strength=False)
        admin = auth_service.create_user(username="boss", email="boss@example.com", password="race-pass-123",
                                         role=Role.ADMIN, check_strength=False)
        ids.update(buyer_id=buyer.id, buyer=auth_service.issue_tokens(buyer)["access_token"],
                   admin=auth_service.issue_tokens(admin)["access_token"])
        db.session.commit()
        return ids


def _add(base, token, variant_id) -> None:
    status, body = call(base, "POST", "/api/cart/items", token=token, body={"subcategory_id": variant_id, "quantity": 1})
    assert status == 200, body


def _held_reward(app, store_id, order_id) -> int:
    with app.app_context(), tenant_scope(store_id):
        return int(db.session.scalar(select(func.coalesce(func.sum(BalanceTransaction.amount), 0)).where(
            BalanceTransaction.order_id == order_id, BalanceTransaction.kind == "review_reward")))


def _balance(app, store_id, user_id) -> int:
    """The buyer's balance, checked against its ledger and never below zero."""
    with app.app_context(), tenant_scope(store_id):
        cached = db.session.get(User, user_id).balance
        assert cached == balance.ledger_sum(user_id) and cached >= 0
        return cached


def test_spending_the_reward_while_the_order_is_refunded_never_overdraws(live_stripe, fake_stripe):
    base, app, store_id = live_stripe
    shop = _shop(app, store_id)
    fake_stripe.webhook_url = None  # the test delivers the payment's events itself
    for _ in range(ROUNDS):
        _add(base, shop["buyer"], shop["card"])
        status, order = call(base, "POST", "/api/orders/checkout", token=shop["buyer"], body={"payment_method": "STRIPE"})
        assert status == 201, order
        seen = len(fake_stripe.events)
        fake_stripe.complete_session(order["redirect_url"].rsplit("/", 1)[1])
        for event in fake_stripe.events[seen:]:
            _deliver(base, fake_stripe, event)
        status, body = call(base, "POST", f"/api/orders/{order['id']}/create-review", token=shop["buyer"],
                            body={"rating": 5, "text_review": "fast"})
        assert status == 201, body
        assert _balance(app, store_id, shop["buyer_id"]) == REWARD  # the reward is all the balance holds
        _add(base, shop["buyer"], shop["spend"])  # 1.00: exactly the reward

        refund, spend = race(2, lambda i, o=order: (
            call(base, "POST", f"/api/orders/{o['id']}/refund", token=shop["admin"], body={"destination": "provider"})
            if i == 0 else
            call(base, "POST", "/api/orders/checkout", token=shop["buyer"], body={"payment_method": "BALANCE"})))

        assert not isinstance(refund, Exception) and not isinstance(spend, Exception), (refund, spend)
        assert refund[0] == 201, refund  # a refund never fails for a reward the balance no longer holds
        taken, missed = refund[1]["reward_taken_back"], refund[1]["reward_not_recovered"]
        if spend[0] == 201:  # the purchase got the money first: nothing left to take back, and it says so
            assert (taken, missed) == (0, 1.0), refund[1]
            assert _held_reward(app, store_id, order["id"]) == REWARD
        else:  # the refund took the reward first: the purchase finds the balance empty
            assert spend[0] == 409 and spend[1]["error"]["code"] == "insufficient_balance", spend
            assert (taken, missed) == (1.0, 0), refund[1]
            assert _held_reward(app, store_id, order["id"]) == 0
            status, body = call(base, "POST", "/api/user/cart/update", token=shop["buyer"],
                                body={"subcategory_id": shop["spend"], "amount": 0})  # the refused line goes
            assert status == 200, body
        # either way the 1.00 went exactly once (which request won is up to the scheduler; both happen)
        assert _balance(app, store_id, shop["buyer_id"]) == 0


def test_approving_the_review_while_the_order_is_refunded_leaves_no_reward(live):
    base, app, store_id = live
    shop = _shop(app, store_id, approval=True, methods=("BALANCE",))
    with app.app_context(), tenant_scope(store_id):
        balance.credit(shop["buyer_id"], PRICE * ROUNDS, "topup", reason="race test")
        db.session.commit()
    for _ in range(ROUNDS):
        _add(base, shop["buyer"], shop["card"])
        status, order = call(base, "POST", "/api/orders/checkout", token=shop["buyer"],
                             body={"payment_method": "BALANCE"})
        assert status == 201 and order["status"] == "COMPLETED", order
        status, review = call(base, "POST", f"/api/orders/{order['id']}/create-review", token=shop["buyer"],
                              body={"rating": 5, "text_review": "waits"})
        assert status == 201 and review["is_approved"] is False, review

        results = race(2, lambda i, o=order, r=review: (
            call(base, "PATCH", f"/api/admin/reviews/{r['id']}/approve", token=shop["admin"])
            if i == 0 else call(base, "POST", f"/api/orders/{o['id']}/refund", token=shop["admin"], body={})))

        assert [r[0] if not isinstance(r, Exception) else r for r in results] == [200, 201], results
        assert _held_reward(app, store_id, order["id"]) == 0  # paid and taken back, or never paid
    with app.app_context(), tenant_scope(store_id):
        assert db.session.scalar(select(func.count()).select_from(Review).where(Review.is_approved.is_(True))) == ROUNDS
    assert _balance(app, store_id, shop["buyer_id"]) == PRICE * ROUNDS  # every order refunded, no reward kept
