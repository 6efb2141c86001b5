"""Which store a request or job belongs to, and the ORM scoping. The ONLY place.

* A ContextVar holds the bound store id (or ``PLATFORM`` for sysadmin/platform code,
  or nothing). ``tenant_scope(store_id)`` binds it for a block; requests bind it in
  ``bind_request_store`` and jobs in ``jobs.runner``.
* ``do_orm_execute`` adds ``store_id == bound`` to every ORM SELECT, UPDATE and DELETE
  touching a ``TenantScoped`` model, and stamps/checks ``store_id`` on bulk INSERTs.
* ``before_flush`` stamps new rows with the bound store and refuses any new, changed or
  deleted row of another store.
* Nothing bound means no rows (fail closed). The only way around it is the visible
  ``.execution_options(all_stores=True)``, for sysadmin code.
Raw SQL (``text()``) and Core statements on ``Table`` objects are not scoped: code that
uses them (stock allocation) filters by ``store_id`` itself, and tests cover it.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event, false, inspect
from sqlalchemy.orm import Session, with_loader_criteria

from models.base import TenantScoped

PLATFORM = "__platform__"
_bound: ContextVar[str | None] = ContextVar("bound_store", default=None)


class TenantError(RuntimeError):
    """A write would cross stores, or store-owned data was touched with no store bound."""


def current_store_id() -> str | None:
    """The bound store id, or None (unbound or platform scope)."""
    value = _bound.get()
    return None if value in (None, PLATFORM) else value


def bound_scope() -> str | None:
    return _bound.get()


def _evict_foreign(bound: str | None) -> None:
    """A session's identity map may hold rows loaded under another binding; ``Session.get``
    would return them without a query. Evict every store-owned row not of ``bound``."""
    try:
        from extensions import db

        if not db.session.registry.has():
            return
        session = db.session()
    except RuntimeError:  # no app context: no session to clean
        return
    keep = None if bound == PLATFORM else bound
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, TenantScoped):
            continue
        loaded = inspect(obj).dict  # never triggers a load (an expired row may be gone)
        owner = loaded.get("store_id", "?unknown")
        if owner != keep and not (owner is None and obj.__tenant_nullable__) and obj in session:
            session.expunge(obj)  # (a cascade may already have expunged it)


@contextmanager
def tenant_scope(store) -> Iterator[str]:
    """Bind a store (object or id) for the block."""
    store_id = getattr(store, "id", store)
    if not store_id:
        raise TenantError("tenant_scope needs a store")
    _evict_foreign(str(store_id))
    token = _bound.set(str(store_id))
    try:
        yield str(store_id)
    finally:
        _bound.reset(token)
        _evict_foreign(_bound.get())


@contextmanager
def platform_scope() -> Iterator[None]:
    """Platform code (sysadmin users, CLI): sees only rows with no store."""
    _evict_foreign(PLATFORM)
    token = _bound.set(PLATFORM)
    try:
        yield
    finally:
        _bound.reset(token)
        _evict_foreign(_bound.get())


def bind(store_id: str | None):
    """Bind for the rest of the current context (a request); returns a reset token."""
    _evict_foreign(store_id)
    return _bound.set(store_id)


def unbind(token) -> None:
    _bound.reset(token)


# --- ORM scoping -----------------------------------------------------------------------

def _criteria():
    bound = _bound.get()
    if bound is None:
        return with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)
    if bound == PLATFORM:
        return with_loader_criteria(TenantScoped, lambda cls: cls.store_id.is_(None), include_aliases=True)
    store_id = bound
    return with_loader_criteria(TenantScoped, lambda cls: cls.store_id == store_id, include_aliases=True)


def _is_scoped_entity(mapper) -> bool:
    return mapper is not None and issubclass(mapper.class_, TenantScoped)


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state) -> None:
    if state.execution_options.get("all_stores", False) or state.is_column_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(_criteria())
        return
    if state.is_insert and _is_scoped_entity(state.bind_mapper):
        _stamp_bulk_insert(state)


def _stamp_bulk_insert(state) -> None:
    store_id = current_store_id()
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if isinstance(params, dict) else []
    if not rows:
        raise TenantError("bulk INSERT of a store-owned model must pass its rows as parameters")
    for row in rows:
        given = row.get("store_id")
        if store_id is None:
            raise TenantError("no store bound for a bulk INSERT of store-owned rows")
        if given is None:
            row["store_id"] = store_id
        elif given != store_id:
            raise TenantError("bulk INSERT of a row that belongs to another store")


@event.listens_for(Session, "before_flush")
def _check_flush(session, flush_context, instances) -> None:
    bound = _bound.get()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.store_id is None:
            if bound not in (None, PLATFORM):
                obj.store_id = bound
            elif bound == PLATFORM and obj.__tenant_nullable__:
                continue
            else:
                raise TenantError(f"no store bound to create a {type(obj).__name__}")
        elif obj.store_id != bound:
            raise TenantError(f"refused to create a {type(obj).__name__} of another store")
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, TenantScoped):
            continue
        history = inspect(obj).attrs.store_id.history
        original = history.deleted[0] if history.deleted else obj.store_id
        if history.has_changes() and history.deleted:
            raise TenantError(f"a {type(obj).__name__} cannot move to another store")
        if original is None and obj.__tenant_nullable__ and bound is not None:
            continue  # a platform row (a sysadmin) loaded explicitly with all_stores=True
        expected = None if bound == PLATFORM else bound
        if bound is None or original != expected:
            raise TenantError(f"refused to change a {type(obj).__name__} of another store")


# --- request resolution -----------------------------------------------------------------

# Paths that work with no store (or a suspended one): the platform's own endpoints.
STORELESS_PREFIXES = ("/static/", "/uploads/", "/api/health", "/api/openapi.json", "/api/docs", "/api/sysadmin", "/api/plans")


def _token_tenant() -> str | None:
    """The ``tenant`` claim of a valid Bearer token, if any (signature and expiry checked)."""
    from flask import request

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    from services.auth import decode_token
    from services.errors import Unauthorized

    try:
        return decode_token(token.strip(), check_revoked=False).get("tenant")
    except Unauthorized:
        return None


def resolve_request_store():
    """Custom domain -> subdomain of PLATFORM_DOMAIN -> the token's tenant -> default store."""
    from flask import current_app, request

    from extensions import db
    from models import Store
    from services import stores
    from services.cache import cache_for
    from services.errors import NotFound

    cache = cache_for("store_by_host", (Store,))
    host_key = request.host.lower()
    cached = cache.get(host_key)
    if cached is not None:
        return db.session.merge(cached, load=False)
    store, named = stores.store_for_host(request.host, current_app.config.get("PLATFORM_DOMAIN"))
    if named and store is None:
        raise NotFound("No store lives at this address", code="store_not_found")
    if store is None:
        tenant = _token_tenant()
        if tenant:
            store = stores.get_store(tenant)
            return store  # chosen by the token, not the host: not cached under the host
    if store is None:
        store = stores.default_store()
    cache.put(host_key, store)
    return store


def init_app(app) -> None:
    from flask import g, request

    from services.errors import NotFound, Unavailable

    @app.before_request
    def bind_request_store():
        storeless = request.path.startswith(STORELESS_PREFIXES)
        try:
            store = resolve_request_store()
        except NotFound:
            if storeless:
                store = None
            else:
                raise
        g.store = store
        if store is None:
            if storeless:
                return None
            raise Unavailable("This platform has no store yet. Create one with "
                              "'flask --app app create-store' or 'flask --app app seed-demo'.", code="no_store")
        if store.status == "deleted":
            if storeless:
                return None
            raise NotFound("This store no longer exists", code="store_not_found")
        g._tenant_token = bind(store.id)
        if store.status == "suspended" and not storeless:
            raise Unavailable("This store is temporarily unavailable", code="store_suspended")
        return None

    @app.teardown_request
    def unbind_request_store(exc=None):
        token = g.pop("_tenant_token", None)
        if token is not None:
            unbind(token)
