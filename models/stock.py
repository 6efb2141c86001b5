"""Digital stock: each unit is a secret deliverable, encrypted at rest, sold exactly once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime


class StockBatch(IdMixin, TenantScoped, Base):
    """One import: who, when, what came of it."""

    __tablename__ = "stock_batches"

    variant_id: Mapped[str] = mapped_column(String(36), ForeignKey("variants.id", ondelete="CASCADE"), index=True, nullable=False)
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    supplier: Mapped[str | None] = mapped_column(String(120))
    unit_cost: Mapped[int | None] = mapped_column(BigInteger)  # minor units
    mode: Mapped[str] = mapped_column(String(8), default="add", nullable=False)  # add | set
    total_lines: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    added: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    duplicate_in_file: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    already_known: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    removed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # unsold items a 'set' replaced


class StockItem(IdMixin, TenantScoped, Base):
    """A deliverable. ``deliverable_hash`` (HMAC per store) dedupes forever: a removed item keeps
    its hash but loses its ciphertext, so it can never be imported or sold again."""

    __tablename__ = "stock_items"
    # The hash is an HMAC over (store_id, deliverable), so it is unique per store by itself. A unique
    # index on the hash alone tells PostgreSQL a lookup returns at most one row even when the table's
    # statistics are stale (right after a big import); a (store_id, ...) index made it scan the store.
    __tenant_index__ = False
    __table_args__ = (
        UniqueConstraint("deliverable_hash"),
        # sellable now: not sold, not withdrawn, not held by an order's reservation
        Index("ix_stock_items_sellable", "variant_id", "id",
              sqlite_where=text("is_sold = 0 AND removed_at IS NULL AND order_id IS NULL"),
              postgresql_where=text("is_sold = false AND removed_at IS NULL AND order_id IS NULL")),
        # replacements handed out, by time: the reports' cost without revenue (a few rows, so small)
        Index("ix_stock_items_replacements", "store_id", "sold_at",
              sqlite_where=text("replacement_for_id IS NOT NULL"), postgresql_where=text("replacement_for_id IS NOT NULL")),
    )

    variant_id: Mapped[str] = mapped_column(String(36), ForeignKey("variants.id", ondelete="CASCADE"), index=True, nullable=False)
    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"), index=True, nullable=False)
    batch_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("stock_batches.id", ondelete="SET NULL"), index=True)
    deliverable_encrypted: Mapped[str | None] = mapped_column(Text)  # Fernet token; NULL once removed
    deliverable_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)  # HMAC-SHA256
    is_sold: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    sold_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set while an order holds the item (reserved) and once sold to it
    order_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    order_line_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("order_lines.id", ondelete="SET NULL"), index=True)
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # replacements: the item this one replaced (a replacement), and when this one was replaced
    replacement_for_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("stock_items.id", ondelete="SET NULL"))
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the first time the buyer (or staff) displayed it: when and from where
    first_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_revealed_ip: Mapped[str | None] = mapped_column(String(45))
