"""Coupons and their uses (one row per order that used one)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime


class Coupon(IdMixin, TenantScoped, Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("store_id", "code"),
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("uses_count >= 0", name="uses_not_negative"),
        CheckConstraint("max_uses IS NULL OR uses_count <= max_uses", name="uses_within_limit"),
    )

    code: Mapped[str] = mapped_column(String(40), nullable=False)  # stored upper-case
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)  # percent: basis points; fixed: minor units
    min_subtotal: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    uses_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    product_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"))
    category_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("categories.id", ondelete="CASCADE"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    description: Mapped[str] = mapped_column(String(255), default="", nullable=False)


class CouponRedemption(IdMixin, TenantScoped, Base):
    __tablename__ = "coupon_redemptions"
    __table_args__ = (UniqueConstraint("order_id"),)

    coupon_id: Mapped[str] = mapped_column(String(36), ForeignKey("coupons.id", ondelete="CASCADE"), index=True, nullable=False)
    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    customer_key: Mapped[str] = mapped_column(String(254), nullable=False, index=True)  # user id or guest email
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
