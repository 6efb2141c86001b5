"""Reviews under concurrency (a live server, every request committed): approving and editing the
same pending review at once, many times over, credits the 5-star reward exactly once per review
(never twice, and never missed), and the cached product rating ends right."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import BalanceTransaction, Order, Product, Review, Role, Store, User, Variant
from services import auth as auth_service
from services import balance, checkout, stock
from services import cart as cart_service
from services import products as product_service
from services import reviews as review_service
from services import stores as store_service
from tenancy import tenant_scope

from .conftest import call, race

ROUNDS = 10


def test_review_approve_and_edit_race_credits_the_reward_once(live):
    base, app, store_id = live
    with app.app_context(), tenant_scope(store_id):
        store = db.session.get(Store, store_id)
        store_service.update_settings(store, {"review_reward": 10, "reviews_require_approval": True})
        product = product_service.create_product({"title": "Review Race", "variants": [{"title": "x", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"RR-{i}" for i in range(ROUNDS)))
        buyer = auth_service.create_user(username="reviewer", email="reviewer@example.com", password="race-pass-123",
                                         role=Role.USER, check_strength=False)
        balance.credit(buyer.id, 1000 * ROUNDS, "topup", reason="race test")
        review_ids = []
        for _ in range(ROUNDS):
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 1)
            order = checkout.place_order(store, cart, buyer=buyer, method="BALANCE").order
            review_ids.append(review_service.create_review(order, buyer, rating=4, text="pending").id)
        staff = auth_service.create_user(username="mod", email="mod@example.com", password="race-pass-123",
                                         role=Role.ADMIN, check_strength=False)
        token = auth_service.issue_tokens(staff)["access_token"]
        buyer_id, product_id = buyer.id, product.id
        db.session.commit()

    for review_id in review_ids:
        actions = [("PATCH", f"/api/admin/reviews/{review_id}/approve", None),
                   ("POST", f"/api/admin/reviews/{review_id}/edit", {"rating": 5}),
                   ("POST", f"/api/admin/reviews/{review_id}/edit", {"rating": 5, "text_review": "great"}),
                   ("PATCH", f"/api/admin/reviews/{review_id}/approve", None)]
        results = race(len(actions), lambda i, a=actions: call(base, a[i][0], a[i][1], token=token, body=a[i][2]))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert [status for status, _ in results] == [200] * len(actions), results

    with app.app_context(), tenant_scope(store_id):
        rows = db.session.execute(select(BalanceTransaction.order_id, BalanceTransaction.amount)
                                  .where(BalanceTransaction.kind == "review_reward")).all()
        orders = set(db.session.scalars(select(Order.id)))
        assert len(rows) == ROUNDS and {order_id for order_id, _ in rows} == orders  # one per review
        assert {amount for _, amount in rows} == {100}
        reviews = db.session.scalars(select(Review)).all()
        assert all(r.reward_credited and r.reward_transaction_id and r.rating == 5 and r.is_approved for r in reviews)
        assert db.session.get(User, buyer_id).balance == balance.ledger_sum(buyer_id) == 100 * ROUNDS
        cached = db.session.get(Product, product_id)
        assert (cached.average_rating, cached.review_count) == (5.0, ROUNDS)
        assert db.session.scalar(select(func.count()).select_from(Review)) == ROUNDS
