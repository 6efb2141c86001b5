"""Per-process read caches for rows that change rarely and are read on every page (the store a
host serves, a store's categories).

Each cache has a TTL (``STORE_CACHE_SECONDS``; 0 turns caching off) and names the models it
depends on: any flush in this process that adds, changes or deletes such a row clears it at
once. Other processes (more gunicorn workers, more machines):

* **With Redis** (``REDIS_URL``): a commit that changed such a row INCRs the cache's generation
  key in Redis (``vstores:cache-gen:<name>``); every hit compares the generation its entry was
  filled under with the current one (one GET, on the connection the app already holds) and
  misses when they differ. So a change made through one instance shows on the next request to
  any other. A version key read per hit was chosen over a pub/sub listener thread: a message can
  arrive after the next request (a thread per process, a reconnect gap), a GET cannot be stale.
  Redis unreachable: the hit is a miss (the database answers), never a stale row.
* **Without Redis** (the embedded default, one process): as before, the TTL bounds staleness.

The store row is also checked on every hit against its ``updated_at`` (``web.resolve_request_store``).

A cache holds plain values, never ORM instances: a row is kept as the snapshot of its column
values (``snapshot``), and every read builds a fresh detached instance from it (``revive``, no
SQL). So nothing a request does to its rows (a failed request's rollback expires them) reaches
another request.
"""
from __future__ import annotations

import copy
import logging
import marshal
import threading
import time
import weakref
from collections.abc import Callable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from tenancy import current_store_id
from transactions import redis_connection

log = logging.getLogger(__name__)
# every live app's caches, held weakly: an app that is gone (a test's, a CLI's) takes its caches with
# it, so a flush never walks the caches of apps long dead
_registry: weakref.WeakSet[TTLCache] = weakref.WeakSet()
# every cache's name and models, declared when its module is imported (``declare``), so that a process
# that never read a cache (an API instance) still tells the others when it changes one of its rows
_declared: dict[str, tuple[type, ...]] = {}
_lock = threading.Lock()
_seen = threading.local()  # the generation a miss read, for the put that follows it (same thread)
_BUMPS = "cache_generations_to_bump"
GENERATION_KEY = "vstores:cache-gen:{}"


def _generation(app: Flask | None, name: str) -> bytes | None | bool:
    """The cache's generation in Redis (``b"0"`` until first bumped); False without Redis; None
    when Redis does not answer (then nothing may be served from the cache, nor kept in it)."""
    if app is None or not app.config.get("REDIS_URL"):
        return False
    try:
        return redis_connection(app).get(GENERATION_KEY.format(name)) or b"0"
    except Exception:  # noqa: BLE001 - Redis down: the database answers
        log.warning("cache %s: Redis unreachable, reading the database", name)
        return None


class TTLCache:
    def __init__(self, name: str, seconds: float, models: tuple[type, ...], app: Flask | None = None):
        self.name, self.seconds, self.models, self.app = name, seconds, models, app
        self.entries: dict[object, tuple[float, object]] = {}
        self.generations: dict[object, object] = {}  # the Redis generation each entry was filled under

    def get(self, key):
        entry = self.entries.get(key)
        shared = self.app is not None and bool(self.app.config.get("REDIS_URL"))
        generation = _generation(self.app, self.name) if shared and self.seconds > 0 else False
        _seen.value = (self.name, generation)
        if entry is None or entry[0] < time.monotonic():
            return None
        if shared and (generation is None or generation != self.generations.get(key)):
            return None  # changed by another process since (or Redis cannot tell)
        return entry[1]

    def put(self, key, value) -> None:
        if self.seconds > 0 and value is not None:
            name, generation = getattr(_seen, "value", (None, None))
            if name != self.name or generation is None:
                if self.app is not None and self.app.config.get("REDIS_URL"):
                    return  # no generation read before the rows were: do not keep them
                generation = False
            self.generations[key] = generation
            self.entries[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        self.entries.clear()
        self.generations.clear()


def snapshot(row) -> tuple[type, dict]:
    """What a cache keeps of a row: its class and its column values (plain data)."""
    mapper = inspect(row).mapper
    return type(row), {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs}


def _copied(value):
    """A private copy of a mutable column value (JSON: dicts, lists); immutable ones as they are.
    ``marshal`` copies plain JSON data several times faster than ``copy.deepcopy`` (the store's
    settings are most of a catalog page's revive); anything else falls back to ``deepcopy``."""
    if not isinstance(value, dict | list):
        return value
    try:
        return marshal.loads(marshal.dumps(value))
    except ValueError:
        return copy.deepcopy(value)


def revive(snap: tuple[type, dict]):
    """A new detached instance of a snapshot, every column loaded (reading it costs no SQL). Each
    call returns its own object with its own copy of mutable values (JSON columns)."""
    cls, values = snap
    row = cls(**{name: _copied(value) for name, value in values.items()})
    make_transient_to_detached(row)
    return row


def declare(name: str, models: tuple[type, ...]) -> str:
    """Name a cache and the models it depends on, at import time (see ``_declared``)."""
    _declared[name] = tuple(models)
    return name


def cache_for(name: str, models: tuple[type, ...], app: Flask | None = None) -> TTLCache:
    """The app's cache called ``name`` (made on first use)."""
    declare(name, models)
    app = app or current_app._get_current_object()
    caches = app.extensions.setdefault("read_caches", {})
    cache = caches.get(name)
    if cache is None:
        with _lock:
            cache = caches.get(name)
            if cache is None:
                cache = TTLCache(name, float(app.config.get("STORE_CACHE_SECONDS", 5)), models, app)
                caches[name] = cache
                _registry.add(cache)
    return cache


def store_fact(name: str, models: tuple[type, ...], read: Callable[[], bool], *, uncached: bool | None = None) -> bool:
    """A yes/no fact about the bound store that most stores answer "no" to and that changes
    rarely (does it blacklist anyone, have a tax rule, invoice through Moloni): ``read()`` once per
    store and cache window, kept in the cache called ``name`` (cleared by any flush of ``models``
    here, and through Redis in other processes, like every read cache). With caching off,
    ``uncached`` is the answer when given (the caller's own lookup then answers: one query fewer),
    else ``read()`` every time."""
    cache = cache_for(name, models)
    if cache.seconds <= 0 and uncached is not None:
        return uncached
    store_id = current_store_id()
    known = cache.get(store_id)
    if known is None:
        known = bool(read())
        cache.put(store_id, known)
    return known


@event.listens_for(Session, "after_flush")
def _invalidate(session, flush_context) -> None:
    touched = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if not touched:
        return
    for cache in list(_registry):
        if any(issubclass(kind, cache.models) for kind in touched):
            cache.clear()
    for name, models in _declared.items():
        if any(issubclass(kind, models) for kind in touched):
            session.info.setdefault(_BUMPS, set()).add(name)


@event.listens_for(Session, "after_commit")
def _publish(session) -> None:
    """Once the change is committed, tell every other process: INCR each touched cache's generation."""
    if session.in_nested_transaction():
        return
    names = session.info.pop(_BUMPS, None)
    if not names or not has_app_context():
        return
    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        return
    try:
        with redis_connection(app).pipeline(transaction=False) as pipe:
            for name in sorted(names):
                pipe.incr(GENERATION_KEY.format(name))
            pipe.execute()
    except Exception:  # noqa: BLE001 - other processes see the change when their TTL runs out
        log.exception("could not publish cache invalidation for %s", ", ".join(sorted(names)))


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(_BUMPS, None)  # nothing was committed: nothing to tell
