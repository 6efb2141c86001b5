"""The balance ledger (every credit and debit is a row) and balance top-ups."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime

BALANCE_KINDS = ("topup", "purchase", "refund", "review_reward", "adjustment", "gift")


class BalanceTransaction(IdMixin, TenantScoped, Base):
    """The balance ledger: a user's balance is the sum of their rows (users.balance caches it)."""

    __tablename__ = "balance_transactions"
    __table_args__ = (
        CheckConstraint("kind IN ('topup', 'purchase', 'refund', 'review_reward', 'adjustment', 'gift')", name="kind"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    )

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # signed, minor units
    balance_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    order_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))


class BalanceTopUp(IdMixin, TenantScoped, Base):
    """A top-up on its way: created when the shopper starts paying, credited once when the payment
    provider confirms (the payments issue wires Stripe and Hoodpay to it)."""

    __tablename__ = "balance_topups"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('PENDING', 'PAID', 'FAILED', 'EXPIRED')", name="status"),
    )

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # minor units
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    payment_method: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False)
    provider_ref: Mapped[str | None] = mapped_column(String(120), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("balance_transactions.id", ondelete="SET NULL"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
