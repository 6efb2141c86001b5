"""Replacement requests (Seed B): a buyer asks for a new item in place of a delivered one, inside
the product's warranty; served at once from stock (auto-replace) or by staff."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime

REPLACEMENT_STATUSES = ("PENDING", "APPROVED", "DENIED")


class ReplacementRequest(IdMixin, TenantScoped, Base):
    __tablename__ = "replacement_requests"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'APPROVED', 'DENIED')", name="status"),
        # one open request per delivered item, whatever races
        Index("uq_replacement_requests_open_item", "stock_item_id", unique=True,
              sqlite_where=text("status = 'PENDING'"), postgresql_where=text("status = 'PENDING'")),
    )

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), index=True,
                                          nullable=False)
    order_line_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("order_lines.id", ondelete="SET NULL"))
    stock_item_id: Mapped[str] = mapped_column(String(36), ForeignKey("stock_items.id", ondelete="CASCADE"),
                                               nullable=False)  # the item to replace
    variant_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("variants.id", ondelete="SET NULL"),
                                                   index=True)  # Seed B `subcategory`
    product_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("products.id", ondelete="SET NULL"))
    user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False, index=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)  # served by auto-replace
    waiting_reason: Mapped[str | None] = mapped_column(String(200))  # why a person must look at it
    replacement_item_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("stock_items.id",
                                                                                     ondelete="SET NULL"))
    reason_denied: Mapped[str | None] = mapped_column(String(500))
    resolved_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
