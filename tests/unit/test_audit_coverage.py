"""Every model decides about the audit log: audited (``__audit__`` or ``models.audit.AUDITED``) or
not (``NOT_AUDITED``, with a reason). A new model without a decision fails here; so does a secret
column that the deny-list would let through."""
from __future__ import annotations

from sqlalchemy import Column, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models import AUDITED, NOT_AUDITED, AuditSpec, Base
from models.audit import is_denied, spec_for
from services.audit import changes_of


def undecided(mappers) -> list[str]:
    return sorted(m.class_.__name__ for m in mappers
                  if spec_for(m.class_) is None and m.class_.__name__ not in NOT_AUDITED)


def test_every_model_is_audited_or_says_why_not():
    missing = undecided(Base.registry.mappers)
    assert not missing, f"decide about the audit log for: {missing} (models/audit.py)"
    names = {m.class_.__name__ for m in Base.registry.mappers}
    both = sorted(n for n in names if n in NOT_AUDITED and (n in AUDITED))
    assert not both, f"audited and not audited at once: {both}"
    stale = sorted((set(AUDITED) | set(NOT_AUDITED)) - names)
    assert not stale, f"no such models any more: {stale}"
    assert all(reason.strip() for reason in NOT_AUDITED.values())


def test_a_new_model_without_a_decision_is_caught():
    class Scratch(DeclarativeBase):
        pass

    class Wishlist(Scratch):  # what a new feature would add
        __tablename__ = "wishlists"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)

    class Plan(Scratch):  # a model that opts in with its own attribute
        __tablename__ = "plans"
        __audit__ = AuditSpec("plan")
        id: Mapped[str] = mapped_column(String(36), primary_key=True)

    assert undecided(Scratch.registry.mappers) == ["Wishlist"]
    assert spec_for(Plan).resource == "plan"


SECRET_COLUMNS = {"password_hash", "token_hash", "guest_token_hash", "deliverable_encrypted", "deliverable_hash",
                  "secrets", "secret_hints", "token_version", "claim_token", "webhook_secret", "api_key",
                  "access_token", "refresh_token", "stripe_secret_key", "encrypted_credentials"}


def test_the_deny_list_covers_every_secret_column_name():
    for name in SECRET_COLUMNS:
        assert is_denied(name), name
    for name in ("title", "price", "status", "role", "email", "account_ref", "reason", "settings"):
        assert not is_denied(name), name
    present = {c.name for table in Base.metadata.tables.values() for c in table.columns if c.name in SECRET_COLUMNS}
    assert {"password_hash", "deliverable_encrypted", "secrets", "secret_hints", "guest_token_hash"} <= present


def test_changes_never_include_a_denied_column_or_json_key():
    class Scratch(DeclarativeBase):
        pass

    class Account(Scratch):
        __tablename__ = "accounts"
        id: Mapped[str] = mapped_column(String(36), primary_key=True)
        name: Mapped[str] = mapped_column(String(20))
        note: Mapped[str] = mapped_column(String(20))
        api_key: Mapped[str] = mapped_column(String(20))
        webhook_secret: Mapped[str] = mapped_column(String(20))
        extra = Column("config", String(20))

    account = Account(id="a", name="shop", note="n", api_key="sk_live_1", webhook_secret="whsec_1", extra="x")
    spec = AuditSpec("account", exclude=frozenset({"note"}))
    assert changes_of(account, "create", spec) == {"after": {"name": "shop", "extra": "x"}}


def test_json_keys_with_secret_names_are_dropped():
    from services.audit import _dict_diff, _jsonable

    assert _jsonable({"api_key": "sk_1", "theme": "clean", "nested": {"webhook_secret": "w", "a": 1}}) == \
        {"theme": "clean", "nested": {"a": 1}}
    assert _dict_diff({"theme": "clean", "api_key": "old"}, {"theme": "arcade", "api_key": "new"}) == \
        ({"theme": "clean"}, {"theme": "arcade"})
