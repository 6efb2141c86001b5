"""Shipping schemas. Money in major units (``4.99``) with the store's currency; weights in grams."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from models import ShippingMethod, ShippingZone
from services.money import to_major
from services.shipping import Option, delivery_text

from .common import Amount, Input, Output, Query, money_in, page_of

KIND_ALIASES = {"flat_rate": "flat", "weight_based": "weight", "by_weight": "weight", "free_shipping": "free"}
Kind = Literal["flat", "weight", "free", "flat_rate", "weight_based", "by_weight", "free_shipping"]
Days = int


class ZoneIn(Input):
    name: str = Field(min_length=1, max_length=120)
    countries: list[str] = Field(default_factory=list, max_length=300, description="Two-letter ISO codes")
    postal_prefixes: list[str] | None = Field(
        default=None, max_length=1000, validation_alias=AliasChoices("postal_prefixes", "postal_codes", "postcodes"),
        description="Only postal codes starting with one of these (spaces and dashes ignored)")
    rest_of_world: bool | None = Field(default=None, validation_alias=AliasChoices("rest_of_world", "is_rest_of_world"),
                                       description="Takes every destination no other zone takes")
    position: int | None = Field(default=None, ge=-10_000, le=10_000)

    def to_service(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None or k == "postal_prefixes"}


class ZoneUpdateIn(ZoneIn):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    countries: list[str] | None = Field(default=None, max_length=300)


class BandIn(Input):
    up_to_grams: int = Field(strict=True, ge=1, le=10**9,
                             validation_alias=AliasChoices("up_to_grams", "max_weight", "up_to"))
    price: Amount


class MethodIn(Input):
    name: str = Field(min_length=1, max_length=120)
    kind: Kind = Field(validation_alias=AliasChoices("kind", "type"),
                       description="flat (one price), weight (by weight_bands) or free (from free_threshold)")
    price: Amount | None = Field(default=None, validation_alias=AliasChoices("price", "rate", "cost"))
    weight_bands: list[BandIn] | None = Field(default=None, max_length=100,
                                              description="`[{up_to_grams, price}]`: a parcel up to that weight costs that")
    free_threshold: Amount | None = Field(
        default=None, validation_alias=AliasChoices("free_threshold", "free_above", "min_subtotal"),
        description="From this subtotal the method costs nothing (required for kind free; 0: always)")
    min_days: int | None = Field(default=None, strict=True, ge=0, le=365)
    max_days: int | None = Field(default=None, strict=True, ge=0, le=365)
    is_active: bool | None = Field(default=None, validation_alias=AliasChoices("is_active", "active", "enabled"))
    position: int | None = Field(default=None, strict=True, ge=-10_000, le=10_000)

    def to_service(self, currency: str) -> dict:
        data = self.model_dump(exclude_unset=True)
        if data.get("kind"):
            data["kind"] = KIND_ALIASES.get(data["kind"], data["kind"])
        if "price" in data:
            data["price"] = money_in(self.price, currency, "price") or 0
        if "free_threshold" in data:
            data["free_threshold"] = money_in(self.free_threshold, currency, "free_threshold")
        if "weight_bands" in data:
            data["weight_bands"] = [{"up_to_grams": b.up_to_grams, "price": money_in(b.price, currency, "weight_bands")}
                                    for b in self.weight_bands or []]
        for key in ("is_active", "position", "name", "kind"):
            if key in data and data[key] is None:
                data.pop(key)
        return data


class MethodUpdateIn(MethodIn):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    kind: Kind | None = Field(default=None, validation_alias=AliasChoices("kind", "type"))


class BandOut(Output):
    up_to_grams: int
    price: float


class MethodOut(Output):
    id: str
    zone_id: str
    name: str
    kind: str
    price: float
    currency: str
    weight_bands: list[BandOut]
    free_threshold: float | None
    min_days: int | None
    max_days: int | None
    delivery_estimate: str
    is_active: bool
    position: int

    @classmethod
    def of(cls, method: ShippingMethod, currency: str) -> "MethodOut":
        return cls(id=method.id, zone_id=method.zone_id, name=method.name, kind=method.kind,
                   price=to_major(method.price, currency), currency=currency,
                   weight_bands=[BandOut(up_to_grams=b["up_to_grams"], price=to_major(b["price"], currency))
                                 for b in method.weight_bands or []],
                   free_threshold=None if method.free_threshold is None else to_major(method.free_threshold, currency),
                   min_days=method.min_days, max_days=method.max_days,
                   delivery_estimate=delivery_text(method.min_days, method.max_days),
                   is_active=method.is_active, position=method.position)


class ZoneOut(Output):
    id: str
    name: str
    countries: list[str]
    postal_prefixes: list[str]
    rest_of_world: bool
    position: int
    methods: list[MethodOut]
    created_at: datetime

    @classmethod
    def of(cls, zone: ShippingZone, currency: str) -> "ZoneOut":
        return cls(id=zone.id, name=zone.name, countries=list(zone.countries or []),
                   postal_prefixes=list(zone.postal_prefixes or []), rest_of_world=zone.rest_of_world,
                   position=zone.position, methods=[MethodOut.of(m, currency) for m in zone.methods],
                   created_at=zone.created_at)


class ZoneList(page_of(ZoneOut)):
    """A page of the shipping zones (RECONCILE.md's list envelope)."""


class CalculateQuery(Query):
    """``GET /api/shipping/calculate?country=PT&postal_code=1000-001&weight=750&total=42.50``."""

    country: str = Field(min_length=2, max_length=2)
    postal_code: str | None = Field(default=None, max_length=20,
                                    validation_alias=AliasChoices("postal_code", "postcode", "zip"))
    weight: int = Field(default=0, ge=0, le=10**9, validation_alias=AliasChoices("weight", "weight_grams"),
                        description="Grams")
    total: Amount = Field(default=0, validation_alias=AliasChoices("total", "subtotal"),
                          description="The order's subtotal, major units")


class CalculateIn(Input):
    """``POST /api/shipping/calculate`` ``{country, postcode, weight, subtotal}``."""

    country: str = Field(min_length=2, max_length=2)
    postcode: str | None = Field(default=None, max_length=20,
                                 validation_alias=AliasChoices("postcode", "postal_code", "zip"))
    weight: int = Field(default=0, strict=True, ge=0, le=10**9, validation_alias=AliasChoices("weight", "weight_grams"),
                        description="Grams")
    subtotal: Amount = Field(default=0, validation_alias=AliasChoices("subtotal", "total"),
                             description="The order's subtotal, major units")


class OptionOut(Output):
    method_id: str
    name: str
    kind: str
    price: float
    currency: str
    is_free: bool
    min_days: int | None
    max_days: int | None
    delivery_estimate: str

    @classmethod
    def of(cls, option: Option, currency: str) -> "OptionOut":
        return cls(method_id=option.method_id, name=option.name, kind=option.kind,
                   price=to_major(option.price, currency), currency=currency, is_free=option.is_free,
                   min_days=option.min_days, max_days=option.max_days, delivery_estimate=option.delivery_estimate)


class ZoneRef(Output):
    id: str
    name: str


class CalculateOut(Output):
    country: str
    postal_code: str | None
    weight: int
    subtotal: float
    currency: str
    zone: ZoneRef | None = Field(description="The zone that ships there; null: the store does not ship there")
    options: list[OptionOut]
