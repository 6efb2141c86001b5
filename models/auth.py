"""Server-side token state: revoked JWTs and password-reset tokens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime


class RevokedToken(Base):
    """A JWT id that logout (or refresh rotation) revoked. Holds no store data."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)


class PasswordResetToken(IdMixin, TenantScoped, Base):
    """Single-use, expiring. Only a SHA-256 of the emailed token is stored."""

    __tablename__ = "password_reset_tokens"
    __tenant_nullable__ = True

    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_ip: Mapped[str | None] = mapped_column(String(45))
