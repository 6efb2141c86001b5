"""Factories: every store-owned thing is made inside a store."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

from extensions import db
from models import Role, Store, User
from services import auth as auth_service
from services import stores as store_service
from tenancy import platform_scope, tenant_scope

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


class Factory:
    def __init__(self, app):
        self.app = app

    @contextmanager
    def scope(self, store=None):
        """An app context bound to ``store`` (platform scope when None); commits at the end."""
        with self.app.app_context():
            ctx = tenant_scope(store) if store is not None else platform_scope()
            with ctx:
                yield db.session
                db.session.commit()

    def store(self, slug: str, name: str, *, domain: str | None = None, default: bool = False,
              status: str = "active", **settings) -> Store:
        with self.app.app_context():
            store = store_service.create_store(slug, name, domain=domain, is_default=default)
            if settings:
                store_service.update_settings(store, settings)
            store.status = status
            db.session.commit()
            return store

    def user(self, store: Store | None, *, role: str = "USER", username: str | None = None,
             email: str | None = None, password: str = PASSWORD, balance: int = 0, discount_bps: int = 0) -> User:
        n = next(_seq)
        role_enum = Role(role)
        with self.scope(None if role_enum == Role.SYSADMIN else store):
            user = auth_service.create_user(
                username=username or f"{role.lower()}{n}", email=email or f"{role.lower()}{n}@example.com",
                password=password, role=role_enum, check_strength=False,
            )
            user.balance = balance
            user.discount_bps = discount_bps
        return user

    def tokens(self, user: User, store: Store) -> dict:
        with self.app.test_request_context(), tenant_scope(store):
            fresh = db.session.scalar(select(User).where(User.id == user.id).execution_options(all_stores=True))
            return auth_service.issue_tokens(fresh)

    def expired_tokens(self, user: User, store: Store) -> dict:
        """A pair whose access token expired a minute ago while the refresh token still works: a
        client coming back after the access token's 15 minutes."""
        ttl = self.app.config["JWT_ACCESS_TOKEN_EXPIRES"]
        self.app.config["JWT_ACCESS_TOKEN_EXPIRES"] = timedelta(minutes=-1)
        try:
            return self.tokens(user, store)
        finally:
            self.app.config["JWT_ACCESS_TOKEN_EXPIRES"] = ttl

    def expired_headers(self, user: User, store: Store) -> dict:
        return {"Authorization": f"Bearer {self.expired_tokens(user, store)['access_token']}"}

    def headers(self, user: User, store: Store) -> dict:
        return {"Authorization": f"Bearer {self.tokens(user, store)['access_token']}"}

    def set_status(self, store: Store, status: str) -> None:
        with self.app.app_context():
            db.session.get(Store, store.id).status = status
            db.session.commit()
