"""The audit log: who changed what, written in the same transaction as the change.

* **The actor** is a ContextVar set by the blueprints once they know a staff+ caller
  (``web.role_required`` for pages of STAFF and above, ``api.access.access`` for API levels staff
  and above) and cleared when the request ends (``web.register_request_context``). A shopper's
  request (and a staff member's own shopping, through USER-level pages and endpoints) sets none,
  so it writes nothing and costs nothing: the listener returns at its first line. Jobs have no
  actor; a job or CLI command that wants entries wraps its work in ``system_actor()``.
* **Row changes** of audited models (``models.audit``: ``__audit__`` or ``AUDITED``) are read from
  the attribute history in one ``after_flush`` listener and inserted with one Core statement on
  the flush's own connection: a rollback (a failed request, a ``form_errors`` savepoint) takes its
  entries with it.
* **Named actions that are not row changes**, or whose change is a bulk UPDATE the listener cannot
  see (approving an order, a PENDING order's status, stock imports), call ``record()`` in the one
  service function that does them.
* **Where an entry goes**: a store-owned row's entry is in that store's log (also when a sysadmin
  made it: the store sees what was done to it); a platform row (no store) and a change of a
  ``Store`` row by a SYSADMIN (tenant lifecycle) go into the platform log (``store_id`` NULL).
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session, joinedload

from extensions import db
from models import Role, Store, TenantScoped
from models.audit import IGNORED_COLUMNS, AuditEntry, AuditSpec, is_denied, spec_for
from models.base import new_id, utcnow
from tenancy import current_store_id

from .errors import Invalid
from .pagination import paginate

TEXT_LIMIT = 300  # a long text (a description) is cut: the log says what changed, not a copy
OPS = ("create", "update", "delete")


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    username: str
    role: str
    ip: str | None = None

    @property
    def is_sysadmin(self) -> bool:
        return self.role == Role.SYSADMIN.value


SYSTEM = Actor(None, "system", "SYSTEM")
_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


def _clean_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((ip or "").strip())) if ip else None
    except ValueError:
        return None


def set_actor(user, ip: str | None = None) -> bool:
    """The request's caller, when it is staff or above (anyone else is not audited). Returns
    whether an actor is now set. Cleared by ``clear_actor`` at the end of the request."""
    if user is None or not getattr(user, "id", None) or not Role(user.role).at_least(Role.STAFF):
        return False
    _actor.set(Actor(user.id, user.username, user.role, _clean_ip(ip)))
    return True


def clear_actor() -> None:
    _actor.set(None)


def current_actor() -> Actor | None:
    return _actor.get()


@contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """Run a block as ``actor`` (tests, CLI commands, jobs that record)."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def system_actor():
    """A job or CLI command whose changes are audited as "system"."""
    return acting(SYSTEM)


def actor_of(user, ip: str | None = None) -> Actor:
    return Actor(user.id, user.username, user.role, _clean_ip(ip))


# --- what changed ------------------------------------------------------------------------------

def _jsonable(value):
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "…"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | timedelta):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items() if not is_denied(str(k))}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value[:50]]
    if isinstance(value, bytes | bytearray | memoryview):
        return None  # hashes and blobs are never logged
    return str(value)


def _dict_diff(before: dict, after: dict) -> tuple[dict, dict]:
    """The keys of a JSON column that changed (nested one level), both sides."""
    old, new = {}, {}
    for key in sorted(set(before) | set(after), key=str):
        if is_denied(str(key)):
            continue
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            sub_b, sub_a = _dict_diff(b, a)
            old[key], new[key] = sub_b, sub_a
        else:
            old[key], new[key] = _jsonable(b), _jsonable(a)
    return old, new


def _columns(obj, spec: AuditSpec):
    for attr in inspect(type(obj)).column_attrs:
        key = attr.key
        if key in IGNORED_COLUMNS or key in spec.exclude or is_denied(key):
            continue
        if any(is_denied(column.name) for column in attr.columns):
            continue
        yield key


def changes_of(obj, op: str, spec: AuditSpec) -> dict:
    """The compact before/after of one row: what a create set, what an update changed, what a
    delete removed. Denied and excluded columns never appear."""
    state = inspect(obj)
    before: dict = {}
    after: dict = {}
    loaded = state.dict
    for key in _columns(obj, spec):
        if op == "create":
            value = loaded.get(key)
            if value is not None and value != "" and value != [] and value != {}:
                after[key] = _jsonable(value)
        elif op == "delete":
            if key in loaded and loaded[key] is not None:
                before[key] = _jsonable(loaded[key])
        else:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            if isinstance(old, dict) and isinstance(new, dict):
                old, new = _dict_diff(old, new)
                if not old and not new:
                    continue
                before[key], after[key] = old, new
            else:
                before[key], after[key] = _jsonable(old), _jsonable(new)
    out = {}
    if before:
        out["before"] = before
    if after:
        out["after"] = after
    return out


def _identity(obj) -> str | None:
    identity = inspect(obj).identity
    if identity:
        return ":".join(str(part) for part in identity)
    return getattr(obj, "id", None)


def _where(obj, actor: Actor) -> tuple[str | None, str | None]:
    """(the log's store, the store the change touched)."""
    if isinstance(obj, Store):
        return (None if actor.is_sysadmin else obj.id), obj.id
    if isinstance(obj, TenantScoped):
        store_id = inspect(obj).dict.get("store_id")
        return store_id, store_id
    return None, None


def _row(actor: Actor, *, store_id, target_store_id, resource_type, resource_id, action, changes) -> dict:
    return {"id": new_id(), "created_at": utcnow(), "store_id": store_id, "target_store_id": target_store_id,
            "actor_id": actor.user_id, "actor_name": actor.username[:64], "actor_role": actor.role, "ip": actor.ip,
            "resource_type": resource_type, "resource_id": None if resource_id is None else str(resource_id)[:80],
            "action": action[:40], "changes": changes}


@event.listens_for(Session, "after_flush")
def _audit_flush(session, _flush_context) -> None:
    actor = _actor.get()
    if actor is None:  # shoppers, jobs: nothing to write, nothing to read
        return
    rows = []
    for op, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            spec = spec_for(type(obj))
            if spec is None or op not in spec.ops:
                continue
            if op == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = changes_of(obj, op, spec)
            if op == "update" and not changes:
                continue
            action = (spec.name(obj, op, changes) if spec.name else None) or op
            if action == "update" and changes.get("after", {}).get("deleted_at") \
                    and not changes.get("before", {}).get("deleted_at"):
                action = "delete"  # a soft delete
            if spec.forget and (action == "delete" or action.endswith(".delete")):
                for side in changes.values():
                    for key in spec.forget & side.keys():
                        side[key] = "(erased)"
            store_id, target = _where(obj, actor)
            rows.append(_row(actor, store_id=store_id, target_store_id=target, resource_type=spec.resource,
                             resource_id=_identity(obj), action=action, changes=changes))
    if rows:
        session.connection().execute(insert(AuditEntry.__table__), rows)


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _append_only(_mapper, _connection, _target) -> None:
    raise RuntimeError("the audit log is append-only: entries are never changed or deleted")


def record(action: str, resource_type: str, resource_id: str | None = None, details: dict | None = None, *,
           store_id: str | None | bool = True, platform: bool = False) -> bool:
    """An explicit entry for an action that is not (only) a row change the listener sees: a stock
    import's summary (never its codes), approving an order, acting as a store. Written in the
    current transaction; nothing without an actor (a shopper, a job outside ``system_actor``).
    ``platform=True`` puts it in the platform log (``store_id`` NULL) with the bound store as its
    target. Returns whether it wrote."""
    actor = _actor.get()
    if actor is None:
        return False
    bound = current_store_id()
    target = bound if store_id is True else (store_id or None)
    changes = _jsonable(details or {})
    db.session.connection().execute(insert(AuditEntry.__table__), [
        _row(actor, store_id=None if platform else target, target_store_id=target, resource_type=resource_type,
             resource_id=resource_id, action=action, changes=changes)])
    return True


# --- reading -------------------------------------------------------------------------------------

FILTERS = ("resource_type", "action", "user_id", "date_from", "date_to")


def _day_bound(value, *, end: bool) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError as exc:
            raise Invalid("Dates are YYYY-MM-DD", details={"date_to" if end else "date_from": ["not a date"]}) \
                from exc
    start = datetime(value.year, value.month, value.day, tzinfo=utcnow().tzinfo)
    return start + timedelta(days=1) if end else start


def _query(*, resource_type=None, action=None, user_id=None, date_from=None, date_to=None, store_id=None,
           platform_only: bool = False, all_stores: bool = False):
    stmt = select(AuditEntry)
    if resource_type:
        stmt = stmt.where(AuditEntry.resource_type == resource_type)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if user_id:
        stmt = stmt.where(AuditEntry.actor_id == user_id)
    start, end = _day_bound(date_from, end=False), _day_bound(date_to, end=True)
    if start and end and start >= end:
        raise Invalid("date_from must not be after date_to", details={"date_from": ["after date_to"]})
    if start:
        stmt = stmt.where(AuditEntry.created_at >= start)
    if end:
        stmt = stmt.where(AuditEntry.created_at < end)
    if platform_only:
        stmt = stmt.where(AuditEntry.store_id.is_(None))
    elif store_id:
        stmt = stmt.where(AuditEntry.target_store_id == store_id)
    if all_stores:
        stmt = stmt.execution_options(all_stores=True)
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def list_entries(*, page: int = 1, page_size: int = 50, **filters) -> dict:
    """The bound store's log, newest first (tenancy scopes it: another store's entries and the
    platform's never show)."""
    return paginate(_query(**filters), page=page, page_size=page_size)


def list_platform_entries(*, scope: str = "platform", store_id: str | None = None, page: int = 1,
                          page_size: int = 50, **filters) -> dict:
    """SYSADMIN: the platform log (``scope="platform"``), or every store's too (``"all"``),
    optionally only the entries about one store. Each entry comes with the store it is about
    (``target_store``, joined in the same query: the page names it on every row)."""
    if scope not in ("platform", "all"):
        raise Invalid("scope is platform or all", details={"scope": ["platform or all"]})
    stmt = _query(platform_only=scope == "platform" and not store_id, store_id=store_id, all_stores=True, **filters)
    return paginate(stmt.options(joinedload(AuditEntry.target_store)), page=page, page_size=page_size)


def resource_types() -> list[str]:
    """The resource types in the bound store's log (the page's filter)."""
    return list(db.session.scalars(select(AuditEntry.resource_type).group_by(AuditEntry.resource_type)
                                   .order_by(AuditEntry.resource_type)))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).group_by(AuditEntry.action).order_by(AuditEntry.action)))


def actors() -> list[tuple[str, str]]:
    """(user id, latest username) of the people in the bound store's log (the page's filter)."""
    rows = db.session.execute(select(AuditEntry.actor_id, func.max(AuditEntry.actor_name))
                              .where(AuditEntry.actor_id.isnot(None)).group_by(AuditEntry.actor_id)
                              .order_by(func.max(AuditEntry.actor_name))).all()
    return [(actor_id, name) for actor_id, name in rows]


def count() -> int:
    return db.session.scalar(select(func.count(AuditEntry.id))) or 0
