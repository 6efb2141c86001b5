"""Shared request/response models: strict inputs, pagination, messages."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, create_model


class Input(BaseModel):
    """Request bodies: unknown fields are refused (nobody sets ``role`` or ``balance`` by accident)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageQuery(Query):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)


class Message(Output):
    message: str


_pages: dict[type, type[BaseModel]] = {}


def page_of(item: type[BaseModel]) -> type[BaseModel]:
    """``{"items": [...], "page", "page_size", "total", "pages"}`` for an item model."""
    if item not in _pages:
        _pages[item] = create_model(
            f"{item.__name__}Page", __base__=Output,
            items=(list[item], ...), page=(int, ...), page_size=(int, ...), total=(int, ...), pages=(int, ...),
        )
    return _pages[item]

