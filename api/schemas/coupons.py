"""Coupon schemas. ``value``: a percentage (``15`` or ``12.5``) for ``percent`` coupons, an amount
in major units for ``fixed`` ones; ``min_subtotal`` in major units."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AliasChoices, Field, field_validator

from models import Coupon
from services.errors import Invalid
from services.money import to_major

from .common import Amount, Id, Input, Output, PageQuery, Positive, money_in


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def percent_bps(value: Decimal) -> int:
    bps = value * 100
    if bps != bps.to_integral_value():
        raise Invalid("A percentage has at most two decimals", details={"value": ["too many decimals"]})
    if bps <= 0 or bps > 10000:
        raise Invalid("A percentage is above 0 and at most 100", details={"value": ["out of range"]})
    return int(bps)


class CouponIn(Input):
    code: str = Field(min_length=1, max_length=40)
    kind: Literal["percent", "fixed"] = Field(validation_alias=AliasChoices("kind", "type", "discount_type"))
    value: Amount = Field(validation_alias=AliasChoices("value", "amount", "discount"))
    min_subtotal: Amount | None = Field(default=None, validation_alias=AliasChoices("min_subtotal", "min_order"))
    starts_at: datetime | None = None
    ends_at: datetime | None = Field(default=None, validation_alias=AliasChoices("ends_at", "expires_at"))
    max_uses: Positive | None = None
    max_uses_per_customer: Positive | None = None
    product_id: Id | None = None
    category_id: Id | None = None
    is_active: bool | None = Field(default=None, validation_alias=AliasChoices("is_active", "enabled", "active"))
    description: str | None = Field(default=None, max_length=255)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    def to_service(self, currency: str, kind: str | None = None) -> dict:
        data = self.model_dump(exclude_unset=True)
        kind = data.get("kind") or kind
        if "value" in data:
            if self.value is None:
                raise Invalid("value cannot be empty", details={"value": ["required"]})
            data["value"] = percent_bps(self.value) if kind == "percent" else money_in(self.value, currency, "value")
        if "min_subtotal" in data:
            data["min_subtotal"] = money_in(self.min_subtotal, currency, "min_subtotal") or 0
        if data.get("description") is None:
            data.pop("description", None)
        if data.get("is_active") is None:
            data.pop("is_active", None)
        return data


class CouponUpdateIn(CouponIn):
    """Only the fields sent change (``null`` clears a limit, a date or a restriction)."""

    code: str | None = Field(default=None, min_length=1, max_length=40)
    kind: Literal["percent", "fixed"] | None = Field(default=None,
                                                     validation_alias=AliasChoices("kind", "type", "discount_type"))
    value: Amount | None = Field(default=None, validation_alias=AliasChoices("value", "amount", "discount"))


class CouponQuery(PageQuery):
    search: str | None = Field(default=None, max_length=40)
    is_active: bool | None = None


class CouponValidateIn(Input):
    code: str = Field(min_length=1, max_length=40, validation_alias=AliasChoices("code", "coupon", "coupon_code"))
    subtotal: Amount | None = Field(default=None, description="Major units; without it the caller's cart is used")


class CouponOut(Output):
    id: str
    code: str
    kind: str
    value: float
    currency: str
    min_subtotal: float
    starts_at: datetime | None
    ends_at: datetime | None
    max_uses: int | None
    max_uses_per_customer: int | None
    uses_count: int
    product_id: str | None
    category_id: str | None
    is_active: bool
    description: str
    created_at: datetime

    @classmethod
    def of(cls, coupon: Coupon, currency: str) -> "CouponOut":
        value = coupon.value / 100 if coupon.kind == "percent" else to_major(coupon.value, currency)
        return cls(id=coupon.id, code=coupon.code, kind=coupon.kind, value=value, currency=currency,
                   min_subtotal=to_major(coupon.min_subtotal, currency), starts_at=coupon.starts_at,
                   ends_at=coupon.ends_at, max_uses=coupon.max_uses, max_uses_per_customer=coupon.max_uses_per_customer,
                   uses_count=coupon.uses_count, product_id=coupon.product_id, category_id=coupon.category_id,
                   is_active=coupon.is_active, description=coupon.description, created_at=coupon.created_at)


class CouponValidationOut(Output):
    valid: bool
    code: str
    discount: float
    currency: str
    subtotal: float | None
    kind: str | None
    value: float | None
    product_id: str | None = None
    category_id: str | None = None
    reason: str | None = Field(default=None, description="Why it is not valid (an error code)")
    message: str | None = None
