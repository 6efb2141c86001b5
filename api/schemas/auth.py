"""Auth and account schemas."""
from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from models import Store, User
from services.money import to_major

from .common import Input, Output


class RegisterIn(Input):
    username: str = Field(min_length=3, max_length=32)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=128)


class LoginIn(Input):
    login: str = Field(min_length=1, max_length=254,
                       validation_alias=AliasChoices("login", "email", "username", "identifier"))
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(Input):
    refresh_token: str | None = Field(default=None, max_length=4096)


class ForgotIn(Input):
    email: str = Field(min_length=3, max_length=254)


class ResetIn(Input):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=1, max_length=128,
                          validation_alias=AliasChoices("password", "new_password", "newPassword"))


class UserOut(Output):
    id: str
    username: str
    email: str
    role: str
    balance: float
    currency: str
    discount: float
    store_id: str | None
    created_at: datetime
    creation_unix: int
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User, store: Store) -> "UserOut":
        return cls(
            id=user.id, username=user.username, email=user.email, role=user.role,
            balance=to_major(user.balance, store.currency), currency=store.currency,
            discount=user.discount_percent, store_id=user.store_id, created_at=user.created_at,
            creation_unix=int(user.created_at.timestamp()), last_login_at=user.last_login_at,
        )


class TokensOut(Output):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    expires_at: datetime
    user: UserOut


class GuestTokenOut(Output):
    token: str
    access_token: str
    token_type: str
    guest_id: str
    role: str
    expires_at: datetime
