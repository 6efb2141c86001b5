"""Reviews: one per COMPLETED order, by its buyer (RECONCILE.md). Written by the reviews issue;
the catalog reads them (lists, ratings) from here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow


class Review(IdMixin, TenantScoped, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("order_id"),
        CheckConstraint("rating >= 1 AND rating <= 5", name="rating_range"),
    )

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    product_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("products.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reviewed_by: Mapped[str] = mapped_column(String(32), nullable=False)  # username or "Anonymous"
    rating: Mapped[int] = mapped_column(Integer, nullable=False)
    text_review: Mapped[str] = mapped_column(Text, default="", nullable=False)
    product_name: Mapped[str] = mapped_column(String(200), nullable=False)  # denormalised (Seed B)
    product_image: Mapped[str | None] = mapped_column(String(500))
    is_approved: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False, index=True)
    is_automatic: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # enforced ratings
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # the buyer's choice
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    # The 5-star reward: set once by a guarded UPDATE (services.reviews._reward), never cleared,
    # so approve, edit and their races credit the ledger at most once; the row it wrote.
    reward_credited: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    reward_transaction_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("balance_transactions.id", ondelete="SET NULL"), unique=True)
    # What the buyer had kept of the order (total less refunds, minor units) when the reward was
    # paid: the amount it is a share of. A later refund takes back the part it removes
    # (services.reviews.settle_reward); NULL (paid before 0028 and not placed by its backfill): the
    # order's total.
    reward_basis: Mapped[int | None] = mapped_column(BigInteger)
