"""Which store a request or job belongs to, and the ORM scoping. The ONLY place.

* A ContextVar holds the bound store id (or ``PLATFORM`` for sysadmin/platform code,
  or nothing). ``tenant_scope(store_id)`` binds it for a block; requests bind it in
  ``web.bind_request_store`` and jobs in ``transactions.execute``.
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

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import bindparam, event, false, inspect
from sqlalchemy.orm import Session, with_loader_criteria

from extensions import db
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

# The criteria of a store's scope compare ``store_id`` with a bound parameter that has NO value:
# every execution supplies it (``_scope_statement``). One option for every store, so a statement
# kept at module level has one scoped copy (and one cache key) whatever store runs it. And it fails
# closed: a statement that reached the database without the value would be refused by SQLAlchemy
# ("a value is required for bind parameter"), never run unfiltered. (A lambda closing over the
# store id, the earlier way, also cost an option and a copy per store, and the extracted value's
# annotated copies compared equal by building SQL expressions on every run: ~5 % of a checkout.)
STORE_PARAM = "tenancy_store_id"
# (the name is spelled out inside the lambda: a name it read from outside would become one of the
# lambda's tracked values, and the statement would not compile)
_STORE_CRITERIA = with_loader_criteria(TenantScoped, lambda cls: cls.store_id == bindparam("tenancy_store_id"),
                                       include_aliases=True)
_PLATFORM_CRITERIA = with_loader_criteria(TenantScoped, lambda cls: cls.store_id.is_(None), include_aliases=True)
_NOTHING_CRITERIA = with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)


_VALUED: dict[str, object] = {}
_VALUED_SIZE = 4096


def _valued_criteria(store_id: str):
    """A store's criteria with its id in the statement, for the few statements that cannot take the
    parameter (``_takes_parameter``): one option per store, kept (building one, and the new cache
    key of its lambda, for every statement cost ~90 us of a ~400 us ORM SELECT); bounded."""
    option = _VALUED.get(store_id)
    if option is None:
        if len(_VALUED) >= _VALUED_SIZE:
            _VALUED.clear()
        option = _VALUED[store_id] = with_loader_criteria(
            TenantScoped, lambda cls: cls.store_id == store_id, include_aliases=True)
    return option


def _takes_parameter(state) -> bool:
    """Whether the statement can be given the store as a parameter: a SELECT; an UPDATE or DELETE
    run with one set of parameters that synchronizes the session by RETURNING (``"fetch"``) or not
    at all. Not one that evaluates its criteria in Python against the loaded rows (the default,
    ``"evaluate"``: SQLAlchemy's evaluator sees a parameter without a value as NULL) nor a bulk
    UPDATE by primary key (a list of rows: every key of a row is a column to set)."""
    if state.is_select:
        return True
    return (not isinstance(state.parameters, list)
            and state.execution_options.get("synchronize_session", "auto") in (False, "fetch"))


def _is_scoped_entity(mapper) -> bool:
    return mapper is not None and issubclass(mapper.class_, TenantScoped)


# statement -> {scope: the statement with that scope's criteria}, for as long as the statement lives
_SCOPED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SCOPED_PER_STATEMENT = 64


def _with_criteria(statement, option):
    """``statement`` with the criteria ``option``, the same object for the same statement and
    option: a statement kept and run again (the catalog's page statements, ``products._statements``)
    then keeps its memoised cache key instead of a new copy computing it again on every run (~7 % of
    a catalog page, profiled). A statement built for one run is forgotten with it (weak keys)."""
    try:
        per_option = _SCOPED.get(statement)
    except TypeError:  # not weakly referenceable: scoped afresh
        return statement.options(option)
    if per_option is None:
        per_option = {}
        _SCOPED[statement] = per_option
    scoped = per_option.get(option)
    if scoped is None:
        if len(per_option) >= _SCOPED_PER_STATEMENT:
            per_option.clear()
        scoped = per_option[option] = statement.options(option)
    return scoped


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state) -> None:
    if state.execution_options.get("all_stores", False) or state.is_column_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        bound = _bound.get()
        if bound is None:
            state.statement = _with_criteria(state.statement, _NOTHING_CRITERIA)
        elif bound == PLATFORM:
            state.statement = _with_criteria(state.statement, _PLATFORM_CRITERIA)
        elif _takes_parameter(state):
            state.statement = _with_criteria(state.statement, _STORE_CRITERIA)
            state.parameters = {**state.parameters, STORE_PARAM: bound} if state.parameters else {STORE_PARAM: bound}
        else:
            state.statement = _with_criteria(state.statement, _valued_criteria(bound))
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
