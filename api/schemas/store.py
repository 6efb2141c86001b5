"""Store configuration as the storefront and admins see it."""
from __future__ import annotations

from models import Store
from services import payments
from services.stores import AnnouncementBar, Branding, ExternalLink, settings_of

from .common import Output


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
