"""Payments through outside providers: each attempt, the store's provider accounts, refunds, and
every webhook event received (the callback inspector reads them)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

PROVIDERS = ("STRIPE", "HOODPAY")
PAYMENT_ATTEMPT_STATUSES = ("PENDING", "SUCCEEDED", "FAILED", "EXPIRED")
REFUND_STATUSES = ("PENDING", "SUCCEEDED", "FAILED")
WEBHOOK_STATUSES = ("RECEIVED", "PROCESSED", "IGNORED", "REFUSED", "FAILED")


class Payment(IdMixin, TenantScoped, Base):
    """One attempt to pay through a provider, for an order or a balance top-up. Its id travels in
    the provider's metadata (``payment_id``), so an event finds it whichever object it names."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refunded_within_amount"),
        CheckConstraint("purpose IN ('order', 'topup')", name="purpose"),
        CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED', 'EXPIRED')", name="status"),
    )

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    purpose: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), default="checkout", nullable=False)  # checkout | intent
    order_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    topup_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("balance_topups.id", ondelete="SET NULL"),
                                                 index=True)
    provider_ref: Mapped[str | None] = mapped_column(String(120))  # session / intent / Hoodpay payment id
    intent_ref: Mapped[str | None] = mapped_column(String(120), index=True)  # Stripe PaymentIntent (refunds name it)
    account_ref: Mapped[str | None] = mapped_column(String(64))  # the connected account that took it
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False)
    redirect_url: Mapped[str | None] = mapped_column(String(2000))
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class PaymentAccount(IdMixin, TenantScoped, Base):
    """A store's account at a provider: its Stripe Connect account, or its Hoodpay keys
    (``secrets`` is Fernet-encrypted JSON, never shown back in full)."""

    __tablename__ = "payment_accounts"
    __table_args__ = (UniqueConstraint("store_id", "provider"), UniqueConstraint("provider", "account_ref"))

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    account_ref: Mapped[str | None] = mapped_column(String(64))  # acct_... / Hoodpay business id
    secrets: Mapped[str | None] = mapped_column(Text)
    secret_hints: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)  # {"api_key": "…a1b2"}
    charges_enabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    requirements: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Refund(IdMixin, TenantScoped, Base):
    """Money given back on an order: to the card (through the provider) or to store balance."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("destination IN ('provider', 'balance')", name="destination"),
        CheckConstraint("status IN ('PENDING', 'SUCCEEDED', 'FAILED')", name="status"),
    )

    order_id: Mapped[str] = mapped_column(String(36), ForeignKey("orders.id", ondelete="CASCADE"), index=True,
                                          nullable=False)
    payment_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("payments.id", ondelete="SET NULL"))
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    destination: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(500), default="", nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEvent(IdMixin, TenantScoped, Base):
    """An event a provider sent, stored raw under (provider, event id) before anything is applied.
    ``store_id`` is NULL when no store could be named (kept for the platform team)."""

    __tablename__ = "webhook_events"
    __tenant_nullable__ = True
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        CheckConstraint("status IN ('RECEIVED', 'PROCESSED', 'IGNORED', 'REFUSED', 'FAILED')", name="status"),
    )

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(80), nullable=False)
    account_ref: Mapped[str | None] = mapped_column(String(64))
    object_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    signature: Mapped[str] = mapped_column(String(80), default="", nullable=False)  # how it was verified
    status: Mapped[str] = mapped_column(String(16), default="RECEIVED", nullable=False, index=True)
    result: Mapped[str] = mapped_column(String(500), default="", nullable=False)  # what applying it did, or why not
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # the raw body as received
    order_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    topup_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("balance_topups.id", ondelete="SET NULL"))
    payment_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("payments.id", ondelete="SET NULL"))
    deliveries: Mapped[int] = mapped_column(Integer, default=1, nullable=False)  # times it arrived
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # times it was applied or tried
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
