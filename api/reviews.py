"""Reviews: the public lists and ratings (Seed B Group 2, Seed A "Reviews: Public"), the buyer's
review of a completed order, and moderation (approve, edit, delete) for staff."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import orders as order_service
from services import products as product_service
from services import reviews

from .access import access, require_user
from .schemas.common import Message, page_of
from .schemas.reviews import (
    AdminReviewOut,
    AdminReviewQuery,
    ProductReviewIn,
    RatingOut,
    ReviewEditIn,
    ReviewIn,
    ReviewOut,
    ReviewQuery,
)

bp = APIBlueprint("api_reviews", __name__, url_prefix="/api", tag="Reviews")


def _page(page: dict) -> dict:
    return {**page, "items": [ReviewOut.of(r) for r in page["items"]]}


@bp.get("/reviews/all")
@access("public")
@bp.input(ReviewQuery, location="query", arg_name="query")
@bp.output(page_of(ReviewOut))
def all_reviews(query: ReviewQuery):
    """Every approved review of the store, newest first (`sort_by`: newest, oldest, highest, lowest)."""
    return _page(reviews.list_reviews(sort_by=query.sort_by, page=query.page, page_size=query.page_size))


@bp.get("/reviews/<product_id>")
@access("public")
@bp.input(ReviewQuery, location="query", arg_name="query")
@bp.output(page_of(ReviewOut))
def product_reviews_b(product_id: str, query: ReviewQuery):
    """Seed B: the approved reviews of one product (by id or slug), paginated."""
    product = product_service.get_product(product_id, with_details=False)
    return _page(reviews.list_reviews(product=product, sort_by=query.sort_by, page=query.page,
                                      page_size=query.page_size))


@bp.get("/products/<product_id>/reviews")
@access("public")
@bp.input(ReviewQuery, location="query", arg_name="query")
@bp.output(page_of(ReviewOut))
def product_reviews(product_id: str, query: ReviewQuery):
    """Seed A: the approved reviews of a product (`sort_by`: newest, oldest, highest, lowest), paginated."""
    product = product_service.get_product(product_id, with_details=False)
    return _page(reviews.list_reviews(product=product, sort_by=query.sort_by, page=query.page,
                                      page_size=query.page_size))


@bp.get("/products/<product_id>/rating")
@access("public")
@bp.output(RatingOut)
def product_rating(product_id: str):
    """A product's rating: average (one decimal), count and the number of reviews per star."""
    return reviews.rating_summary(product_service.get_product(product_id, with_details=False))


# --- writing (the buyer) ------------------------------------------------------------------

REFUSALS = {404: "Not the caller's order (`not_your_order`), or the product is not in it",
            409: "The order is not COMPLETED (`order_not_completed`) or has a review (`already_reviewed`)",
            422: "The rating is not a whole number 1-5 (`invalid_rating`), or the text is too long"}


@bp.post("/orders/<order_id>/create-review")
@access("user")
@bp.input(ReviewIn, arg_name="body")
@bp.output(AdminReviewOut, status_code=201)
@bp.doc(responses=REFUSALS)
def create_review(order_id: str, body: ReviewIn):
    """Seed B: the buyer reviews their COMPLETED order, once (`rating` 1-5, `text_review`, `anonymous`).

    With the store's `reviews_require_approval` on, it waits for approval before it shows; a
    5-star review earns the store's `review_reward` share of the order total, once (when approved).
    """
    user = require_user()
    order = order_service.get_order(order_id, with_lines=False)
    review = reviews.create_review(order, user, rating=body.rating, text=body.text_review, anonymous=body.anonymous)
    return AdminReviewOut.of(review)


@bp.post("/products/<product_id>/reviews")
@access("user")
@bp.input(ProductReviewIn, arg_name="body")
@bp.output(AdminReviewOut, status_code=201)
@bp.doc(responses=REFUSALS)
def review_product(product_id: str, body: ProductReviewIn):
    """Seed A: review a product through one of the caller's COMPLETED orders of it (`order_id`),
    or the latest one not reviewed yet."""
    user = require_user()
    product = product_service.get_product(product_id, with_details=False)
    review = reviews.create_for_product(product, user, order_id=body.order_id, rating=body.rating,
                                        text=body.text_review, anonymous=body.anonymous)
    return AdminReviewOut.of(review)


# --- moderation (staff) ---------------------------------------------------------------------

@bp.get("/admin/reviews")
@access("staff")
@bp.input(AdminReviewQuery, location="query", arg_name="query")
@bp.output(page_of(AdminReviewOut))
def admin_reviews(query: AdminReviewQuery):
    """Every review of the store, newest first (filters: `status` pending, approved or automatic;
    `product_id`; `rating`), paginated."""
    page = reviews.admin_list(status=query.status, product_id=query.product_id, rating=query.rating,
                              page=query.page, page_size=query.page_size)
    return {**page, "items": [AdminReviewOut.of(r) for r in page["items"]]}


@bp.patch("/admin/reviews/<review_id>/approve")
@access("staff")
@bp.output(AdminReviewOut)
@bp.doc(responses={404: "No such review"})
def approve_review(review_id: str):
    """Approve a review waiting for moderation (again: no change). A 5-star review's reward is paid now, once."""
    return AdminReviewOut.of(reviews.approve(reviews.get_review(review_id), actor=require_user()))


@bp.post("/admin/reviews/<review_id>/edit")
@access("admin")
@bp.input(ReviewEditIn, arg_name="body")
@bp.output(AdminReviewOut)
@bp.doc(responses={404: "No such review", 422: "Invalid rating or text"})
def edit_review(review_id: str, body: ReviewEditIn):
    """Edit a review's `rating` and/or `text_review`. Never pays a reward twice."""
    review = reviews.edit(reviews.get_review(review_id), actor=require_user(), rating=body.rating,
                          text=body.text_review)
    return AdminReviewOut.of(review)


@bp.delete("/admin/reviews/<review_id>")
@access("staff")
@bp.output(Message)
@bp.doc(responses={404: "No such review"})
def delete_review(review_id: str):
    """Delete a review (Seed A: Staff+, Seed B: Admin; the more permissive level wins). The
    product's rating is recomputed; a reward already paid stays paid."""
    reviews.delete(reviews.get_review(review_id), actor=require_user())
    return {"message": "Review deleted"}
