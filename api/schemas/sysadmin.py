"""The sysadmin's tenants and platform dashboard. Money in major units of each store's currency."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from models import Store, User
from services.money import to_major

from .common import Input, Output, PageQuery
from .plans import AddonOut, PlanOut


class TenantStatsOut(Output):
    days: int
    orders: int = Field(description="Paid orders in the last `days` days")
    revenue: float = Field(description="Their totals less refunds (major units of `currency`)")
    currency: str
    products: int
    customers: int


class TenantOut(Output):
    id: str
    slug: str
    name: str
    custom_domain: str | None
    status: str
    currency: str
    is_default: bool
    plan_id: str | None
    plan_name: str | None = None
    created_at: datetime
    deleted_at: datetime | None
    stats: TenantStatsOut | None = None

    @classmethod
    def of(cls, store: Store, plan_name: str | None = None, stats: dict | None = None) -> "TenantOut":
        return cls(id=store.id, slug=store.slug, name=store.name, custom_domain=store.custom_domain,
                   status=store.status, currency=store.currency, is_default=store.is_default, plan_id=store.plan_id,
                   plan_name=plan_name, created_at=store.created_at, deleted_at=store.deleted_at,
                   stats=TenantStatsOut(**{**stats, "revenue": to_major(stats["revenue"], stats["currency"])})
                   if stats else None)


class TenantDetailOut(TenantOut):
    description: str
    locale: str
    timezone: str
    plan: PlanOut | None
    addons: list[AddonOut]
    features: list[str]
    users_by_role: dict[str, int]


class TenantUserOut(Output):
    id: str
    username: str
    email: str
    role: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> "TenantUserOut":
        return cls.model_validate(user)


class TenantCreatedOut(Output):
    tenant: TenantOut
    admin: TenantUserOut
    message: str


class TenantQuery(PageQuery):
    search: str | None = Field(default=None, max_length=120)
    plan: str | None = Field(default=None, max_length=40, description="A plan's slug or id")
    status: Literal["active", "suspended", "deleted"] | None = Field(
        default=None, description="Deleted stores are listed only when asked for")
    sort_by: Literal["name", "created_at", "revenue", "orders", "products", "customers", "status", "slug"] = "created_at"
    sort_order: Literal["asc", "desc"] = "desc"


class UsersQuery(PageQuery):
    role: Literal["USER", "RESELLER", "STAFF", "MANAGER", "ADMIN"] | None = None


_SLUG = Field(min_length=1, max_length=63)


class TenantIn(Input):
    slug: str = _SLUG
    name: str = Field(min_length=1, max_length=120)
    admin_email: str = Field(max_length=254, validation_alias=AliasChoices("admin_email", "email"))
    admin_username: str | None = Field(default=None, min_length=3, max_length=32)
    custom_domain: str | None = Field(default=None, max_length=253, validation_alias=AliasChoices("custom_domain", "domain"))
    plan: str | None = Field(default=None, max_length=40, description="A plan's slug or id (default: everything)")
    addons: list[str] = Field(default_factory=list, max_length=20)
    currency: str = Field(default="EUR", pattern=r"^[A-Za-z]{3}$")
    locale: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    description: str | None = Field(default=None, max_length=2000)


class TenantUpdateIn(Input):
    slug: str | None = Field(default=None, min_length=1, max_length=63)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    custom_domain: str | None = Field(default=None, max_length=253, validation_alias=AliasChoices("custom_domain", "domain"))
    plan: str | None = Field(default=None, max_length=40)
    addons: list[str] | None = Field(default=None, max_length=20)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    locale: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=2000)
    status: Literal["active", "suspended"] | None = None


class MrrOut(Output):
    currency: str
    plans: float
    addons: float
    total: float


class MonthOut(Output):
    month: str
    orders: int
    gmv: float
    change_pct: float | None = Field(description="% change of GMV over the previous month (null: no base)")


class RevenueSeriesOut(Output):
    currency: str
    points: list[MonthOut]
    growth_pct: float | None = Field(description="The last complete month over the one before, in %")
    last_month: str
    this_month_gmv: float
    this_month_orders: int


class DashboardOut(Output):
    mrr: list[MrrOut]
    revenue: list[RevenueSeriesOut]
    months: list[str]
    stores: dict
    last_30_days: list[dict]
    newest_stores: list[TenantOut]
