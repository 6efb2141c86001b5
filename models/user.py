"""Users (per store; sysadmins belong to none), roles and the blacklist."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime


class Role(enum.StrEnum):
    """``GUEST < USER < RESELLER`` and ``USER < STAFF < MANAGER < ADMIN < SYSADMIN``."""

    GUEST = "GUEST"
    USER = "USER"
    RESELLER = "RESELLER"
    STAFF = "STAFF"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"
    SYSADMIN = "SYSADMIN"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def at_least(self, other: "Role") -> bool:
        """True when this role passes a check for ``other``. A RESELLER is a USER."""
        return self.rank >= other.rank


_RANKS = {
    Role.GUEST: 0,
    Role.USER: 10,
    Role.RESELLER: 11,
    Role.STAFF: 20,
    Role.MANAGER: 30,
    Role.ADMIN: 40,
    Role.SYSADMIN: 50,
}


class User(IdMixin, TenantScoped, Base):
    __tablename__ = "users"
    __tenant_nullable__ = True  # sysadmins belong to no store
    __table_args__ = (
        UniqueConstraint("store_id", "email"),
        UniqueConstraint("store_id", "username"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("discount_bps >= 0 AND discount_bps <= 10000", name="discount_range"),
        CheckConstraint(
            "role IN ('USER', 'RESELLER', 'STAFF', 'MANAGER', 'ADMIN', 'SYSADMIN')", name="role"
        ),
    )

    username: Mapped[str] = mapped_column(String(32), nullable=False)
    # The customer's own profile (issue 14, ``services.account.update_profile``).
    full_name: Mapped[str] = mapped_column(String(120), default="", server_default="", nullable=False)
    phone: Mapped[str] = mapped_column(String(32), default="", server_default="", nullable=False)
    locale: Mapped[str | None] = mapped_column(String(16))  # a BCP 47 tag ("pt-PT"); None: the store's
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value, nullable=False)
    # Reseller discount in basis points (1500 = 15 %), shown as a percentage.
    discount_bps: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Cached sum of the balance ledger, in minor units. Never negative (CHECK above).
    balance: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_ip: Mapped[str | None] = mapped_column(String(45))
    # Bumped by a password reset: every token carrying an older version is refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Set when the account was erased (services.users.erase_user): the row stays, anonymised, so
    # its orders and ledger rows still add up; it can never sign in again.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The merchant's own note about this customer (never shown to them).
    note: Mapped[str] = mapped_column(String(1000), default="", server_default="", nullable=False)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def discount_percent(self) -> float:
        return self.discount_bps / 100

    # Flask-Login
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the page session and remember-me cookie keep: the id and the session version, so a
        ``token_version`` bump (password change or reset, disabling, erasure) ends every browser
        session too (``services.account.session_user``)."""
        return f"{self.id}:{self.token_version or 0}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


BLACKLIST_KINDS = ("ip", "email", "username")


class Blacklist(IdMixin, TenantScoped, Base):
    """An IP address, email or username that may not register or sign in."""

    __tablename__ = "blacklist"
    __table_args__ = (
        UniqueConstraint("store_id", "kind", "value"),
        CheckConstraint("kind IN ('ip', 'email', 'username')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    value: Mapped[str] = mapped_column(String(254), nullable=False)
    reason: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
