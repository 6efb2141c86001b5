"""Reading reviews: the public lists and a product's rating summary. Only approved reviews show.
(Writing them — one per completed order, rewards, enforced ratings — is the reviews issue.)"""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Product, Review

from .errors import Invalid
from .pagination import paginate

SORTS = {
    "newest": (Review.created_at.desc(),),
    "oldest": (Review.created_at.asc(),),
    "highest": (Review.rating.desc(), Review.created_at.desc()),
    "lowest": (Review.rating.asc(), Review.created_at.desc()),
}


def list_reviews(*, product: Product | None = None, sort_by: str = "newest", page: int = 1, page_size: int = 20) -> dict:
    if sort_by not in SORTS:
        raise Invalid("sort_by must be newest, oldest, highest or lowest", details={"sort_by": list(SORTS)})
    stmt = select(Review).where(Review.is_approved.is_(True))
    if product is not None:
        stmt = stmt.where(Review.product_id == product.id)
    return paginate(stmt.order_by(*SORTS[sort_by], Review.id), page=page, page_size=page_size)


def rating_summary(product: Product) -> dict:
    """Average (one decimal), count and how many reviews gave each star."""
    rows = dict(db.session.execute(select(Review.rating, func.count()).where(
        Review.product_id == product.id, Review.is_approved.is_(True)).group_by(Review.rating)).all())
    count = sum(rows.values())
    average = round(sum(star * n for star, n in rows.items()) / count, 1) if count else 0.0
    return {"product_id": product.id, "average_rating": average, "review_count": count,
            "distribution": {str(star): rows.get(star, 0) for star in range(5, 0, -1)}}
