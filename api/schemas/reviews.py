"""Review schemas (Seed B field names)."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from models import Review

from .common import Output, PageQuery


class ReviewOut(Output):
    id: str
    order_id: str
    product_id: str | None
    reviewed_by: str
    rating: int
    text_review: str
    product_name: str
    product_image: str | None
    is_automatic: bool
    created_at: datetime
    creation_unix: int

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls(id=review.id, order_id=review.order_id, product_id=review.product_id, reviewed_by=review.reviewed_by,
                   rating=review.rating, text_review=review.text_review, product_name=review.product_name,
                   product_image=review.product_image, is_automatic=review.is_automatic,
                   created_at=review.created_at, creation_unix=int(review.created_at.timestamp()))


class ReviewQuery(PageQuery):
    sort_by: str = Field("newest", pattern="^(newest|oldest|highest|lowest)$")


class RatingOut(Output):
    product_id: str
    average_rating: float
    review_count: int
    distribution: dict[str, int]
