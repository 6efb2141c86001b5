"""The wishlist (Seed A, the ``wishlist`` addon): a shopper's saved products, and the one secret
link that shows them to others (only the link's SHA-256 is stored, like a guest's order link)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped


class WishlistItem(IdMixin, TenantScoped, Base):
    """One saved product. The unique (user, product) pair makes adding idempotent, also when two
    requests add the same product at once (``services.wishlist.add``)."""

    __tablename__ = "wishlist_items"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"),
                                            nullable=False, index=True)


class WishlistShare(IdMixin, TenantScoped, Base):
    """A user's share link: at most one (sharing again replaces it, revoking deletes the row)."""

    __tablename__ = "wishlist_shares"

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
                                         unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)  # SHA-256 of the link's secret
