"""Users, customers and the blacklist (admin). A reseller's ``discount`` is a percentage
(``15``, ``12.5``: at most two decimals, 0 to 100); amounts are major units with ``currency``."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from models import Blacklist, User
from services.money import to_major

from .addresses import AddressOut
from .cart import CartOut
from .common import Amount, Input, Output, PageQuery, Query
from .orders import OrderOut

DISCOUNT = AliasChoices("discount", "discount_percent", "discountPercent")
Percent = Amount


class UserQuery(PageQuery):
    search: str | None = Field(default=None, max_length=100, validation_alias=AliasChoices("search", "q"))
    role: str | None = Field(default=None, max_length=16, description="USER, RESELLER, STAFF, MANAGER, ADMIN, SYSADMIN")
    segment: str | None = Field(default=None, max_length=16, description="vip, new, active, at_risk, inactive")


class CustomerQuery(PageQuery):
    search: str | None = Field(default=None, max_length=100, validation_alias=AliasChoices("search", "q"))
    segment: str | None = Field(default=None, max_length=16, description="vip, new, active, at_risk, inactive")


class HistoryQuery(PageQuery):
    """The page of the order history shown with a user."""


class DiscountQuery(Query):
    discount: str | None = Field(default=None, max_length=20, validation_alias=DISCOUNT,
                                 description="Percent, e.g. 15 or 12.5")


class DiscountIn(Input):
    discount: Percent | None = Field(default=None, validation_alias=DISCOUNT, description="Percent, e.g. 15 or 12.5")


class RoleIn(Input):
    role: str = Field(min_length=1, max_length=16)
    discount: Percent | None = Field(default=None, validation_alias=DISCOUNT,
                                     description="A RESELLER's discount in percent (kept when left out)")


class UserCreateIn(Input):
    username: str = Field(min_length=1, max_length=32)
    email: str = Field(min_length=1, max_length=254)
    password: str | None = Field(default=None, max_length=128,
                                 description="Left out: the user is emailed a link to set their password")
    role: str = Field(default="USER", max_length=16)
    discount: Percent | None = Field(default=None, validation_alias=DISCOUNT)


class CustomerUpdateIn(Input):
    username: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    is_active: bool | None = None
    note: str | None = Field(default=None, max_length=1000, description="The merchant's own note")


class BlacklistQuery(PageQuery):
    kind: str | None = Field(default=None, max_length=16, description="ip, email or username")
    search: str | None = Field(default=None, max_length=100, validation_alias=AliasChoices("search", "q"))


class BlacklistIn(Input):
    kind: str = Field(min_length=1, max_length=16, description="ip, email or username")
    value: str = Field(min_length=1, max_length=254)
    reason: str = Field(default="", max_length=255)


# --- outputs ---------------------------------------------------------------------------------

class UserRef(Output):
    id: str
    username: str


class ManagedUserOut(Output):
    id: str
    username: str
    email: str
    role: str
    discount: float = Field(description="A RESELLER's discount in percent (0 for others)")
    balance: float
    currency: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    erased_at: datetime | None
    orders: int = Field(description="Sales: paid orders, gifts excepted")
    spent: float = Field(description="Lifetime spend, net of refunds")
    segment: str | None = Field(description="vip, new, active, at_risk or inactive; null for staff")

    @classmethod
    def fields_of(cls, user: User, currency: str, orders: int, spent: int, segment: str | None) -> dict:
        return dict(id=user.id, username=user.username, email=user.email, role=user.role,
                    discount=user.discount_bps / 100, balance=to_major(user.balance, currency),
                    currency=currency, is_active=user.is_active, created_at=user.created_at,
                    last_login_at=user.last_login_at, erased_at=user.erased_at, orders=int(orders or 0),
                    spent=to_major(int(spent or 0), currency), segment=segment)


class HistoryPage(Output):
    items: list[OrderOut]
    page: int
    page_size: int
    total: int
    pages: int


class UserDetailOut(ManagedUserOut):
    note: str
    last_login_ip: str | None
    first_order_at: datetime | None
    last_order_at: datetime | None
    orders_total: int = Field(description="Every order, whatever its status")
    review_count: int
    replacement_count: int
    addresses: list[AddressOut] = Field(default_factory=list, description="The user's saved addresses, as "
                                                                         "`GET /api/addresses` lists them: defaults first")
    cart: CartOut
    order_history: HistoryPage = Field(description="A page of the user's orders, newest first")


class MonthCount(Output):
    month: str
    start: datetime
    new_customers: int


class TopCustomer(Output):
    id: str
    username: str
    email: str
    orders: int
    spent: float
    segment: str


class CustomerOverviewOut(Output):
    currency: str
    total_customers: int
    segments: dict[str, int]
    new_customers_per_month: list[MonthCount]
    top_customers: list[TopCustomer]


class BlacklistOut(Output):
    id: str
    kind: str
    value: str
    reason: str
    created_at: datetime
    created_by: UserRef | None

    @classmethod
    def of(cls, entry: Blacklist, created_by: str | None) -> "BlacklistOut":
        return cls(id=entry.id, kind=entry.kind, value=entry.value, reason=entry.reason, created_at=entry.created_at,
                   created_by=UserRef(id=entry.created_by_id, username=created_by)
                   if entry.created_by_id and created_by else None)
