"""Shipping zones and their methods, and tax rules (Seed A "Shipping" and "Taxes").

A zone is a set of countries, optionally narrowed to postal-code prefixes, or the "rest of the
world" (every destination no other zone takes). A method is a flat rate, a price by weight bands
(``weight_bands``: ``[{"up_to_grams": 500, "price": 450}, ...]``, ascending), or free shipping
offered from a subtotal; any method may also turn free from ``free_threshold``. Money is in
minor units. A tax rule is a rate (basis points) for a country (and optional region) and a tax
class, with a priority; ``services.taxes`` picks one rule per line.
"""
from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, TenantScoped

SHIPPING_KINDS = ("flat", "weight", "free")


class ShippingZone(IdMixin, TenantScoped, Base):
    __tablename__ = "shipping_zones"

    name: Mapped[str] = mapped_column(String(120), nullable=False)
    countries: Mapped[list] = mapped_column(JSON, default=list, nullable=False)  # ISO 3166-1 alpha-2, upper-case
    postal_prefixes: Mapped[list] = mapped_column(JSON, default=list, nullable=False)  # normalised: no spaces/dashes
    rest_of_world: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    methods: Mapped[list[ShippingMethod]] = relationship(
        back_populates="zone", lazy="raise", cascade="all, delete-orphan", passive_deletes=True,
        order_by="ShippingMethod.position, ShippingMethod.created_at")


class ShippingMethod(IdMixin, TenantScoped, Base):
    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("kind IN ('flat', 'weight', 'free')", name="kind"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("free_threshold IS NULL OR free_threshold >= 0", name="threshold_not_negative"),
        CheckConstraint("min_days IS NULL OR min_days >= 0", name="min_days_not_negative"),
        CheckConstraint("max_days IS NULL OR min_days IS NULL OR max_days >= min_days", name="days_in_order"),
    )

    zone_id: Mapped[str] = mapped_column(String(36), ForeignKey("shipping_zones.id", ondelete="CASCADE"),
                                         index=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    price: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # flat: the rate
    weight_bands: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    free_threshold: Mapped[int | None] = mapped_column(BigInteger)  # subtotal from which it costs nothing
    min_days: Mapped[int | None] = mapped_column(Integer)
    max_days: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    zone: Mapped[ShippingZone] = relationship(back_populates="methods", lazy="raise")


class TaxRule(IdMixin, TenantScoped, Base):
    __tablename__ = "tax_rules"
    __table_args__ = (
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 100000", name="rate_in_range"),
    )

    name: Mapped[str] = mapped_column(String(120), nullable=False)  # "VAT", shown on the order's tax line
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    region: Mapped[str] = mapped_column(String(64), default="", nullable=False)  # "" = the whole country
    tax_class: Mapped[str] = mapped_column(String(32), default="standard", nullable=False)
    rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)  # 2300 = 23 %
    priority: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
