"""Tag and attribute schemas."""
from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field

from .common import Input, Output


class TagIn(Input):
    name: str = Field(min_length=1, max_length=60, validation_alias=AliasChoices("name", "title"))
    slug: str | None = Field(default=None, max_length=80)


class AttributeIn(Input):
    name: str = Field(min_length=1, max_length=60, validation_alias=AliasChoices("name", "title"))
    values: list[Annotated[str, Field(min_length=1, max_length=80)]] | None = Field(default=None, max_length=200)


class AttributeValueIn(Input):
    value: str = Field(min_length=1, max_length=80)


class TagOut(Output):
    id: str
    name: str
    slug: str


class AttributeValueOut(Output):
    id: str
    attribute_id: str
    value: str


class AttributeOut(Output):
    id: str
    name: str
    slug: str
    values: list[AttributeValueOut]

    @classmethod
    def of(cls, attribute) -> "AttributeOut":
        return cls(id=attribute.id, name=attribute.name, slug=attribute.slug,
                   values=[AttributeValueOut(id=v.id, attribute_id=v.attribute_id, value=v.value)
                           for v in attribute.values])
