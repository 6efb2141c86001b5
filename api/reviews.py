"""Public review lists and ratings (Seed B Group 2, Seed A "Reviews: Public")."""
from __future__ import annotations

from apiflask import APIBlueprint

from services import products as product_service
from services import reviews

from .access import access
from .schemas.common import page_of
from .schemas.reviews import RatingOut, ReviewOut, ReviewQuery

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
