"""Declarative base, common columns and the tenant mixin."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class TenantScoped:
    """Marks a model as owned by one store.

    ``tenancy.py`` filters every SELECT/UPDATE/DELETE on such models to the bound store
    and stamps or checks ``store_id`` on every flush. Models that also hold platform
    rows (``store_id`` NULL, e.g. sysadmin users) set ``__tenant_nullable__ = True``.
    """

    __tenant_nullable__ = False
    # False where a composite index already leads with store_id: a redundant single-column
    # index misleads PostgreSQL's planner on freshly filled tables (see stock_items).
    __tenant_index__ = True

    @declared_attr
    def store_id(cls) -> Mapped[str | None]:  # noqa: N805
        return mapped_column(
            String(36),
            ForeignKey("stores.id", ondelete="CASCADE"),
            index=cls.__tenant_index__,
            nullable=cls.__tenant_nullable__,
        )
