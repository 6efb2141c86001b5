"""Reviews, the write side: every refusal, the once-only 5-star reward (at creation, or at
approval under moderation; never again through edits or deletes), the cached product rating
through create, edit, approve and delete, and the enforced-ratings service."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from models import BalanceTransaction, Order, Product, Review, Store, User
from services import reviews as review_service
from services import stores as store_service

from .conftest import error_code
from .shop import in_store, shop_fixture  # noqa: F401


def place(client, shop, headers=None, quantity=1) -> dict:
    headers = headers or shop.headers
    response = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    response = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["status"] == "COMPLETED"
    return order


def settings(shop, **values) -> None:
    with in_store(shop) as session:
        store_service.update_settings(session.get(Store, shop.store.id), values)
        session.commit()


def rewards(shop) -> list[int]:
    with in_store(shop) as session:
        return list(session.scalars(select(BalanceTransaction.amount).where(
            BalanceTransaction.kind == "review_reward")))


def balance_of(shop) -> int:
    with in_store(shop) as session:
        return session.get(User, shop.buyer.id).balance


def product_cache(shop) -> tuple[float, int]:
    with in_store(shop) as session:
        product = session.get(Product, shop.product)
        return product.average_rating, product.review_count


def review(client, shop, order_id, headers=None, **body):
    return client.post(f"/api/orders/{order_id}/create-review", json={"rating": 5, "text_review": "Great", **body},
                       headers=headers or shop.headers)


def test_a_buyer_reviews_a_completed_order_once(client, shop):
    order = place(client, shop)
    response = review(client, shop, order["id"], rating=4, text_review="  Works <b>fine</b>  ")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["rating"], body["text_review"], body["reviewed_by"]) == (4, "Works <b>fine</b>", "buyer")
    assert body["is_approved"] and not body["is_automatic"] and body["product_id"] == shop.product
    assert body["product_name"] == "Steam Card"
    again = review(client, shop, order["id"])
    assert again.status_code == 409 and error_code(again) == "already_reviewed"
    listed = client.get(f"/api/products/{shop.product}/reviews").get_json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]
    assert product_cache(shop) == (4.0, 1)
    assert client.get(f"/api/products/{shop.product}/rating").get_json()["average_rating"] == 4.0


def test_anonymous_reviews_show_as_anonymous(client, shop):
    order = place(client, shop)
    body = review(client, shop, order["id"], anonymous=True).get_json()
    assert body["reviewed_by"] == "Anonymous" and body["anonymous"] is True


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_outside_1_to_5_is_refused(client, shop, rating):
    order = place(client, shop)
    response = review(client, shop, order["id"], rating=rating)
    assert response.status_code == 422, response.get_json()
    assert error_code(response) in ("invalid_rating", "validation_error")
    with in_store(shop) as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 0


def test_too_long_or_control_character_text_is_refused(client, shop):
    order = place(client, shop)
    assert review(client, shop, order["id"], text_review="x" * 2001).status_code == 422
    assert review(client, shop, order["id"], text_review="bad\x07bell").status_code in (400, 422)
    assert review(client, shop, order["id"], text_review="x" * 2000).status_code == 201


def test_someone_elses_order_reads_as_not_found(client, shop, make):
    order = place(client, shop)
    other = make.user(shop.store)
    response = review(client, shop, order["id"], headers=shop.h(other))
    assert response.status_code == 404 and error_code(response) == "not_your_order"
    staff = make.user(shop.store, role="STAFF")
    assert review(client, shop, order["id"], headers=shop.h(staff)).status_code == 404
    missing = review(client, shop, "00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


def test_an_order_that_is_not_completed_is_refused(client, shop):
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    pending = client.post("/api/orders/checkout", json={"payment_method": "MANUAL"}, headers=shop.headers).get_json()
    assert pending["status"] != "COMPLETED"
    response = review(client, shop, pending["id"])
    assert response.status_code == 409 and error_code(response) == "order_not_completed"


def test_a_guest_token_or_no_token_cannot_review(client, shop):
    order = place(client, shop)
    url = f"/api/orders/{order['id']}/create-review"
    assert client.post(url, json={"rating": 5}).status_code == 401
    guest = client.get("/api/public/guest/token").get_json()["token"]
    assert client.post(url, json={"rating": 5}, headers={"Authorization": f"Bearer {guest}"}).status_code == 401


def test_seed_a_names_an_order_or_takes_the_latest_unreviewed(client, shop):
    first, second = place(client, shop), place(client, shop)
    url = f"/api/products/{shop.product}/reviews"
    latest = client.post(url, json={"rating": 3}, headers=shop.headers)
    assert latest.status_code == 201 and latest.get_json()["order_id"] == second["id"]
    named = client.post(url, json={"rating": 5, "order_id": first["id"]}, headers=shop.headers)
    assert named.status_code == 201 and named.get_json()["order_id"] == first["id"]
    none_left = client.post(url, json={"rating": 5}, headers=shop.headers)
    assert none_left.status_code == 409 and error_code(none_left) == "already_reviewed"
    wrong_product = client.post(f"/api/products/{shop.physical_product}/reviews", json={"rating": 5},
                                headers=shop.headers)
    assert wrong_product.status_code == 409 and error_code(wrong_product) == "order_not_completed"
    not_in_it = client.post(f"/api/products/{shop.physical_product}/reviews",
                            json={"rating": 5, "order_id": first["id"]}, headers=shop.headers)
    assert not_in_it.status_code == 404
    assert product_cache(shop) == (4.0, 2)


def test_five_stars_earn_the_reward_once_at_creation(client, shop, make):
    settings(shop, review_reward=10)
    order = place(client, shop, quantity=2)  # 20.00
    before = balance_of(shop)
    body = review(client, shop, order["id"]).get_json()
    assert rewards(shop) == [200] and balance_of(shop) == before + 200 and body["reward_credited"]
    admin = make.user(shop.store, role="ADMIN")
    for rating in (4, 5, 4, 5):
        edited = client.post(f"/api/admin/reviews/{body['id']}/edit", json={"rating": rating}, headers=shop.h(admin))
        assert edited.status_code == 200 and edited.get_json()["rating"] == rating
    assert rewards(shop) == [200]
    assert client.patch(f"/api/admin/reviews/{body['id']}/approve", headers=shop.h(admin)).status_code == 200
    assert rewards(shop) == [200]
    assert client.delete(f"/api/admin/reviews/{body['id']}", headers=shop.h(admin)).status_code == 200
    assert rewards(shop) == [200] and balance_of(shop) == before + 200  # a paid reward stays paid
    assert product_cache(shop) == (0.0, 0)


def test_less_than_five_stars_or_no_reward_setting_earns_nothing(client, shop):
    order = place(client, shop)
    review(client, shop, order["id"])  # 5 stars, reward 0 %
    settings(shop, review_reward=10)
    four = place(client, shop)
    review(client, shop, four["id"], rating=4)
    assert rewards(shop) == []


def test_with_moderation_the_review_waits_and_the_reward_comes_at_approval(client, shop, make):
    settings(shop, review_reward=5, reviews_require_approval=True)
    order = place(client, shop)  # 10.00 -> 0.50
    body = review(client, shop, order["id"]).get_json()
    assert body["is_approved"] is False and rewards(shop) == []
    assert client.get(f"/api/products/{shop.product}/reviews").get_json()["total"] == 0
    assert product_cache(shop) == (0.0, 0)
    staff = make.user(shop.store, role="STAFF")
    pending = client.get("/api/admin/reviews?status=pending", headers=shop.h(staff)).get_json()
    assert [r["id"] for r in pending["items"]] == [body["id"]]
    approved = client.patch(f"/api/admin/reviews/{body['id']}/approve", headers=shop.h(staff))
    assert approved.status_code == 200 and approved.get_json()["is_approved"] is True
    assert approved.get_json()["approved_by_id"] == staff.id
    assert rewards(shop) == [50] and product_cache(shop) == (5.0, 1)
    assert client.patch(f"/api/admin/reviews/{body['id']}/approve", headers=shop.h(staff)).status_code == 200
    assert rewards(shop) == [50]
    assert client.get("/api/admin/reviews?status=pending", headers=shop.h(staff)).get_json()["total"] == 0


def test_an_edit_to_five_stars_of_a_pending_review_pays_only_at_approval(client, shop, make):
    settings(shop, review_reward=10, reviews_require_approval=True)
    order = place(client, shop)
    body = review(client, shop, order["id"], rating=3).get_json()
    admin = make.user(shop.store, role="ADMIN")
    client.post(f"/api/admin/reviews/{body['id']}/edit", json={"rating": 5}, headers=shop.h(admin))
    assert rewards(shop) == []
    client.patch(f"/api/admin/reviews/{body['id']}/approve", headers=shop.h(admin))
    client.post(f"/api/admin/reviews/{body['id']}/edit", json={"rating": 4}, headers=shop.h(admin))
    client.post(f"/api/admin/reviews/{body['id']}/edit", json={"rating": 5}, headers=shop.h(admin))
    assert rewards(shop) == [100]


def test_the_rating_cache_follows_create_edit_approve_delete(client, shop, make):
    admin = make.user(shop.store, role="ADMIN")
    one, two = place(client, shop), place(client, shop)
    a = review(client, shop, one["id"], rating=5).get_json()
    settings(shop, reviews_require_approval=True)
    b = review(client, shop, two["id"], rating=2).get_json()
    assert product_cache(shop) == (5.0, 1)
    client.patch(f"/api/admin/reviews/{b['id']}/approve", headers=shop.h(admin))
    assert product_cache(shop) == (3.5, 2)
    client.post(f"/api/admin/reviews/{a['id']}/edit", json={"rating": 3, "text_review": "meh"}, headers=shop.h(admin))
    assert product_cache(shop) == (2.5, 2)
    client.delete(f"/api/admin/reviews/{b['id']}", headers=shop.h(admin))
    assert product_cache(shop) == (3.0, 1)
    summary = client.get(f"/api/products/{shop.product}/rating").get_json()
    assert (summary["average_rating"], summary["review_count"]) == (3.0, 1)


def test_admin_list_filters_and_edit_refusals(client, shop, make):
    staff, admin = make.user(shop.store, role="STAFF"), make.user(shop.store, role="ADMIN")
    one, two = place(client, shop), place(client, shop)
    a = review(client, shop, one["id"], rating=5).get_json()
    review(client, shop, two["id"], rating=2)
    h = shop.h(staff)
    assert client.get("/api/admin/reviews", headers=h).get_json()["total"] == 2
    assert [r["id"] for r in client.get("/api/admin/reviews?rating=5", headers=h).get_json()["items"]] == [a["id"]]
    assert client.get(f"/api/admin/reviews?product_id={shop.physical_product}", headers=h).get_json()["total"] == 0
    assert client.get("/api/admin/reviews?status=bogus", headers=h).status_code == 422
    assert client.get("/api/admin/reviews?page_size=1", headers=h).get_json()["pages"] == 2
    # edit is ADMIN only; a bad rating is refused and changes nothing
    assert client.post(f"/api/admin/reviews/{a['id']}/edit", json={"rating": 4}, headers=h).status_code == 403
    bad = client.post(f"/api/admin/reviews/{a['id']}/edit", json={"rating": 9}, headers=shop.h(admin))
    assert bad.status_code == 422 and error_code(bad) == "invalid_rating"
    assert client.post("/api/admin/reviews/00000000-0000-4000-8000-000000000000/edit", json={"rating": 4},
                       headers=shop.h(admin)).status_code == 404
    assert client.delete("/api/admin/reviews/00000000-0000-4000-8000-000000000000", headers=h).status_code == 404
    # staff may delete (Seed A: Staff+)
    assert client.delete(f"/api/admin/reviews/{a['id']}", headers=h).status_code == 200
    assert product_cache(shop) == (2.0, 1)


def test_enforced_ratings_write_an_automatic_five_star_review_without_reward(client, shop):
    settings(shop, review_reward=10)
    old, fresh, reviewed = place(client, shop), place(client, shop), place(client, shop)
    review(client, shop, reviewed["id"], rating=3)
    long_ago = datetime.now(UTC) - timedelta(days=8)
    with in_store(shop) as session:
        session.execute(update(Order).where(Order.id.in_([old["id"], reviewed["id"]]))
                        .values(completed_at=long_ago, created_at=long_ago))
        session.commit()
    with in_store(shop) as session:
        assert review_service.enforce_ratings() == 0  # off by default
        session.rollback()
    settings(shop, enforced_ratings=True)
    with in_store(shop) as session:
        assert review_service.enforce_ratings() == 1
        session.commit()
        auto = session.scalar(select(Review).where(Review.order_id == old["id"]))
        assert auto.is_automatic and auto.rating == 5 and auto.is_approved and not auto.reward_credited
        assert session.scalar(select(Review).where(Review.order_id == fresh["id"])) is None
    with in_store(shop) as session:
        assert review_service.enforce_ratings() == 0  # idempotent
    assert rewards(shop) == [] and product_cache(shop) == (4.0, 2)
    listed = client.get(f"/api/products/{shop.product}/reviews").get_json()["items"]
    assert sorted(r["is_automatic"] for r in listed) == [False, True]
    # an automatic review can be reviewed by the buyer no more
    assert error_code(review(client, shop, old["id"])) == "already_reviewed"


def test_the_reward_is_a_share_of_what_the_buyer_kept_after_a_refund(client, shop, make):
    settings(shop, review_reward=10, reviews_require_approval=True)
    admin = make.user(shop.store, role="ADMIN")
    part, whole = place(client, shop, quantity=2), place(client, shop)  # 20.00 and 10.00
    waiting = [review(client, shop, order["id"]).get_json()["id"] for order in (part, whole)]
    refunded = client.post(f"/api/orders/{part['id']}/refund", json={"amount": 5}, headers=shop.h(admin))
    assert refunded.status_code == 201, refunded.get_json()
    assert client.post(f"/api/orders/{whole['id']}/refund", json={}, headers=shop.h(admin)).status_code == 201
    before = balance_of(shop)
    for review_id in waiting:
        approved = client.patch(f"/api/admin/reviews/{review_id}/approve", headers=shop.h(admin))
        assert approved.status_code == 200 and approved.get_json()["is_approved"] is True
    assert rewards(shop) == [150]  # 10 % of the 15.00 kept; nothing for the order refunded in full
    assert balance_of(shop) == before + 150
