"""Seed B account schemas: the personal page and profile changes."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from .auth import UserOut
from .common import Input, Output
from .orders import OrderOut


class ProfileUpdateIn(Input):
    """A new ``email`` and/or a new ``password``, confirmed with ``current_password``."""

    email: str | None = Field(default=None, min_length=3, max_length=254)
    password: str | None = Field(default=None, min_length=1, max_length=128,
                                 validation_alias=AliasChoices("password", "new_password", "newPassword"))
    current_password: str = Field(min_length=1, max_length=128,
                                  validation_alias=AliasChoices("current_password", "currentPassword",
                                                                "old_password", "oldPassword"))


class PersonalOut(UserOut):
    """The user's profile and balance, with their latest orders (summaries, newest first)."""

    order_count: int
    recent_orders: list[OrderOut]


# --- Seed A self-service: /api/customers/me -----------------------------------------------

class MeOut(Output):
    """Your profile. ``name`` is ``full_name`` under its short name; ``locale`` is a BCP 47 tag
    (null: the store's language)."""

    id: str
    username: str
    email: str
    full_name: str
    name: str
    phone: str
    locale: str | None
    role: str
    balance: float
    currency: str
    created_at: datetime


class MeUpdateIn(Input):
    """The fields to change (only those sent): ``full_name`` (or ``name``), ``username``, ``phone``,
    ``locale`` (an empty string or null clears it)."""

    full_name: str | None = Field(default=None, max_length=120, validation_alias=AliasChoices("full_name", "name",
                                                                                              "fullName"))
    username: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    locale: str | None = Field(default=None, max_length=16)


class PasswordChangeIn(Input):
    current_password: str = Field(min_length=1, max_length=128,
                                  validation_alias=AliasChoices("current_password", "currentPassword",
                                                                "old_password", "oldPassword"))
    new_password: str = Field(min_length=1, max_length=128,
                              validation_alias=AliasChoices("new_password", "newPassword", "password"))


class DeleteAccountIn(Input):
    """Your password, once more."""

    password: str = Field(min_length=1, max_length=128,
                          validation_alias=AliasChoices("password", "current_password", "currentPassword"))
