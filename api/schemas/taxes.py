"""Tax schemas. ``rate`` is a percentage (``23`` or ``6.5``, at most two decimals); amounts in major units."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AliasChoices, Field

from models import TaxRule
from services import taxes

from .common import Amount, Input, Output, PageQuery, page_of


def rate_bps(value: Decimal | None) -> int | None:
    return None if value is None else taxes.rate_bps_of(value)


def rate_percent(bps: int) -> float:
    return float(Decimal(bps).scaleb(-2))


class TaxRuleIn(Input):
    name: str | None = Field(default=None, min_length=1, max_length=120, description='Shown on the tax line ("VAT")')
    country: str = Field(min_length=2, max_length=2, description="Two-letter ISO code")
    region: str | None = Field(default=None, max_length=64, validation_alias=AliasChoices("region", "state"),
                               description="Empty: the whole country")
    tax_class: str | None = Field(default=None, max_length=32, validation_alias=AliasChoices("tax_class", "class"),
                                  description="standard, reduced, digital... (default standard)")
    rate: Amount = Field(validation_alias=AliasChoices("rate", "percentage", "rate_percent"),
                         description="A percentage: 23 or 6.5")
    priority: int | None = Field(default=None, strict=True, ge=-1000, le=1000,
                                 description="Among equally specific rules the higher wins")
    is_active: bool | None = Field(default=None, validation_alias=AliasChoices("is_active", "active", "enabled"))

    def to_service(self) -> dict:
        data = {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None or k == "region"}
        if "rate" in data:
            data["rate_bps"] = rate_bps(data.pop("rate"))
        return data


class TaxRuleUpdateIn(TaxRuleIn):
    country: str | None = Field(default=None, min_length=2, max_length=2)
    rate: Amount | None = Field(default=None, validation_alias=AliasChoices("rate", "percentage", "rate_percent"))


class TaxRuleOut(Output):
    id: str
    name: str
    country: str
    region: str
    tax_class: str
    rate: float
    rate_bps: int
    priority: int
    is_active: bool
    created_at: datetime

    @classmethod
    def of(cls, rule: TaxRule) -> "TaxRuleOut":
        return cls(id=rule.id, name=rule.name, country=rule.country, region=rule.region, tax_class=rule.tax_class,
                   rate=rate_percent(rule.rate_bps), rate_bps=rule.rate_bps, priority=rule.priority,
                   is_active=rule.is_active, created_at=rule.created_at)


class TaxRuleList(page_of(TaxRuleOut)):
    """A page of the tax rules (RECONCILE.md's list envelope) and the store's setting."""

    prices_include_tax: bool


class TaxRuleQuery(PageQuery):
    country: str | None = Field(default=None, max_length=2)
    tax_class: str | None = Field(default=None, max_length=32)


class TaxCalculateIn(Input):
    tax_class: str = Field(default="standard", min_length=1, max_length=32,
                           validation_alias=AliasChoices("tax_class", "class"))
    country: str = Field(min_length=2, max_length=2)
    amount: Amount = Field(description="Major units")
    region: str | None = Field(default=None, max_length=64, validation_alias=AliasChoices("region", "state"))
    inclusive: bool | None = Field(default=None, validation_alias=AliasChoices("inclusive", "prices_include_tax"),
                                   description="The amount includes tax (default: the store's setting)")


class TaxRuleRef(Output):
    id: str
    name: str
    country: str
    region: str
    tax_class: str


class TaxCalculateOut(Output):
    tax_class: str
    country: str
    region: str | None
    amount: float
    currency: str
    inclusive: bool
    rate: float
    rate_bps: int
    tax: float
    net: float
    gross: float
    rule: TaxRuleRef | None = Field(description="The rule applied; null: no rule, no tax")
