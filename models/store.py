"""Stores (tenants). A store is the root of every store-owned row."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, UTCDateTime, utcnow

STORE_STATUSES = ("active", "suspended", "deleted")


class Store(IdMixin, Base):
    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'deleted')", name="status"),
    )

    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    custom_domain: Mapped[str | None] = mapped_column(String(253), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)
    currency: Mapped[str] = mapped_column(String(3), default="EUR", nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    # The Seed B StoreConfig (payment methods, links, review settings, announcement bar,
    # branding ...), validated by services.stores.StoreSettings, which supplies defaults.
    settings: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    # The active CMS pages the shop's footer and nav link to ([{title, slug, in_footer, in_nav}]),
    # kept by services.pages on every page change: the row every request reads already carries them.
    page_links: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    # the platform's side (services.plans, services.tenants)
    plan_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # soft delete: purged after the grace period

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __repr__(self) -> str:
        return f"<Store {self.slug}>"
