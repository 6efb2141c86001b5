"""Audit log schemas: the filters of ``GET /api/admin/audit-log`` and one entry."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from services import audit
from services.errors import Invalid
from services.money import to_major

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
    changes: dict = Field(description='{"before": {...}, "after": {...}} of the changed fields (a named action: '
                                      'its details); never secrets. Amounts are numbers in major units of '
                                      '`currency` (a variant\'s price 5.5, not 550), percentages in percent (a '
                                      'percent coupon\'s value 15, not 1500); other numbers as stored')
    currency: str | None = Field(default=None, description="The currency of the amounts in `changes` (ISO 4217); "
                                                           "null when there are none")

    @classmethod
    def of(cls, entry, shown: audit.Shown) -> "AuditEntryOut":
        return cls(id=entry.id, created_at=entry.created_at, store_id=entry.store_id,
                   target_store_id=entry.target_store_id, actor_id=entry.actor_id, actor_name=entry.actor_name,
                   actor_role=entry.actor_role, ip=entry.ip, resource_type=entry.resource_type,
                   resource_id=entry.resource_id, action=entry.action, changes=_json(shown.changes),
                   currency=shown.currency)

    @classmethod
    def page(cls, page: dict, *, all_stores: bool = False) -> dict:
        """A ``services.audit`` page as JSON, its amounts in major units (``audit.with_units``)."""
        shown = audit.with_units(page["items"], all_stores=all_stores)
        return {**page, "items": [cls.of(entry, shown[entry.id]) for entry in page["items"]]}


def _json(value):
    """``Money`` as a number in major units, ``Percent`` as a percentage."""
    if isinstance(value, audit.Money):
        return to_major(value.minor, value.currency)
    if isinstance(value, audit.Percent):
        return value.percent
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value
