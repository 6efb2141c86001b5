"""Review pages: the review card on the buyer's order page (form, refusals next to the field,
the posted review, pending approval), the product page's reviews and rating summary with htmx
paging, and the admin reviews page (access, filters, approve, edit in place, delete)."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import Product, Review, Store
from services import stores as store_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import HX, as_role, new_client, world  # noqa: F401
from tests.web.test_auth_pages import csrf, login


def ann_client(app):
    client = new_client(app)
    assert login(client, "ann").status_code == 302
    return client


def post_review(client, **data):
    page = client.get("/account/orders/1")
    return client.post("/account/orders/1/review", data={"csrf_token": csrf(page.data), **data})


def set_settings(app, store, **values):
    with app.app_context(), tenant_scope(store):
        store_service.update_settings(db.session.get(Store, store.id), values)
        db.session.commit()


def test_the_buyer_reviews_a_completed_order_from_its_page(app, store, world):
    client = ann_client(app)
    page = client.get("/account/orders/1").get_data(as_text=True)
    assert 'data-testid="review-form"' in page and 'name="rating"' in page and "Post anonymously" in page
    # no rating: the form comes back with the message next to the field, nothing written
    refused = post_review(client, text_review="Nice")
    assert refused.status_code == 422 and "Choose a rating" in refused.get_data(as_text=True)
    assert 'data-testid="review-form"' in refused.get_data(as_text=True)
    bad = post_review(client, rating="9")
    assert bad.status_code == 422
    response = post_review(client, rating="5", text_review="Instant <delivery>", anonymous="y")
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/orders/1#review")
    html = client.get("/account/orders/1").get_data(as_text=True)
    assert 'data-testid="review-form"' not in html and "Instant &lt;delivery&gt;" in html and "Anonymous" in html
    assert 'aria-label="5 out of 5 stars"' in html
    again = post_review(client, rating="4")
    assert again.status_code == 422 and "already" in again.get_data(as_text=True)
    product = client.get("/p/netflix-gift").get_data(as_text=True)
    assert 'data-testid="rating-summary"' in product and "Instant &lt;delivery&gt;" in product
    assert 'data-testid="product-rating"' in product


def test_someone_elses_or_an_unfinished_order_has_no_review_form(app, store, world):
    bob = new_client(app)
    assert login(bob, "bob").status_code == 302
    html = bob.get("/account/orders/2").get_data(as_text=True)
    assert 'data-testid="review-form"' not in html  # pending MANUAL order
    assert bob.get("/account/orders/1").status_code == 404
    page = bob.get("/account/orders/2")
    assert bob.post("/account/orders/1/review", data={"csrf_token": csrf(page.data), "rating": "5"}).status_code == 404
    refused = bob.post("/account/orders/2/review", data={"csrf_token": csrf(page.data), "rating": "5"})
    assert refused.status_code == 422 and "completed" in refused.get_data(as_text=True)


def test_with_moderation_the_buyer_sees_the_review_is_pending(app, store, world):
    set_settings(app, store, reviews_require_approval=True)
    client = ann_client(app)
    assert post_review(client, rating="4", text_review="ok").status_code == 303
    html = client.get("/account/orders/1").get_data(as_text=True)
    assert 'data-testid="review-pending"' in html
    assert "No reviews yet." in client.get("/p/netflix-gift").get_data(as_text=True)


def test_product_reviews_page_in_place(app, store, world, make):
    with app.app_context(), tenant_scope(store):
        product = db.session.scalar(select(Product))
        from models import Order

        order_id = db.session.scalar(select(Order.id).where(Order.order_number == 1))
        for n in range(7):  # more than a page (5): extra rows hang off the same order id chain
            db.session.add(Review(order_id=order_id if n == 0 else _extra_order(store), product_id=product.id,
                                  reviewed_by=f"u{n}", rating=1 + n % 5, text_review=f"review {n}",
                                  product_name=product.title))
        db.session.commit()
    client = new_client(app)
    full = client.get("/p/netflix-gift").get_data(as_text=True)
    assert full.count('data-testid="review"') == 5 and 'rel="next"' in full and 'hx-target="#product-reviews"' in full
    fragment = client.get("/p/netflix-gift?page=2", headers={**HX, "HX-Target": "product-reviews"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and text.count('data-testid="review"') == 2
    assert "Page 2 of 2" in text
    assert client.get("/p/netflix-gift?page=2").get_data(as_text=True).count('data-testid="review"') == 2


def _extra_order(store) -> str:
    """A bare COMPLETED order (one review per order) for paging tests."""
    from models import Order
    from services import orders as order_service

    order = Order(order_number=order_service.next_number(), email="x@example.com", status="COMPLETED",
                  payment_method="BALANCE", currency="EUR")
    db.session.add(order)
    db.session.flush()
    return order.id


def test_admin_reviews_page_access_and_actions(app, store, world, make):
    set_settings(app, store, reviews_require_approval=True)
    assert post_review(ann_client(app), rating="3", text_review="fine").status_code == 303
    with app.app_context(), tenant_scope(store):
        review_id = db.session.scalar(select(Review.id))
    user_client, _ = as_role(app, make, store, "USER")
    assert user_client.get("/admin/reviews").status_code == 403
    staff, _ = as_role(app, make, store, "STAFF")
    page = staff.get("/admin/reviews")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "fine" in html and "Waiting" in html and 'data-testid="review-edit"' not in html
    assert 'href="/admin/reviews"' in html  # the nav link
    assert "fine" not in staff.get("/admin/reviews?status=approved", headers=HX).get_data(as_text=True)
    assert "fine" in staff.get("/admin/reviews?status=pending&rating=3", headers=HX).get_data(as_text=True)
    assert "fine" not in staff.get("/admin/reviews?rating=5", headers=HX).get_data(as_text=True)
    token = csrf(page.data)
    approved = staff.post(f"/admin/reviews/{review_id}/approve", data={"csrf_token": token}, headers=HX)
    row = approved.get_data(as_text=True)
    assert approved.status_code == 200 and row.lstrip().startswith("<tr") and "Approved" in row
    assert staff.get(f"/admin/reviews/{review_id}/edit", headers=HX).status_code == 403  # edit is ADMIN
    admin, _ = as_role(app, make, store, "ADMIN")
    form = admin.get(f"/admin/reviews/{review_id}/edit", headers=HX)
    assert form.status_code == 200 and 'data-testid="review-edit-form"' in form.get_data(as_text=True)
    token = csrf(admin.get("/admin/reviews").data)
    saved = admin.post(f"/admin/reviews/{review_id}/edit", data={"csrf_token": token, "rating": "5",
                                                                  "text_review": "great after all"}, headers=HX)
    assert saved.status_code == 200 and "great after all" in saved.get_data(as_text=True)
    bad = admin.post(f"/admin/reviews/{review_id}/edit", data={"csrf_token": token, "rating": "7"}, headers=HX)
    assert bad.status_code == 422
    with app.app_context(), tenant_scope(store):
        product = db.session.scalar(select(Product))
        assert (product.average_rating, product.review_count) == (5.0, 1)
    deleted = staff.post(f"/admin/reviews/{review_id}/delete", data={"csrf_token": csrf(staff.get("/admin/reviews").data)},
                         headers=HX)
    body = deleted.get_data(as_text=True)  # the table again (without the HX-Current-URL: the whole list)
    assert deleted.status_code == 200 and "<html" not in body and "0 reviews" in body and "No reviews match" in body
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Review)) is None
        assert db.session.scalar(select(Product)).review_count == 0
    assert re.search(r"0 reviews", staff.get("/admin/reviews").get_data(as_text=True))


def test_deleting_a_review_in_place_refreshes_the_count_rows_and_pager(app, store, world, make):
    """A review deleted from the list left its count ("3 reviews") and its page as they were: the
    table is read again for the list the admin is looking at (its filters and page)."""
    with app.app_context(), tenant_scope(store):
        from models import Order

        product = db.session.scalar(select(Product))
        first = db.session.scalar(select(Order.id).where(Order.order_number == 1))
        for n in range(23):  # 22 of 4 stars: two pages of 20; one of 2 stars
            db.session.add(Review(order_id=first if n == 0 else _extra_order(store), product_id=product.id,
                                  reviewed_by=f"u{n}", rating=2 if n == 0 else 4, text_review=f"review {n}",
                                  product_name=product.title, is_approved=True))
        db.session.commit()
        ids = {r.text_review: r.id for r in db.session.scalars(select(Review))}
    staff, _ = as_role(app, make, store, "STAFF")
    token = csrf(staff.get("/admin/reviews").data)

    def delete(text: str, looking_at: str) -> str:
        response = staff.post(f"/admin/reviews/{ids[text]}/delete", data={"csrf_token": token},
                              headers={**HX, "HX-Current-URL": f"http://localhost{looking_at}"})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    page_two = delete("review 5", "/admin/reviews?rating=4&page=2")
    assert "21 reviews" in page_two and "Page 2 of 2" in page_two and page_two.count('data-testid="review-row"') == 1
    assert "review 0" not in page_two  # the 2-star one is not in this list
    assert 'href="/admin/reviews?page=1&amp;rating=4"' in page_two  # the pager leads to the list, not the POST
    left = re.search(r'class="review-text-cell">(review \d+)', page_two).group(1)
    back = delete(left, "/admin/reviews?rating=4&page=2")  # the last row of page 2: page 1 is shown
    assert "20 reviews" in back and "Page 2" not in back and back.count('data-testid="review-row"') == 20
    last = delete("review 0", "/admin/reviews?rating=2")
    assert "0 reviews" in last and "No reviews match" in last
