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

import copy
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import event, func, insert, inspect, select
from sqlalchemy.orm import Session, selectinload

from extensions import db
from models import Role, Store, TenantScoped
from models.audit import BPS, IGNORED_COLUMNS, MONEY, AuditEntry, AuditSpec, UnitBy, is_denied, spec_for
from models.base import Base, new_id, utcnow
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
    (``target_store``, loaded for the whole page in one more query: the page names it on every
    row; a join would also run under the page's ``count(*) OVER ()`` over every matching entry)."""
    if scope not in ("platform", "all"):
        raise Invalid("scope is platform or all", details={"scope": ["platform or all"]})
    stmt = _query(platform_only=scope == "platform" and not store_id, store_id=store_id, all_stores=True, **filters)
    return paginate(stmt.options(selectinload(AuditEntry.target_store)), page=page, page_size=page_size)


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


# --- in a reader's units ---------------------------------------------------------------------------
#
# Entries keep what the database holds (money in minor units, percentages in basis points); the
# specs' ``units`` say which fields those are. ``with_units`` puts ``Money``/``Percent`` in their
# place for the API (major units, the currency alongside) and the page (the store's money format).

@dataclass(frozen=True)
class Money:
    """A stored amount: ``minor`` units of ``currency``."""

    minor: int
    currency: str


@dataclass(frozen=True)
class Percent:
    """A stored basis-points value (1500) that is a percentage (15)."""

    bps: int

    @property
    def percent(self) -> float:
        return self.bps / 100


@dataclass(frozen=True)
class Shown:
    """An entry's changes with ``Money``/``Percent`` where the spec says so, and the currency of its
    amounts (None when it holds none; when the entry changes the row's currency itself, the "after"
    one, and each side's amounts are in that side's currency)."""

    changes: dict
    currency: str | None


_MISSING = object()


@lru_cache(maxsize=1)
def _resources() -> dict[str, tuple[type, AuditSpec]]:
    """resource name -> (model, spec), for every audited model."""
    out: dict[str, tuple[type, AuditSpec]] = {}
    for mapper in Base.registry.mappers:
        spec = spec_for(mapper.class_)
        if spec is not None:
            out.setdefault(spec.resource, (mapper.class_, spec))
    return out


def _sides(changes) -> dict[str, dict]:
    """The parts of an entry that hold field values: ``before``/``after``, or a named action's details."""
    if not isinstance(changes, dict):
        return {}
    if {"before", "after"} & changes.keys():
        return {k: changes[k] for k in ("before", "after") if isinstance(changes.get(k), dict)}
    return {"details": changes}


def _leaves(node, parts: list[str]) -> Iterator[tuple[object, object]]:
    """(container, key) of every value at a dotted path (``*``: each element of a list)."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        keys = range(len(node)) if isinstance(node, list) else ()
    else:
        keys = (head,) if isinstance(node, dict) and head in node else ()
    for key in keys:
        if rest:
            yield from _leaves(node[key], rest)
        else:
            yield node, key


def _has(side: dict, path: str) -> bool:
    return next(_leaves(side, path.split(".")), None) is not None


def _context_fields(spec: AuditSpec, sides: dict[str, dict]) -> set[str]:
    """The row's fields that say the unit of the unit fields this entry holds."""
    wanted: set[str] = set()
    for path, unit in spec.units.items():
        if not any(_has(side, path) for side in sides.values()):
            continue
        if isinstance(unit, UnitBy):
            wanted.add(unit.field)
        elif unit == MONEY and spec.currency_field:
            wanted.add(spec.currency_field)
    return wanted


def _scoped(stmt, all_stores: bool):
    return stmt.execution_options(all_stores=True) if all_stores else stmt


def _as_of(wanted: dict[tuple[str, str], list[AuditEntry]], all_stores: bool) -> dict[tuple[str, str], object]:
    """(entry id, field) -> the field's value for the entry's row when the entry was written: what
    the row's next entry naming the field had ``before``, else the row's value now (a field that
    never changed since). One query for the later entries and one for the rows, per resource and
    field; a row that is gone and never named it again stays unknown. A field the row never changes
    (the spec's ``fixed``: an order's currency) is read from the rows alone."""
    found: dict[tuple[str, str], object] = {}
    for (resource, field_name), group in wanted.items():
        model, spec = _resources()[resource]
        if field_name in spec.fixed:
            _read_rows(model, field_name, group, found, all_stores)
            continue
        ids = {e.resource_id for e in group}
        later = db.session.execute(_scoped(
            select(AuditEntry.resource_id, AuditEntry.created_at, AuditEntry.changes)
            .where(AuditEntry.resource_type == resource, AuditEntry.resource_id.in_(ids),
                   AuditEntry.created_at > min(e.created_at for e in group))
            .order_by(AuditEntry.created_at, AuditEntry.id), all_stores)).all()
        unresolved = []
        for entry in group:
            value = next((changes["before"][field_name] for resource_id, at, changes in later
                          if resource_id == entry.resource_id and at > entry.created_at
                          and field_name in (_sides(changes).get("before") or {})), _MISSING)
            if value is _MISSING:
                unresolved.append(entry)
            else:
                found[(entry.id, field_name)] = value
        if unresolved:
            _read_rows(model, field_name, unresolved, found, all_stores)
    return found


def _read_rows(model, field_name: str, entries: list[AuditEntry], found: dict, all_stores: bool) -> None:
    """``found[(entry id, field)]``: the field's value on each entry's row as it is now (one query)."""
    if field_name not in model.__table__.c:
        return
    now = dict(db.session.execute(_scoped(
        select(model.id, getattr(model, field_name)).where(model.id.in_({e.resource_id for e in entries})),
        all_stores)).all())
    for entry in entries:
        if entry.resource_id in now:
            found[(entry.id, field_name)] = now[entry.resource_id]


def _in_units(side: dict, spec: AuditSpec, context: dict, currency: str | None) -> dict:
    out = copy.deepcopy(side)
    for path, unit in spec.units.items():
        if isinstance(unit, UnitBy):
            unit = unit.units.get(context.get(unit.field))
        for holder, key in list(_leaves(out, path.split("."))):
            value = holder[key]
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if unit == MONEY and currency:
                holder[key] = Money(value, currency)
            elif unit == BPS:
                holder[key] = Percent(value)
    return out


def with_units(entries, *, all_stores: bool = False) -> dict[str, Shown]:
    """entry id -> ``Shown``: each entry's changes with its amounts as ``Money`` (in the currency of
    the row, or of the store the entry is about) and its basis points as ``Percent``, per its
    spec's ``units``. What a field's unit depends on (a coupon's kind, an order's currency) is read
    from the entry, else as it was when the entry was written (``_as_of``). A few queries for a
    whole page, none for entries without such fields. ``all_stores`` for the platform's log."""
    entries = list(entries)
    plain = {e.id: Shown(e.changes, None) for e in entries}
    resources = _resources()
    todo: list[tuple[AuditEntry, AuditSpec, dict, set[str]]] = []
    wanted: dict[tuple[str, str], list[AuditEntry]] = {}
    for entry in entries:
        spec = resources.get(entry.resource_type, (None, None))[1]
        sides = _sides(entry.changes)
        if spec is None or not spec.units or not any(_has(side, path) for side in sides.values()
                                                      for path in spec.units):
            continue
        fields = _context_fields(spec, sides)
        todo.append((entry, spec, sides, fields))
        for field_name in fields:
            if not any(field_name in side for side in sides.values()):
                wanted.setdefault((spec.resource, field_name), []).append(entry)
    if not todo:
        return plain
    then = _as_of(wanted, all_stores) if wanted else {}
    store_ids = {e.target_store_id for e, spec, _s, _f in todo if not spec.currency_field and e.target_store_id}
    store_currency = dict(db.session.execute(select(Store.id, Store.currency).where(Store.id.in_(store_ids))).all()) \
        if store_ids else {}
    for entry, spec, sides, fields in todo:
        shared = {}
        for field_name in fields:
            after, before = sides.get("after") or sides.get("details") or {}, sides.get("before") or {}
            shared[field_name] = after.get(field_name, before.get(field_name, then.get((entry.id, field_name))))
        shown, currency = {}, None
        for name, side in sides.items():
            context = {**shared, **{f: side[f] for f in fields if f in side}}
            side_currency = context.get(spec.currency_field) if spec.currency_field \
                else store_currency.get(entry.target_store_id)
            shown[name] = _in_units(side, spec, context, side_currency)
            if name != "before" or currency is None:
                currency = side_currency
        changes = shown["details"] if "details" in shown else {**entry.changes, **shown}
        has_money = any(isinstance(holder[key], Money) for side in shown.values() for path in spec.units
                        for holder, key in _leaves(side, path.split(".")))
        plain[entry.id] = Shown(changes, currency if has_money else None)
    return plain
