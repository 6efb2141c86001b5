"""Category schemas: the tree's nodes, their inputs and the list query."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from models import Category

from .common import Count, Id, Input, Output, PageQuery


class CategoryIn(Input):
    title: str = Field(min_length=1, max_length=120, validation_alias=AliasChoices("title", "name"))
    slug: str | None = Field(default=None, max_length=140)
    parent_id: Id | None = Field(default=None, validation_alias=AliasChoices("parent_id", "parentId", "parent"))
    hex_code: str | None = Field(default=None, max_length=7, validation_alias=AliasChoices("hex_code", "hexCode", "color"))
    description: str | None = Field(default=None, max_length=20_000)
    image_url: str | None = Field(default=None, max_length=500)
    sort_order: Count | None = None
    is_active: bool | None = Field(default=None, validation_alias=AliasChoices("is_active", "enabled"))

    def to_service(self) -> dict:
        data = self.model_dump(exclude_unset=True)
        data.setdefault("description", "")
        return {k: v for k, v in data.items() if v is not None or k == "parent_id"}


class CategoryUpdateIn(CategoryIn):
    title: str | None = Field(default=None, min_length=1, max_length=120,
                              validation_alias=AliasChoices("title", "name"))

    def to_service(self) -> dict:
        return self.model_dump(exclude_unset=True)


class CategoryQuery(PageQuery):
    flat: bool = False
    include_inactive: bool = Field(default=False, description="Staff only")


class CategoryRef(Output):
    id: str
    title: str
    slug: str
    hex_code: str


class CategoryOut(Output):
    id: str
    title: str
    name: str
    slug: str
    hex_code: str
    description: str
    image_url: str | None
    parent_id: str | None
    sort_order: int
    is_active: bool
    product_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def fields_of(cls, category: Category, product_count: int = 0) -> dict:
        return dict(id=category.id, title=category.title, name=category.title, slug=category.slug,
                    hex_code=category.hex_code, description=category.description, image_url=category.image_url,
                    parent_id=category.parent_id, sort_order=category.sort_order, is_active=category.is_active,
                    product_count=product_count, created_at=category.created_at, updated_at=category.updated_at)

    @classmethod
    def of(cls, category: Category, product_count: int = 0) -> "CategoryOut":
        return cls(**cls.fields_of(category, product_count))


class CategoryNodeOut(CategoryOut):
    """A category with its sub-categories (a tree; empty ``children`` in the flat list)."""

    children: list[CategoryNodeOut] = []

    @classmethod
    def node(cls, node: dict) -> "CategoryNodeOut":
        return cls(**cls.fields_of(node["category"], node.get("product_count", 0)),
                   children=[cls.node(child) for child in node.get("children", [])])
