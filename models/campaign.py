"""Email campaigns, their recipients (one row per person, the once-per-recipient guarantee), and the
customers' notification preferences."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

CAMPAIGN_STATUSES = ("DRAFT", "SENDING", "SENT", "CANCELLED")
# PENDING: waiting; CLAIMED: taken by a batch (``claim_token``), not tried yet; SENDING: its message
# is being handed to the mail server now; SENT; SKIPPED: opted out (or the campaign was cancelled
# first); FAILED: the mail server refused it, or a batch died while handing it over (it may have
# gone out, so it is never sent again).
RECIPIENT_STATUSES = ("PENDING", "CLAIMED", "SENDING", "SENT", "SKIPPED", "FAILED")
AUDIENCES = ("all", "product", "resellers", "segment")
TOPICS = ("marketing", "product_news")


class Campaign(IdMixin, TenantScoped, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("status IN ('DRAFT', 'SENDING', 'SENT', 'CANCELLED')", name="status"),
        CheckConstraint("audience IN ('all', 'product', 'resellers', 'segment')", name="audience"),
        CheckConstraint("topic IN ('marketing', 'product_news')", name="topic"),
    )

    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body_markdown: Mapped[str] = mapped_column(Text, nullable=False)
    # which preference a recipient must keep on: marketing_emails or product_news
    topic: Mapped[str] = mapped_column(String(16), default="marketing", nullable=False)
    audience: Mapped[str] = mapped_column(String(16), default="all", nullable=False)
    audience_param: Mapped[str | None] = mapped_column(String(36))  # product id or segment name
    status: Mapped[str] = mapped_column(String(16), default="DRAFT", nullable=False, index=True)
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    recipients_total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    sent: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CampaignRecipient(TenantScoped, Base):
    """One person of a campaign's audience, snapshotted when sending starts. The primary key
    (campaign, user) is the once-per-recipient rule; ``status`` moves PENDING -> CLAIMED (by one
    batch run, ``claim_token``) -> SENDING (committed before its message goes out) -> SENT, so a
    retried job never sends it again (``services/campaigns.py``)."""

    __tablename__ = "campaign_recipients"
    __tenant_index__ = False  # the primary key leads with campaign_id; store_id is filtered with it
    __table_args__ = (
        CheckConstraint("status IN ('PENDING', 'CLAIMED', 'SENDING', 'SENT', 'SKIPPED', 'FAILED')", name="status"),
        Index("ix_campaign_recipients_campaign_status", "campaign_id", "status"),
    )

    campaign_id: Mapped[str] = mapped_column(String(36), ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(36))  # the batch run that holds it
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(String(500))


class NotificationPreference(TenantScoped, Base):
    """A customer's choices about optional email. No row means the defaults
    (``services.preferences.DEFAULTS``). Emails about the customer's own orders, payments, refunds,
    replacements and password are not optional and are not governed here."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    marketing_emails: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    product_news: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the last one-click unsubscribe
    # where the last change came from (a record of consent): "account" (the page), "api", "unsubscribe_link"
    changed_via: Mapped[str] = mapped_column(String(32), default="account", nullable=False)
