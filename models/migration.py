"""Moving a store in: import jobs (WooCommerce over its REST API, or a CSV file) and the mapping of
what they brought in (``external_refs``: one row per (store, source, kind, outside id), unique), so
running an import again updates what it made before instead of making it twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

IMPORT_SOURCES = ("woocommerce", "csv")
# PREVIEW: a CSV uploaded and checked, waiting for the admin's go; QUEUED; RUNNING; DONE; FAILED
# (the job raised: a re-run resumes from ``cursor``).
IMPORT_STATUSES = ("PREVIEW", "QUEUED", "RUNNING", "DONE", "FAILED")


class ImportJob(IdMixin, TenantScoped, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint("source IN ('woocommerce', 'csv')", name="source"),
        CheckConstraint("status IN ('PREVIEW', 'QUEUED', 'RUNNING', 'DONE', 'FAILED')", name="status"),
    )

    source: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="QUEUED", nullable=False, index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    source_url: Mapped[str | None] = mapped_column(String(500))  # the WooCommerce site
    # WooCommerce: the consumer key and secret (Fernet, services/crypto.py), cleared when the job ends.
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))  # CSV
    csv_format: Mapped[str | None] = mapped_column(String(16))  # "woocommerce" | "generic"
    payload: Mapped[str | None] = mapped_column(Text)  # the CSV text until the import ends
    phase: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    cursor: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # batches committed
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    done: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # {"problems": [{"line"|"ref", "reason"}], "counts": {kind: {created, updated, skipped}}}
    report: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class ExternalRef(IdMixin, TenantScoped, Base):
    """(source, kind, external id) -> the local row an import made of it. ``fingerprint`` is a hash
    of what the source said last time: unchanged means skipped."""

    __tablename__ = "external_refs"
    __tenant_index__ = False  # the unique constraint leads with store_id
    __table_args__ = (UniqueConstraint("store_id", "source", "kind", "external_id"),)

    source: Mapped[str] = mapped_column(String(16), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)  # category, tag, attribute, product, variant, image
    external_id: Mapped[str] = mapped_column(String(160), nullable=False)
    local_id: Mapped[str] = mapped_column(String(36), nullable=False)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)
