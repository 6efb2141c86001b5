"""Product schemas: inputs (with nested subcategories), the list queries (Seed A and the storefront)
and the outputs (a list card, the detail with its subcategories, tags and images)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from apiflask.fields import UploadFile
from pydantic import AliasChoices, Field

from models import Category, Product, ProductImage, Store, Tag, Variant
from services.errors import Invalid
from services.products import ProductFilters

from .categories import CategoryRef
from .common import Amount, Count, Id, Input, Output, PageQuery, ViewedOutput, money_in, money_out
from .tags_attributes import TagOut
from .variants import VariantIn, VariantOut


class ReplacementIn(Input):
    replace_enabled: bool | None = None
    auto_replace_enabled: bool | None = None
    auto_replace_max_before_approval: Count | None = None
    warranty_time: Count | None = Field(default=None, description="Warranty in seconds")


class ProductIn(Input):
    title: str = Field(min_length=1, max_length=200, validation_alias=AliasChoices("title", "name"))
    slug: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=100_000)
    category_id: Id | None = Field(default=None, validation_alias=AliasChoices("category_id", "categoryId", "category"))
    is_enabled: bool | None = Field(default=None, validation_alias=AliasChoices("is_enabled", "enabled", "is_active"))
    is_featured: bool | None = None
    kind: Literal["digital", "physical"] | None = None
    tax_class: str | None = Field(default=None, max_length=32, description="standard, reduced, digital... (`/api/taxes`)")
    sort_order: Count | None = None
    replacement_settings: ReplacementIn | None = None
    tag_ids: list[Id] | None = Field(default=None, max_length=50)
    variants: list[VariantIn] | None = Field(default=None, max_length=100,
                                             validation_alias=AliasChoices("variants", "subcategories"))

    def to_service(self, currency: str) -> dict:
        data = self.model_dump(exclude_unset=True, exclude={"variants", "replacement_settings"})
        if self.replacement_settings is not None:
            data["replacement_settings"] = self.replacement_settings.model_dump(exclude_none=True)
        if self.variants:
            data["variants"] = [v.to_service(currency) for v in self.variants]
        return data


class ProductUpdateIn(ProductIn):
    title: str | None = Field(default=None, min_length=1, max_length=200,
                              validation_alias=AliasChoices("title", "name"))
    variants: None = Field(default=None, exclude=True,
                           description="Not accepted here: change variants through their own endpoints")


class ImageUploadIn(Input):
    """multipart/form-data: the image as ``file`` (or ``image``) and ``is_primary``."""

    file: UploadFile | None = None
    image: UploadFile | None = None
    is_primary: bool = False


SortBy = Literal["created_at", "title", "price", "popularity", "rating"]


def _price_range(min_price: Decimal | None, max_price: Decimal | None, currency: str) -> tuple[int | None, int | None]:
    low, high = money_in(min_price, currency, "min_price"), money_in(max_price, currency, "max_price")
    if low is not None and high is not None and low > high:
        raise Invalid("min_price cannot be above max_price", code="min_above_max",
                      details={"min_price": ["above max_price"]})
    return low, high


class ProductQuery(PageQuery):
    search: str | None = Field(default=None, max_length=100)
    category_id: str | None = Field(default=None, max_length=36)
    tag_id: str | None = Field(default=None, max_length=36)
    min_price: Amount | None = None
    max_price: Amount | None = None
    stock_status: Literal["in_stock", "out_of_stock", "low_stock"] | None = None
    is_featured: bool | None = None
    is_active: bool | None = Field(default=None, description="Enabled or disabled products; disabled ones are shown "
                                                             "to staff only, so `false` finds none for anyone else")
    sort_by: SortBy = "created_at"
    sort_dir: Literal["asc", "desc"] = "desc"

    def filters(self, currency: str, *, staff: bool) -> ProductFilters:
        low, high = _price_range(self.min_price, self.max_price, currency)
        return ProductFilters(
            search=self.search or None, category_id=self.category_id or None, tag_id=self.tag_id or None,
            min_price=low, max_price=high, stock_status=self.stock_status, is_featured=self.is_featured,
            is_active=self.is_active, sort_by=self.sort_by, sort_dir=self.sort_dir,
            include_hidden=staff,
        )


# storefront shorthands -> (sort_by, sort_dir)
STOREFRONT_SORTS = {"newest": ("created_at", "desc"), "oldest": ("created_at", "asc"),
                    "price_asc": ("price", "asc"), "price_desc": ("price", "desc"),
                    "popular": ("popularity", "desc"), "rating": ("rating", "desc"),
                    "name": ("title", "asc"), "title": ("title", "asc"), "created_at": ("created_at", "desc"),
                    "price": ("price", "asc"), "popularity": ("popularity", "desc")}


class StorefrontProductQuery(PageQuery):
    search: str | None = Field(default=None, max_length=100)
    category_slug: str | None = Field(default=None, max_length=140)
    min_price: Amount | None = None
    max_price: Amount | None = None
    in_stock: bool | None = None
    featured: bool | None = None
    sort_by: Literal[tuple(STOREFRONT_SORTS)] = "newest"  # type: ignore[valid-type]
    sort_dir: Literal["asc", "desc"] | None = None

    def filters(self, currency: str) -> ProductFilters:
        low, high = _price_range(self.min_price, self.max_price, currency)
        sort_by, sort_dir = STOREFRONT_SORTS[self.sort_by]
        stock = None if self.in_stock is None else ("in_stock" if self.in_stock else "out_of_stock")
        return ProductFilters(search=self.search or None, category_slug=self.category_slug or None,
                              min_price=low, max_price=high, stock_status=stock, is_featured=self.featured,
                              sort_by=sort_by, sort_dir=self.sort_dir or sort_dir)


class ImageOut(Output):
    id: str
    url: str
    is_primary: bool
    width: int
    height: int

    @classmethod
    def of(cls, image: ProductImage) -> "ImageOut":
        return cls(id=image.id, url=image.url, is_primary=image.is_primary, width=image.width, height=image.height)


class ReplacementOut(Output):
    replace_enabled: bool
    auto_replace_enabled: bool
    auto_replace_max_before_approval: int
    warranty_time: int


class ProductOut(ViewedOutput):
    id: str
    title: str
    slug: str
    description: str
    category: CategoryRef | None
    category_id: str | None
    enabled: bool
    is_active: bool
    is_featured: bool
    kind: str
    tax_class: str = "standard"
    replacement_settings: ReplacementOut
    average_rating: float
    review_count: int
    starting_at: float | None
    currency: str
    stock_count: int
    in_stock: bool
    view_count: int
    product_image_url: str | None
    tags: list[TagOut] = []
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, product: Product, store: Store, tags: list[Tag] | None = None) -> dict:
        category: Category | None = product.category
        currency = store.currency
        return dict(
            id=product.id, title=product.title, slug=product.slug, description=product.description,
            category=CategoryRef(id=category.id, title=category.title, slug=category.slug,
                                 hex_code=category.hex_code) if category else None,
            category_id=product.category_id, enabled=product.is_enabled, is_active=product.is_enabled,
            is_featured=product.is_featured, kind=product.kind, tax_class=product.tax_class or "standard",
            replacement_settings=ReplacementOut(
                replace_enabled=product.replace_enabled, auto_replace_enabled=product.auto_replace_enabled,
                auto_replace_max_before_approval=product.auto_replace_max_before_approval,
                warranty_time=product.warranty_time),
            average_rating=product.average_rating, review_count=product.review_count,
            starting_at=money_out(product.starting_at, currency), currency=currency,
            stock_count=product.stock_total, in_stock=product.stock_total > 0, view_count=product.view_count,
            product_image_url=product.primary_image_url,
            tags=[TagOut(id=t.id, name=t.name, slug=t.slug) for t in tags or []],
            created_at=product.created_at, updated_at=product.updated_at,
        )

    @classmethod
    def of(cls, product: Product, store: Store, tags: list[Tag] | None = None, *, view: str) -> "ProductOut":
        return cls(**cls.fields_of(product, store, tags)).in_view(view)


class ProductDetailOut(ProductOut):
    """A product with its images, tags and variants (``variants`` and ``subcategories`` are the same list)."""

    images: list[ImageOut]
    variants: list[VariantOut]
    subcategories: list[VariantOut]

    @classmethod
    def detail(cls, product: Product, store: Store, tags: list[Tag], variants: list[Variant], *,
               view: str) -> "ProductDetailOut":
        items = [VariantOut.of(v, store.currency, view=view) for v in variants]
        return cls(**cls.fields_of(product, store, tags), images=[ImageOut.of(i) for i in product.images],
                   variants=items, subcategories=items).in_view(view)


class SubcategoryOut(VariantOut):
    """A subcategory with its parent product's summary."""

    product: ProductOut

    @classmethod
    def with_product(cls, variant: Variant, store: Store, tags: list[Tag], *, view: str) -> "SubcategoryOut":
        return cls(**VariantOut.fields_of(variant, store.currency),
                   product=ProductOut.of(variant.product, store, tags, view=view)).in_view(view)
