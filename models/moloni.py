"""Moloni invoicing (the ``moloni`` addon): a store's connection (OAuth2 tokens, encrypted; the
company, document set and tax chosen) and one invoice row per order (unique on the order: the key
that makes invoicing an order happen once, however often it is asked or retried)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

INVOICE_STATUSES = ("PENDING", "INVOICED", "FAILED")
CREDIT_STATUSES = ("PENDING", "ISSUED", "FAILED")


class MoloniConnection(IdMixin, TenantScoped, Base):
    """One per store. ``access_token``/``refresh_token``/``client_secret`` are Fernet-encrypted
    (``services.crypto``); the audit log never stores them (their names are on the deny-list)."""

    __tablename__ = "moloni_connections"

    store_id: Mapped[str] = mapped_column(String(36), ForeignKey("stores.id", ondelete="CASCADE"), nullable=False,
                                          unique=True, index=True)
    # the store's own Moloni developer app (else the platform's MOLONI_CLIENT_ID/SECRET)
    client_id: Mapped[str | None] = mapped_column(String(120))
    client_secret: Mapped[str | None] = mapped_column(Text)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connected_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    # the one-time nonce of an authorisation under way (its SHA-256) and who started it
    oauth_nonce_hash: Mapped[str | None] = mapped_column(String(64))
    oauth_started_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(BigInteger)
    company_name: Mapped[str | None] = mapped_column(String(200))
    document_set_id: Mapped[int | None] = mapped_column(BigInteger)
    document_set_name: Mapped[str | None] = mapped_column(String(200))
    tax_id: Mapped[int | None] = mapped_column(BigInteger)  # the default tax (prices include it)
    tax_name: Mapped[str | None] = mapped_column(String(120))
    tax_rate_bps: Mapped[int | None] = mapped_column(Integer)  # 2300 = 23 %
    exemption_reason: Mapped[str | None] = mapped_column(String(10))  # e.g. M07, when no tax applies
    auto_invoice: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    category_id: Mapped[int | None] = mapped_column(BigInteger)  # Moloni ids found once and kept
    unit_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class MoloniInvoice(IdMixin, TenantScoped, Base):
    """An order's invoice (and credit note). Reserved (PENDING) before Moloni is called."""

    __tablename__ = "moloni_invoices"
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'INVOICED', 'FAILED')", name="status"),
        CheckConstraint("credit_status IS NULL OR credit_status IN ('PENDING', 'ISSUED', 'FAILED')",
                        name="credit_status"),
    )

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), nullable=False,
                                          unique=True)
    status: Mapped[str] = mapped_column(String(12), default="PENDING", nullable=False)
    our_reference: Mapped[str] = mapped_column(String(60), nullable=False)
    document_id: Mapped[int | None] = mapped_column(BigInteger)
    number: Mapped[str | None] = mapped_column(String(80))
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    invoiced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credit_status: Mapped[str | None] = mapped_column(String(12))
    credit_document_id: Mapped[int | None] = mapped_column(BigInteger)
    credit_number: Mapped[str | None] = mapped_column(String(80))
    credit_failure_reason: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
