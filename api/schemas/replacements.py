"""Replacement requests: the buyer's request, staff's queue and decision, replacement rates."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from models import ReplacementRequest

from .common import Id, Input, Output, PageQuery


class ReplaceIn(Input):
    """Seed B names the item by its deliverable or its id; we take the delivered item's id."""

    stock_item_id: Id = Field(validation_alias=AliasChoices("stock_item_id", "stockItemId", "item_id", "itemId"))
    reason: str = Field(min_length=1, max_length=1000)


class ResolveIn(Input):
    action: Literal["approve", "deny"] = Field(validation_alias=AliasChoices("action", "status", "decision"))
    stock_item_id: Id | None = Field(default=None, validation_alias=AliasChoices("stock_item_id", "stockItemId"),
                                     description="One of the options to deliver (approve); the next in stock if left out")
    custom_deliverable: str | None = Field(default=None, max_length=2000,
                                           validation_alias=AliasChoices("custom_deliverable", "customDeliverable"),
                                           description="Admin only: a deliverable typed by hand (approve)")
    reason: str | None = Field(default=None, max_length=500,
                               validation_alias=AliasChoices("reason", "reason_denied", "reasonDenied"),
                               description="Why it is denied (deny; the buyer sees it)")


class RequestQuery(PageQuery):
    status: Literal["PENDING", "APPROVED", "DENIED"] | None = "PENDING"
    product_id: Id | None = None
    search: str | None = Field(default=None, max_length=40, description="An order number (#12)")


class ReplacementOut(Output):
    id: str
    order_id: str
    order_number: int | None = None
    subcategory_id: str | None
    product_id: str | None
    product_title: str | None = None
    user_id: str | None
    username: str | None = None
    stock_item_id: str
    original_deliverable: str | None = Field(None, description="Masked for staff lists")
    reason: str
    status: str
    automatic: bool
    waiting_reason: str | None
    replacement_item_id: str | None
    reason_denied: str | None
    resolved_by: str | None = None
    resolved_at: datetime | None
    created_at: datetime
    creation_unix: int

    @classmethod
    def of(cls, row: ReplacementRequest, ctx: dict | None = None) -> ReplacementOut:
        ctx = ctx or {}
        return cls(id=row.id, order_id=row.order_id, order_number=ctx.get("numbers", {}).get(row.order_id),
                   subcategory_id=row.variant_id, product_id=row.product_id,
                   product_title=ctx.get("titles", {}).get(row.product_id), user_id=row.user_id,
                   username=ctx.get("names", {}).get(row.user_id), stock_item_id=row.stock_item_id,
                   original_deliverable=ctx.get("originals", {}).get(row.stock_item_id), reason=row.reason,
                   status=row.status, automatic=row.automatic, waiting_reason=row.waiting_reason,
                   replacement_item_id=row.replacement_item_id, reason_denied=row.reason_denied,
                   resolved_by=ctx.get("names", {}).get(row.resolved_by_id), resolved_at=row.resolved_at,
                   created_at=row.created_at, creation_unix=int(row.created_at.timestamp()))


class OptionOut(Output):
    id: str
    deliverable: str | None = Field(description="Masked: the item is revealed to the buyer once delivered")
    batch_id: str | None


class OptionsOut(Output):
    subcategory_id: str
    items: list[OptionOut]


class RateRow(Output):
    sold: int
    replaced: int
    rate: float


class BatchRate(RateRow):
    batch_id: str | None
    imported_at: datetime | None


class ProductRate(RateRow):
    product_id: str
    title: str


class RatesOut(Output):
    batches: list[BatchRate]
    products: list[ProductRate]
