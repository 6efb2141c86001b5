"""Enforced ratings on a real RQ worker: the periodic job fans out per store, and each COMPLETED
order left unreviewed past the store's feedback window gets an automatic 5-star review (no
reward); a recent order and an order with a review are left alone."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from extensions import db
from tenancy import tenant_scope
from tests.jobs.test_jobs import redis_app, run_worker, smtp_server  # noqa: F401


def test_enforced_ratings_job_runs_on_the_worker(redis_app):
    from jobs.schedule import enqueue_due
    from models import BalanceTransaction, Order, Product, Review, Store, User, Variant
    from services import balance, checkout, stock
    from services import cart as cart_service
    from services import products as product_service
    from services import reviews as review_service
    from services import stores as store_service
    from tests.jobs.factories_for_jobs import seed_store_and_user

    application, config = redis_app
    store_id = seed_store_and_user(application, "rater@example.com")
    with application.test_request_context(), tenant_scope(store_id):
        store = db.session.get(Store, store_id)
        store_service.update_settings(store, {"enforced_ratings": True, "review_reward": 10, "feedback_window_days": 7})
        product = product_service.create_product({"title": "Key", "variants": [{"title": "x", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "K1\nK2\nK3")
        buyer = db.session.scalar(select(User).where(User.email == "rater@example.com"))
        balance.credit(buyer.id, 10_000, "topup", reason="test")
        ids = []
        for _ in range(3):
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 1)
            order = checkout.place_order(store, cart, buyer=buyer, method="BALANCE").order
            assert order.status == "COMPLETED"
            ids.append(order.id)
        old, fresh, reviewed = ids
        review_service.create_review(db.session.get(Order, reviewed), buyer, rating=2, text="meh")
        long_ago = datetime.now(UTC) - timedelta(days=8)
        db.session.execute(update(Order).where(Order.id.in_([old, reviewed])).values(completed_at=long_ago))
        db.session.commit()
        product_id = product.id
    with application.app_context():
        assert "enforce_ratings" in enqueue_due(application)
    result = run_worker(config)  # the fan-out, then the store's own job, both on the worker
    assert result.returncode == 0, result.stderr[-3000:]
    with application.app_context(), tenant_scope(store_id):
        auto = db.session.scalar(select(Review).where(Review.order_id == old))
        assert auto is not None and auto.is_automatic and auto.rating == 5 and auto.is_approved
        assert not auto.reward_credited and auto.reviewed_by == "Anonymous"
        assert db.session.scalar(select(Review).where(Review.order_id == fresh)) is None
        assert db.session.scalar(select(Review.rating).where(Review.order_id == reviewed)) == 2
        assert db.session.scalar(select(func.count()).select_from(BalanceTransaction)
                                 .where(BalanceTransaction.kind == "review_reward")) == 0
        cached = db.session.get(Product, product_id)
        assert (cached.average_rating, cached.review_count) == (3.5, 2)
