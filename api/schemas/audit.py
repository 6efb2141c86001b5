"""Audit log schemas: the filters of ``GET /api/admin/audit-log`` and one entry."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from services.errors import Invalid

from .common import DayOrMoment, Id, Output, PageQuery


class AuditQuery(PageQuery):
    """The filters; ``page_size`` is the lists' own (default 20, at most 100: RECONCILE.md)."""

    resource_type: str | None = Field(default=None, max_length=40, description="e.g. product, order, coupon, store")
    action: str | None = Field(default=None, max_length=40,
                               description="create, update, delete or a named action (order.approve, stock.import)")
    user_id: Id | None = Field(default=None, description="the actor's user id")
    date_from: DayOrMoment | None = Field(default=None, description="ISO date (from its start) or date-time (UTC)")
    date_to: DayOrMoment | None = Field(default=None, description="ISO date (the whole day) or date-time")

    @model_validator(mode="after")
    def _dates_in_order(self):
        if self.date_from and self.date_to and str(self.date_from) > str(self.date_to):
            raise Invalid("date_from must not be after date_to", details={"date_from": ["after date_to"]})
        return self

    def filters(self) -> dict:
        return self.model_dump(include={"resource_type", "action", "user_id", "date_from", "date_to"})


class PlatformAuditQuery(AuditQuery):
    scope: Literal["platform", "all"] = Field("platform", description="platform: the platform log (no store); "
                                                                        "all: every store's entries too")
    store_id: Id | None = Field(default=None, description="only the entries about this store")


class AuditEntryOut(Output):
    id: str
    created_at: datetime
    store_id: str | None = Field(description="null: the platform log")
    target_store_id: str | None = Field(description="the store the change touched")
    actor_id: str | None
    actor_name: str = Field(description="the actor's username when it acted (system: a job)")
    actor_role: str
    ip: str | None
    resource_type: str
    resource_id: str | None
    action: str
    changes: dict = Field(description='{"before": {...}, "after": {...}} of the changed fields; never secrets')
