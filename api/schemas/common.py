"""Shared request/response models: strict inputs, pagination, messages."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.errors import Invalid
from services.money import to_major, to_minor
from services.variants import MAX_PRICE


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


# --- shared field types and money at the edge (major units in JSON, minor units inside) ---

INT32 = 2**31 - 1


Amount = Annotated[Decimal, Field(allow_inf_nan=False)]


Count = Annotated[int, Field(strict=True, ge=0, le=INT32)]


Positive = Annotated[int, Field(strict=True, ge=1, le=INT32)]


Id = Annotated[str, Field(min_length=1, max_length=36)]


def money_in(value: Decimal | None, currency: str, field: str) -> int | None:
    """Major units in, minor units out; negative or absurd amounts are a 422."""
    if value is None:
        return None
    minor = to_minor(value, currency, field=field)
    if minor < 0:
        raise Invalid(f"{field} cannot be negative", details={field: ["negative"]})
    if minor > MAX_PRICE:
        raise Invalid(f"{field} is too large", details={field: ["too large"]})
    return minor


def money_out(minor: int | None, currency: str) -> float | None:
    return None if minor is None else to_major(minor, currency)
