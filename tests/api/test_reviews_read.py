"""Public review lists and ratings: only approved reviews, per store, paginated."""
from __future__ import annotations

from models import Order, Review
from services import products as product_service


def _seed(make, store, ratings, *, approved=True, title="Steam Card"):
    with make.scope(store) as session:
        product = product_service.create_product({"title": title, "variants": [{"title": "10", "price": 1000}]})
        for i, rating in enumerate(ratings):
            order = Order(order_number=1000 + i + (0 if approved else 500), email=f"r{i}@example.com",
                          payment_method="BALANCE", currency="EUR", status="COMPLETED", payment_status="PAID")
            session.add(order)
            session.flush()
            session.add(Review(order_id=order.id, product_id=product.id, reviewed_by=f"buyer{i}", rating=rating,
                               text_review=f"review {i}", product_name=product.title, is_approved=approved))
        session.flush()
        return product.id, product.slug


def test_product_reviews_and_rating_show_only_approved_ones(client, store, make):
    product_id, slug = _seed(make, store, [5, 4, 4])
    _seed(make, store, [1], approved=False, title="Other")
    body = client.get(f"/api/products/{product_id}/reviews?sort_by=highest").get_json()
    assert body["total"] == 3 and [r["rating"] for r in body["items"]] == [5, 4, 4]
    assert body["items"][0]["reviewed_by"] == "buyer0" and body["items"][0]["text_review"] == "review 0"
    seed_b = client.get(f"/api/reviews/{slug}?page_size=2").get_json()
    assert seed_b["total"] == 3 and seed_b["pages"] == 2 and len(seed_b["items"]) == 2
    rating = client.get(f"/api/products/{product_id}/rating").get_json()
    assert rating == {"product_id": product_id, "average_rating": 4.3, "review_count": 3,
                      "distribution": {"5": 1, "4": 2, "3": 0, "2": 0, "1": 0}}
    everything = client.get("/api/reviews/all").get_json()
    assert everything["total"] == 3  # the unapproved one stays hidden


def test_reviews_of_another_store_and_bad_input(client, store, other_store, make):
    product_id, _ = _seed(make, other_store, [5])
    assert client.get(f"/api/products/{product_id}/reviews").status_code == 404
    assert client.get("/api/reviews/all").get_json()["total"] == 0
    own, _ = _seed(make, store, [3])
    bad = client.get(f"/api/products/{own}/reviews?sort_by=random")
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_error"
    assert client.get("/api/products/nope/rating").status_code == 404
