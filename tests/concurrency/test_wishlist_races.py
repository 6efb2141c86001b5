"""Adding the same product to a wishlist from many requests at once keeps one row, and every
request answers 200/201 (never a 409 or a 500)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from extensions import db
from models import Store, WishlistItem
from services import auth as auth_service
from services import products as product_service
from tenancy import tenant_scope
from tests.concurrency.conftest import call


def test_concurrent_adds_of_one_product_make_one_row(live):
    base, app, store_id = live
    with app.app_context():
        store = db.session.get(Store, store_id)
        with tenant_scope(store):
            auth_service.create_user(username="racer", email="racer@example.com", password="a-long-password-1",
                                     check_strength=False)
            product_id = product_service.create_product(
                {"title": "Race Dice", "variants": [{"title": "Standard", "price": 500}]}).id
            db.session.commit()
    status, body = call(base, "POST", "/api/auth/login", body={"email": "racer@example.com",
                                                               "password": "a-long-password-1"})
    assert status == 200, body
    token = body["access_token"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: call(base, "POST", "/api/wishlist", token=token,
                                               body={"product_id": product_id}), range(16)))
    statuses = sorted(status for status, _ in answers)
    assert set(statuses) <= {200, 201}, answers
    assert statuses.count(201) == 1, statuses
    assert len({b["item"]["product_id"] for _, b in answers}) == 1
    with app.app_context():
        with tenant_scope(db.session.get(Store, store_id)):
            assert db.session.scalar(select(func.count()).select_from(WishlistItem)) == 1
