"""Plans and addons (Seed A "Plans"): what the platform sells to a store. Platform rows, not
store-owned: a store points at its plan (``Store.plan_id``) and lists its addons (``store_addons``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, UTCDateTime, utcnow

# The features a plan or an addon switches on (``services.plans.require_feature``)
FEATURES = ("wishlist", "campaigns", "moloni", "custom_theme")
# The plan a fresh install (and every store created without one) gets: everything, no limits
DEFAULT_PLAN_SLUG = "everything"


class Plan(IdMixin, Base):
    __tablename__ = "plans"

    slug: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    monthly_price: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # minor units
    currency: Mapped[str] = mapped_column(String(3), default="EUR", nullable=False)
    max_products: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    max_staff: Mapped[int | None] = mapped_column(Integer)  # staff seats (STAFF, MANAGER, ADMIN); None: unlimited
    custom_domain_allowed: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    features: Mapped[list] = mapped_column(JSON, default=list, nullable=False)  # addon slugs included
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)  # offered to new stores
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Addon(IdMixin, Base):
    __tablename__ = "addons"

    slug: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    monthly_price: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="EUR", nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)


# A store's addons: the platform's billing data about a store (not store-owned data)
store_addons = Table(
    "store_addons", Base.metadata,
    Column("store_id", String(36), ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
    Column("addon_id", String(36), ForeignKey("addons.id", ondelete="RESTRICT"), primary_key=True, index=True),
    Column("created_at", UTCDateTime(), default=utcnow, nullable=False),
)
