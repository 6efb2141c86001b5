"""A customer's saved postal addresses (Seed A "Addresses")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow


class Address(IdMixin, TenantScoped, Base):
    """One address of one user. At most one default shipping and one default billing address per
    user: partial unique indexes (both databases) back ``services.addresses``, which clears the old
    default in the same statement order under the user's row lock."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("uq_addresses_default_shipping", "user_id", unique=True,
              sqlite_where=text("is_default_shipping"), postgresql_where=text("is_default_shipping")),
        Index("uq_addresses_default_billing", "user_id", unique=True,
              sqlite_where=text("is_default_billing"), postgresql_where=text("is_default_billing")),
    )

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                         nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    company: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    line1: Mapped[str] = mapped_column(String(200), nullable=False)
    line2: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    city: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    region: Mapped[str] = mapped_column(String(120), default="", nullable=False)
    postal_code: Mapped[str] = mapped_column(String(20), default="", nullable=False)
    country: Mapped[str] = mapped_column(String(2), nullable=False)  # ISO 3166-1 alpha-2
    phone: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    is_default_shipping: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_default_billing: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
