"""Store configuration as the storefront and admins see it."""
from __future__ import annotations

from datetime import datetime
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
    tagline: str
    locale: str = Field(description="How pages and emails show money: en (€10.99), en_US ($10.99), pt_PT (10,99 €)...")
    theme: str = Field(description="The theme's slug: its layout switches (`GET /api/templates/{slug}`)")

    @classmethod
    def of(cls, store: Store) -> "BrandingOut":
        settings = settings_of(store)
        return cls(store_name=store.name, theme=settings.theme, locale=settings.locale, **settings.branding.model_dump())


class StoreConfigOut(Output):
    """The store's whole editable configuration: what ``/api/admin/config`` and
    ``/api/tenant/settings`` answer, and what their updates accept back (all or part of it)."""

    name: str
    description: str
    store_name: str = Field(description="Seed B's name for `name` (the same value)")
    store_description: str = Field(description="Seed B's name for `description` (the same value)")
    currency: str = Field(description="The store's currency (ISO 4217), in which the amounts here are; set by the "
                                      "platform's team: sending it back unchanged is allowed")
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
    manual_payment_instructions: str = Field(default="", description="What a shopper paying by MANUAL is told "
                                             "(bank details, a PayPal address...): plain text, line breaks kept, "
                                             "at most 2000 characters; empty: \"pay the store directly\"")
    topup_min: float = Field(description="The smallest balance top-up, in major units of `currency` (5 = 5.00)")
    topup_max: float = Field(description="The largest balance top-up, in major units of `currency`")
    timezone: str = Field(description="IANA time zone: the dashboard's days and months are local ones")
    locale: str = Field(description="How pages and emails show money: en (€10.99), en_US ($10.99), pt_PT (10,99 €)...")
    theme: str = Field(description="The theme's slug (`GET /api/templates`); `PUT /api/tenants/current/template` also copies its palette")
    show_sold_count: bool = Field(description="The product page shows how many units paid orders bought")
    prices_include_tax: bool = Field(default=False, description="Prices are entered with tax in them (`/api/taxes`)")
    tax_country: str | None = Field(default=None, description="Taxes a buyer whose country is unknown")

    @classmethod
    def of(cls, store: Store) -> "StoreConfigOut":
        return cls(**store_config.config_of(store))


class StoreConfigIn(Input):
    """A partial configuration: only the fields sent change. Nested objects (announcement bar,
    branding) merge field by field; lists (links, payment methods) replace. The whole result is
    checked before anything is saved: a 422 names every wrong field and changes nothing."""

    name: str | None = Field(default=None, description="The store's name (1-120 characters)")
    description: str | None = None
    store_name: str | None = Field(default=None, description="Seed B's name for `name`: either may be sent; both "
                                                             "with different values is a 422 naming `store_name`")
    store_description: str | None = Field(default=None, description="Seed B's name for `description`: either may be "
                                                                     "sent; both with different values is a 422")
    currency: Any = Field(default=None, description="Read-only: the store's own currency is accepted (the "
                                                    "document round-trips), any other is refused")
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
    manual_payment_instructions: Any = Field(default=None, json_schema_extra={"type": "string"},
                                             description="Plain text, at most 2000 characters; \"\" or null clears it")
    topup_min: Any = Field(default=None, json_schema_extra={"type": "number"},
                           description="The smallest balance top-up, in major units of the store's currency")
    topup_max: Any = Field(default=None, json_schema_extra={"type": "number"},
                           description="The largest balance top-up, in major units of the store's currency")
    timezone: Any = None
    locale: Any = None
    theme: Any = None
    show_sold_count: Any = None
    prices_include_tax: Any = None
    tax_country: Any = None

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True)


# --- branding for its admins: friendly names (/api/branding) and field names (/api/tenants/current/branding)

class BrandColorsOut(Output):
    primary: str
    accent: str
    background: str
    text: str


class BrandingAdminOut(Output):
    """Seed A `GET /api/branding`: the branding with names a frontend reads easily."""

    store_name: str
    tagline: str
    logo: str | None = Field(description="URL of the logo (upload with `POST /api/branding/upload/logo`)")
    banner: str | None
    hero: str | None
    colors: BrandColorsOut
    font: str
    theme: str

    @classmethod
    def of(cls, store: Store) -> "BrandingAdminOut":
        settings = settings_of(store)
        b = settings.branding
        return cls(store_name=store.name, tagline=b.tagline, logo=b.logo_url, banner=b.banner_url, hero=b.hero_url,
                   colors=BrandColorsOut(primary=b.primary_color, accent=b.accent_color,
                                         background=b.background_color, text=b.text_color),
                   font=b.font_family, theme=settings.theme)


class BrandColorsIn(Input):
    primary: str | None = None
    accent: str | None = None
    background: str | None = None
    text: str | None = None


class BrandingAdminIn(Input):
    """`PUT /api/branding`: any of the friendly fields; `null` for an image removes it."""

    store_name: str | None = None
    tagline: str | None = None
    logo: str | None = None
    banner: str | None = None
    hero: str | None = None
    colors: BrandColorsIn | None = None
    font: str | None = None

    def changes(self) -> tuple[str | None, dict]:
        """(new store name, branding changes in field names)."""
        sent = self.model_dump(exclude_unset=True)
        out: dict[str, Any] = {}
        for friendly, field in (("tagline", "tagline"), ("font", "font_family"), ("logo", "logo_url"),
                                ("banner", "banner_url"), ("hero", "hero_url")):
            if friendly in sent:
                out[field] = sent[friendly]
        for key, value in (sent.get("colors") or {}).items():
            out[f"{key}_color"] = value
        return sent.get("store_name"), out


class BrandingFieldsIn(Input):
    """`PUT /api/tenants/current/branding`: the branding's own field names; only those sent change."""

    primary_color: str | None = None
    accent_color: str | None = None
    background_color: str | None = None
    text_color: str | None = None
    logo_url: str | None = None
    banner_url: str | None = None
    hero_url: str | None = None
    font_family: str | None = None
    tagline: str | None = None

    def changes(self) -> dict:
        return self.model_dump(exclude_unset=True)


class TenantOut(Output):
    """Seed A `GET /api/tenants/current`: the store itself and its whole configuration."""

    id: str
    slug: str
    name: str
    description: str
    custom_domain: str | None
    currency: str
    status: str
    is_default: bool
    created_at: datetime
    updated_at: datetime
    settings: StoreConfigOut

    @classmethod
    def of(cls, store: Store) -> "TenantOut":
        return cls(id=store.id, slug=store.slug, name=store.name, description=store.description or "",
                   custom_domain=store.custom_domain, currency=store.currency, status=store.status,
                   is_default=store.is_default, created_at=store.created_at, updated_at=store.updated_at,
                   settings=StoreConfigOut.of(store))


class CurrentTenantIn(StoreConfigIn):
    """`PUT /api/tenants/current`: the configuration document's fields (name, description, any
    setting) and the custom domain. The slug, currency and status belong to the platform team."""

    custom_domain: str | None = Field(default=None, description="A domain the store answers on; `null` removes it")
