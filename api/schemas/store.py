"""Store configuration as the storefront and admins see it."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from models import Store
from services import payments, store_config
from services.stores import AnnouncementBar, Branding, ExternalLink, PaymentMethodSetting, settings_of

from .common import Input, Output


class PaymentMethodOut(Output):
    """A method the store enabled; ``available``: a shopper can pay with it now (services.payments)."""

    name: str
    label: str
    enabled: bool
    available: bool


class PublicConfigOut(Output):
    store_name: str
    store_description: str
    currency: str
    payment_methods: list[PaymentMethodOut]
    external_links: list[ExternalLink]
    review_reward: int
    enforced_ratings: bool
    announcement_bar_config: AnnouncementBar
    branding: Branding

    @classmethod
    def of(cls, store: Store) -> "PublicConfigOut":
        s, usable = settings_of(store), payments.usable_methods(store)
        return cls(
            store_name=store.name, store_description=store.description, currency=store.currency,
            payment_methods=[PaymentMethodOut(name=m, label=payments.LABELS[m], enabled=True,
                                              available=True) for m in usable],
            external_links=s.external_links,
            review_reward=s.review_reward, enforced_ratings=s.enforced_ratings,
            announcement_bar_config=s.announcement_bar_config, branding=s.branding,
        )


class BrandingOut(Output):
    store_name: str
    primary_color: str
    accent_color: str
    background_color: str
    text_color: str
    logo_url: str | None
    banner_url: str | None
    hero_url: str | None
    font_family: str

    @classmethod
    def of(cls, store: Store) -> "BrandingOut":
        return cls(store_name=store.name, **settings_of(store).branding.model_dump())


class StoreConfigOut(Output):
    """The store's whole editable configuration: what ``/api/admin/config`` and
    ``/api/tenant/settings`` answer, and what their updates accept back (all or part of it)."""

    name: str
    description: str
    payment_methods: list[PaymentMethodSetting]
    external_links: list[ExternalLink]
    review_reward: int
    enforced_ratings: bool
    feedback_window_days: int
    reviews_require_approval: bool
    announcement_bar_config: AnnouncementBar
    branding: Branding
    order_expiry_minutes: int
    allow_free_items: bool
    support_email: str | None
    topup_min: int
    topup_max: int

    @classmethod
    def of(cls, store: Store) -> "StoreConfigOut":
        return cls(**store_config.config_of(store))


class StoreConfigIn(Input):
    """A partial configuration: only the fields sent change. Nested objects (announcement bar,
    branding) merge field by field; lists (links, payment methods) replace. The whole result is
    checked before anything is saved: a 422 names every wrong field and changes nothing."""

    name: str | None = Field(default=None, description="The store's name (1-120 characters)")
    description: str | None = None
    payment_methods: list[dict[str, Any]] | dict[str, bool] | None = Field(
        default=None, description="`[{name, enabled}]` or `{name: enabled}`; enabling an unconfigured method is refused")
    external_links: list[dict[str, Any]] | None = None
    review_reward: Any = None
    enforced_ratings: Any = None
    feedback_window_days: Any = None
    reviews_require_approval: Any = None
    announcement_bar_config: dict[str, Any] | None = None
    branding: dict[str, Any] | None = None
    order_expiry_minutes: Any = None
    allow_free_items: Any = None
    support_email: Any = None
    topup_min: Any = None
    topup_max: Any = None

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True)
