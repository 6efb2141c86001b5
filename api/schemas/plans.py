"""Plans, addons and a store's features. Prices in major units (``monthly_price``: 29.0)."""
from __future__ import annotations

from pydantic import Field

from models import Addon, Plan
from services.money import to_major

from .common import Amount, Input, Output, money_in


class AddonOut(Output):
    id: str
    slug: str
    name: str
    description: str
    monthly_price: float
    currency: str
    is_active: bool

    @classmethod
    def of(cls, addon: Addon) -> "AddonOut":
        return cls(id=addon.id, slug=addon.slug, name=addon.name, description=addon.description,
                   monthly_price=to_major(addon.monthly_price, addon.currency), currency=addon.currency,
                   is_active=addon.is_active)


class PlanOut(Output):
    id: str
    slug: str
    name: str
    description: str
    monthly_price: float
    currency: str
    max_products: int | None = Field(description="null: unlimited")
    max_staff: int | None = Field(description="Staff seats (STAFF, MANAGER, ADMIN); null: unlimited")
    custom_domain_allowed: bool
    features: list[str] = Field(description="The addons the plan includes")
    is_active: bool = Field(description="Offered to new stores")

    @classmethod
    def of(cls, plan: Plan) -> "PlanOut":
        return cls(id=plan.id, slug=plan.slug, name=plan.name, description=plan.description,
                   monthly_price=to_major(plan.monthly_price, plan.currency), currency=plan.currency,
                   max_products=plan.max_products, max_staff=plan.max_staff,
                   custom_domain_allowed=plan.custom_domain_allowed, features=list(plan.features or []),
                   is_active=plan.is_active)


class FeaturesOut(Output):
    tenant_id: str
    plan: str | None = Field(description="The plan's slug")
    features: list[str] = Field(description="Every feature the store may use (its plan's and its addons')")


class _MonthlyPriced(Input):
    """A plan or addon body: its monthly price in major units becomes minor units of its currency."""

    def to_service(self, currency: str | None = None) -> dict:
        """``currency``: the row's own, for a change that does not send one (a price of a JPY plan
        is whole yen, not hundredths)."""
        data = self.model_dump(exclude_unset=True)
        if "currency" in data and data["currency"] is None:  # null: unchanged
            del data["currency"]
        if "monthly_price" in data:
            data["monthly_price"] = money_in(self.monthly_price, (data.get("currency") or currency or "EUR").upper(),
                                             "monthly_price")
        return data


class PlanIn(_MonthlyPriced):
    slug: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    monthly_price: Amount = Field(description="Major units")
    currency: str = Field(default="EUR", pattern=r"^[A-Za-z]{3}$")
    max_products: int | None = Field(default=None, ge=0, le=10_000_000)
    max_staff: int | None = Field(default=None, ge=0, le=100_000)
    custom_domain_allowed: bool = True
    features: list[str] = Field(default_factory=list, max_length=50)
    is_active: bool = True


class PlanUpdateIn(PlanIn):
    slug: str | None = Field(default=None, min_length=1, max_length=40)
    name: str | None = Field(default=None, min_length=1, max_length=80)
    monthly_price: Amount | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$", description="Unchanged when left out")


class AddonIn(_MonthlyPriced):
    slug: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    monthly_price: Amount
    currency: str = Field(default="EUR", pattern=r"^[A-Za-z]{3}$")
    is_active: bool = True


class AddonUpdateIn(AddonIn):
    slug: str | None = Field(default=None, min_length=1, max_length=40)
    name: str | None = Field(default=None, min_length=1, max_length=80)
    monthly_price: Amount | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$", description="Unchanged when left out")
