"""Review schemas (Seed B field names)."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field, StrictBool, StrictInt

from models import Review

from .common import Input, Output, PageQuery


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
    is_approved: bool
    created_at: datetime
    creation_unix: int

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls(id=review.id, order_id=review.order_id, product_id=review.product_id, reviewed_by=review.reviewed_by,
                   rating=review.rating, text_review=review.text_review, product_name=review.product_name,
                   product_image=review.product_image, is_automatic=review.is_automatic,
                   is_approved=review.is_approved,
                   created_at=review.created_at, creation_unix=int(review.created_at.timestamp()))


class ReviewQuery(PageQuery):
    sort_by: str = Field("newest", pattern="^(newest|oldest|highest|lowest)$")


class RatingOut(Output):
    product_id: str
    average_rating: float
    review_count: int
    distribution: dict[str, int]


class ReviewIn(Input):
    """A buyer's review: `rating` (a whole number 1-5), `text_review` (plain text, at most 2000
    characters; `textReview` and `text` are accepted too) and `anonymous` (shown as "Anonymous")."""

    rating: StrictInt
    text_review: str = Field("", max_length=2000,
                             validation_alias=AliasChoices("text_review", "textReview", "text"))
    anonymous: StrictBool = False


class ProductReviewIn(ReviewIn):
    """Seed A: optionally the `order_id` of the buyer's COMPLETED order of this product (else the
    latest one not reviewed yet)."""

    order_id: str | None = Field(None, max_length=36, validation_alias=AliasChoices("order_id", "orderId"))


class ReviewEditIn(Input):
    """Staff: the new `rating` and/or `text_review` (what is left out stays)."""

    rating: StrictInt | None = None
    text_review: str | None = Field(None, max_length=2000,
                                    validation_alias=AliasChoices("text_review", "textReview", "text"))


class AdminReviewQuery(PageQuery):
    status: str | None = Field(None, pattern="^(pending|approved|automatic)$")
    product_id: str | None = Field(None, max_length=36)
    rating: int | None = Field(None, ge=1, le=5)


class AdminReviewOut(ReviewOut):
    user_id: str | None
    anonymous: bool
    approved_at: datetime | None
    approved_by_id: str | None
    updated_at: datetime
    reward_credited: bool
    reward_transaction_id: str | None

    @classmethod
    def of(cls, review: Review) -> AdminReviewOut:
        base = ReviewOut.of(review).model_dump()
        return cls(**base, user_id=review.user_id, anonymous=review.anonymous,
                   approved_at=review.approved_at, approved_by_id=review.approved_by_id,
                   updated_at=review.updated_at, reward_credited=review.reward_credited,
                   reward_transaction_id=review.reward_transaction_id)
