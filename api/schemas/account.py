"""Seed B account schemas: the personal page and profile changes."""
from __future__ import annotations

from pydantic import AliasChoices, Field

from .auth import UserOut
from .common import Input
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
