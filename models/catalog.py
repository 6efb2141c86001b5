"""Catalog: categories (a tree), products, images, variants (= Seed B subcategories), tags, attributes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from .base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow

PRODUCT_KINDS = ("digital", "physical")


class Category(IdMixin, TenantScoped, Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("store_id", "slug"),)

    parent_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(120), nullable=False)
    slug: Mapped[str] = mapped_column(String(140), nullable=False)
    hex_code: Mapped[str] = mapped_column(String(7), default="#6366f1", nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    image_url: Mapped[str | None] = mapped_column(String(500))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)


class Product(IdMixin, TenantScoped, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("store_id", "slug"),
        CheckConstraint("kind IN ('digital', 'physical')", name="kind"),
        CheckConstraint("warranty_time >= 0", name="warranty_not_negative"),
        CheckConstraint("auto_replace_max_before_approval >= 0", name="auto_replace_max_not_negative"),
        # the shop's and the API's product lists (services.products.product_page): a page's ids and the
        # total from the index alone, in the sort's order (the id is the tie-breaker), with what the
        # visible-product filter asks (bench/README.md, "Catalog speed, issue 16 (second pass)")
        Index("ix_products_list_created_at", "store_id", "created_at", "id", "is_enabled", "deleted_at"),
        Index("ix_products_list_price", "store_id", "starting_at", "id", "is_enabled", "deleted_at"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(220), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)  # sanitised HTML
    category_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("categories.id", ondelete="SET NULL"), index=True)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)  # Seed B enabled / Seed A is_active
    is_featured: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), default="digital", nullable=False)
    tax_class: Mapped[str] = mapped_column(String(32), default="standard", nullable=False)  # services.taxes
    # replacement_settings (Seed B)
    replace_enabled: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    auto_replace_enabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    auto_replace_max_before_approval: Mapped[int] = mapped_column(Integer, default=3, nullable=False)
    warranty_time: Mapped[int] = mapped_column(Integer, default=86400, nullable=False)  # seconds
    # caches kept correct by the services that change them
    view_count: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    average_rating: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    review_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    starting_at: Mapped[int | None] = mapped_column(BigInteger)  # lowest active variant price, minor units
    stock_total: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)  # sum of active variants' stock
    primary_image_url: Mapped[str | None] = mapped_column(String(500))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # soft delete keeps order history
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    category: Mapped[Category | None] = relationship(lazy="raise")
    variants: Mapped[list[Variant]] = relationship(back_populates="product", lazy="raise",
                                                   order_by="Variant.sort_order, Variant.price")
    images: Mapped[list[ProductImage]] = relationship(lazy="raise", order_by="ProductImage.sort_order",
                                                      cascade="all, delete-orphan")


class ProductImage(IdMixin, TenantScoped, Base):
    __tablename__ = "product_images"

    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"), index=True, nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(255), nullable=False)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    width: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    height: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class Variant(IdMixin, TenantScoped, Base):
    """Seed B's Subcategory and Seed A's Variant: one purchasable option of a product."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("min_quantity >= 1", name="min_quantity_positive"),
        CheckConstraint("max_quantity >= 0", name="max_quantity_not_negative"),
        CheckConstraint("max_quantity = 0 OR max_quantity >= min_quantity", name="min_not_above_max"),
        CheckConstraint("stock_count >= 0", name="stock_not_negative"),
    )

    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    sku: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[int] = mapped_column(BigInteger, nullable=False)  # minor units
    min_quantity: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    max_quantity: Mapped[int] = mapped_column(Integer, default=0, nullable=False)  # 0 = no limit
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Digital: cached count of unsold, unreserved stock items. Physical: the inventory count.
    stock_count: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    low_stock_threshold: Mapped[int] = mapped_column(Integer, default=5, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False)

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")
    attribute_values: Mapped[list[AttributeValue]] = relationship(secondary="variant_attribute_values", lazy="raise")


class Tag(IdMixin, TenantScoped, Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("store_id", "slug"),)

    name: Mapped[str] = mapped_column(String(60), nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)


class ProductTag(TenantScoped, Base):
    __tablename__ = "product_tags"

    product_id: Mapped[str] = mapped_column(String(36), ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[str] = mapped_column(String(36), ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)


class Attribute(IdMixin, TenantScoped, Base):
    __tablename__ = "attributes"
    __table_args__ = (UniqueConstraint("store_id", "slug"),)

    name: Mapped[str] = mapped_column(String(60), nullable=False)
    slug: Mapped[str] = mapped_column(String(80), nullable=False)

    values: Mapped[list[AttributeValue]] = relationship(lazy="raise", order_by="AttributeValue.sort_order",
                                                        cascade="all, delete-orphan")


class AttributeValue(IdMixin, TenantScoped, Base):
    __tablename__ = "attribute_values"
    __table_args__ = (UniqueConstraint("attribute_id", "value"),)

    attribute_id: Mapped[str] = mapped_column(String(36), ForeignKey("attributes.id", ondelete="CASCADE"), index=True, nullable=False)
    value: Mapped[str] = mapped_column(String(80), nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class VariantAttributeValue(TenantScoped, Base):
    __tablename__ = "variant_attribute_values"

    variant_id: Mapped[str] = mapped_column(String(36), ForeignKey("variants.id", ondelete="CASCADE"), primary_key=True)
    attribute_value_id: Mapped[str] = mapped_column(String(36), ForeignKey("attribute_values.id", ondelete="CASCADE"),
                                                    primary_key=True, index=True)


class SlugRedirect(IdMixin, TenantScoped, Base):
    """A retired slug of a product or category: the shop's old address (``/p/<slug>``, ``/c/<slug>``)
    answers a permanent redirect to the row's current slug. Written by the one function that changes
    a slug (``services.slugs.retire_slug``); removed when a live row takes the slug again, or when
    its target is deleted. Points at the row's id, so a chain (a -> b -> c) lands on the current slug."""

    __tablename__ = "slug_redirects"
    __tenant_index__ = False  # the unique constraint leads with store_id
    __table_args__ = (
        UniqueConstraint("store_id", "kind", "slug"),
        CheckConstraint("kind IN ('product', 'category')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    slug: Mapped[str] = mapped_column(String(220), nullable=False)
    target_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)


# What a shop card needs for "Only N left" without a query of its own: the highest low-stock
# threshold among the product's variants for sale that have stock. Deferred: only the shop's grids
# ask for it (``undefer`` in services/storefront.py), as one correlated subquery of the page's
# statement. Written against the table, not the entity: the tenancy listener would add a
# ``store_id`` filter to an ORM subquery, and SQLite's planner then walks the store's variants
# (``ix_variants_store_id``) for every row: seconds for 3,000 products. Correlated on the product
# alone (product ids are unique; the product row itself is scoped), the lookup goes through
# ``ix_variants_product_id``.
_variants = Variant.__table__
Product.low_stock_limit = column_property(
    select(func.max(_variants.c.low_stock_threshold))
    .where(_variants.c.product_id == Product.id, _variants.c.deleted_at.is_(None), _variants.c.is_active.is_(True), _variants.c.stock_count > 0)
    .correlate_except(_variants).scalar_subquery(),
    deferred=True,
)
