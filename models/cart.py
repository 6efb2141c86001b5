"""Carts: one per signed-in user or guest key, with their lines."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow


class Cart(IdMixin, TenantScoped, Base):
    """One per signed-in user, or per guest key (guest token id, X-Session-ID or browser session)."""

    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("store_id", "user_id"), UniqueConstraint("store_id", "guest_key"))

    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    guest_key: Mapped[str | None] = mapped_column(String(80))
    coupon_code: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    items: Mapped[list[CartItem]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                 order_by="CartItem.created_at")


class CartItem(IdMixin, TenantScoped, Base):
    __tablename__ = "cart_items"
    __table_args__ = (UniqueConstraint("cart_id", "variant_id"), CheckConstraint("quantity > 0", name="quantity_positive"))

    cart_id: Mapped[str] = mapped_column(String(36), ForeignKey("carts.id", ondelete="CASCADE"), index=True, nullable=False)
    variant_id: Mapped[str] = mapped_column(String(36), ForeignKey("variants.id", ondelete="CASCADE"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    # The unit price the shopper saw when adding or last reviewing the line: a checkout at another
    # price is refused until they have seen the new one.
    seen_price: Mapped[int] = mapped_column(BigInteger, nullable=False)
