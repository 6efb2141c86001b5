"""Subcategory (variant) schemas: price, quantity limits and stock, in and out."""
from __future__ import annotations

from pydantic import AliasChoices, Field

from models import Variant
from services.errors import Invalid
from services.money import to_major

from .common import Amount, Count, Id, Input, Positive, ViewedOutput, money_in, only_in
from .tags_attributes import AttributeValueOut


class VariantIn(Input):
    """A variant (Seed B: subcategory). ``price`` in major units."""

    title: str = Field(min_length=1, max_length=200, validation_alias=AliasChoices("title", "name"))
    price: Amount
    sku: str | None = Field(default=None, max_length=64)
    min_quantity: Positive | None = None
    max_quantity: Count | None = Field(default=None, description="0 = no limit")
    weight_grams: Count | None = None
    is_active: bool | None = Field(default=None, validation_alias=AliasChoices("is_active", "enabled"))
    low_stock_threshold: Count | None = None
    sort_order: Count | None = None
    stock_count: Count | None = Field(default=None, description="Inventory count (physical products only)")
    attribute_value_ids: list[Id] | None = Field(default=None, max_length=50)

    def to_service(self, currency: str) -> dict:
        data = self.model_dump(exclude_unset=True)
        data["price"] = money_in(self.price, currency, "price")
        return data


class VariantUpdateIn(VariantIn):
    title: str | None = Field(default=None, min_length=1, max_length=200,
                              validation_alias=AliasChoices("title", "name"))
    price: Amount | None = None

    def to_service(self, currency: str) -> dict:
        data = self.model_dump(exclude_unset=True)
        if "price" in data:
            if self.price is None:
                raise Invalid("price cannot be empty", details={"price": ["required"]})
            data["price"] = money_in(self.price, currency, "price")
        return data


class SubcategoryCreateIn(VariantIn):
    """Seed B: ``POST /api/admin/subcategory/create`` names its product in the body."""

    product_id: Id = Field(validation_alias=AliasChoices("product_id", "productId", "product"))

    def to_service(self, currency: str) -> dict:
        data = super().to_service(currency)
        data.pop("product_id", None)
        return data


class VariantOut(ViewedOutput):
    """A variant (Seed B: subcategory). Views: ``shopper`` and ``staff`` (``low_stock_threshold``)."""

    id: str
    product_id: str
    title: str
    sku: str | None
    price: float
    currency: str
    min_quantity: int
    max_quantity: int
    stock_count: int
    in_stock: bool
    is_active: bool
    weight_grams: int | None
    attribute_values: list[AttributeValueOut]
    low_stock_threshold: int = Field(description="Below this count the admins are emailed", **only_in("staff"))

    @classmethod
    def fields_of(cls, variant: Variant, currency: str) -> dict:
        return dict(
            id=variant.id, product_id=variant.product_id, title=variant.title, sku=variant.sku,
            price=to_major(variant.price, currency), currency=currency, min_quantity=variant.min_quantity,
            max_quantity=variant.max_quantity, stock_count=variant.stock_count, in_stock=variant.stock_count > 0,
            is_active=variant.is_active, weight_grams=variant.weight_grams,
            attribute_values=[AttributeValueOut(id=v.id, attribute_id=v.attribute_id, value=v.value)
                              for v in variant.attribute_values],
            low_stock_threshold=variant.low_stock_threshold,
        )

    @classmethod
    def of(cls, variant: Variant, currency: str, *, view: str) -> "VariantOut":
        return cls(**cls.fields_of(variant, currency)).in_view(view)
