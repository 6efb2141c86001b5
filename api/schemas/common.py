"""Shared request/response models: strict inputs, pagination, messages."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    model_serializer,
    model_validator,
)

from services.money import money_in, to_major  # noqa: F401 - money_in (services.money): the schemas import it from here
from services.text import CONTROL_MESSAGE, control_char_path


def _refuse_control_chars(data, raw_fields: tuple[str, ...] = ()):
    if raw_fields and isinstance(data, dict):
        data_checked = {k: v for k, v in data.items() if k not in raw_fields}
    else:
        data_checked = data
    where = control_char_path(data_checked)
    if where is not None:
        raise ValueError(f"{where} {CONTROL_MESSAGE}")
    return data


class Input(BaseModel):
    """Request bodies: unknown fields are refused (nobody sets ``role`` or ``balance`` by accident),
    and so is any string with a control character, wherever it sits in the body. ``raw_fields``
    are checked by their service instead (a stock list, with the line it is on)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)
    raw_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _no_control_chars(cls, data):
        return _refuse_control_chars(data, cls.raw_fields)


class Query(BaseModel):
    """Query strings: an empty parameter (``max_price=``) means the parameter is absent."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_control_chars(cls, data):
        _refuse_control_chars(data)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value != ""}
        return data


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ViewedOutput(Output):
    """An answer whose fields depend on who reads it: named views by audience, as CTFd's schemas
    have them. A field that not every view shows says which ones do, once, in its declaration:
    ``deliverables: list[str] = Field(default_factory=list, **only_in("buyer", "guest", "staff"))``
    (the OpenAPI document shows it as ``x-views``). The handler picks the view from the caller
    (``api.access``) and calls ``in_view``; an answer nobody put in a view shows only the fields
    every view shows (fail closed). Nested viewed answers take the same view."""

    _view: str = PrivateAttr(default="")

    def in_view(self, view: str) -> Self:
        self._view = view
        for value in self.__dict__.values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, ViewedOutput):
                    item.in_view(view)
        return self

    @model_serializer(mode="wrap")
    def _only_in_view(self, handler):
        data = handler(self)
        for key, name, views in _restricted_fields(type(self)):
            if self._view not in views:
                data.pop(key, None)
                data.pop(name, None)
        return data

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        """A field shown only in some views is never required: the other views leave it out."""
        json_schema = handler.resolve_ref_schema(handler(core_schema))
        restricted = {field.serialization_alias or field.alias or name
                      for name, field in cls.model_fields.items() if _views_of(field) is not None}
        required = [name for name in json_schema.get("required", []) if name not in restricted]
        if required:
            json_schema["required"] = required
        else:
            json_schema.pop("required", None)
        return json_schema


_RESTRICTED: dict[type, tuple] = {}


def _restricted_fields(cls: type[BaseModel]) -> tuple:
    """(serialised name, name, views) of each field of ``cls`` not every view shows: worked out once
    per class (a list of 24 products asked it of every field of every product)."""
    found = _RESTRICTED.get(cls)
    if found is None:
        found = _RESTRICTED[cls] = tuple(
            (field.serialization_alias or field.alias or name, name, tuple(views))
            for name, field in cls.model_fields.items() if (views := _views_of(field)) is not None)
    return found


def _views_of(field) -> list[str] | None:
    """The views a field is shown in (``only_in``); None: every view."""
    return field.json_schema_extra.get("x-views") if isinstance(field.json_schema_extra, dict) else None


def only_in(*views: str) -> dict:
    """Field options for a field shown only in these views."""
    return {"json_schema_extra": {"x-views": list(views)}}


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


def _day_or_moment(value):
    """``2026-11-29`` is a day; anything with a time (``T`` or a space) is a moment, even midnight."""
    if isinstance(value, str):
        text = value.strip()
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if ("T" in text or " " in text) \
            else date.fromisoformat(text)
    return value


# A date filter: a day (the whole UTC day) or a moment (UTC when it has no zone): services.orders._bound
DayOrMoment = Annotated[datetime | date, BeforeValidator(_day_or_moment)]


# --- shared field types and money at the edge (major units in JSON, minor units inside) ---

INT32 = 2**31 - 1


_AMOUNT_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


def _amount(value):
    """An amount is a JSON number (``49.99``), or, where a form sends text (multipart), exactly
    such a number as text. Not a boolean, not text with spaces, signs like ``+5`` or ``-0``."""
    if isinstance(value, bool):
        raise ValueError("an amount is a number, such as 49.99")
    if isinstance(value, str):
        if not _AMOUNT_TEXT.match(value) or (value.startswith("-") and Decimal(value) == 0):
            raise ValueError("an amount is a number, such as 49.99")
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount), Field(allow_inf_nan=False)]


Count = Annotated[int, Field(strict=True, ge=0, le=INT32)]


Positive = Annotated[int, Field(strict=True, ge=1, le=INT32)]


Id = Annotated[str, Field(min_length=1, max_length=36)]


def money_out(minor: int | None, currency: str) -> float | None:
    return None if minor is None else to_major(minor, currency)
