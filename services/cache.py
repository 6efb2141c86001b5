"""Per-process read caches for rows that change rarely and are read on every page (the store a
host serves, a store's categories).

Each cache has a TTL (``STORE_CACHE_SECONDS``; 0 turns caching off) and names the models it
depends on: any flush in this process that adds, changes or deletes such a row clears it at
once; other processes see the change when the TTL runs out, except the store row: its caches
(``web.resolve_request_store``) check the row's ``updated_at`` on every hit, so a store's settings
change everywhere on the next request.

A cache holds plain values, never ORM instances: a row is kept as the snapshot of its column
values (``snapshot``), and every read builds a fresh detached instance from it (``revive``, no
SQL). So nothing a request does to its rows (a failed request's rollback expires them) reaches
another request.
"""
from __future__ import annotations

import copy
import threading
import time

from flask import Flask, current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

_registry: list[TTLCache] = []
_lock = threading.Lock()


class TTLCache:
    def __init__(self, name: str, seconds: float, models: tuple[type, ...]):
        self.name, self.seconds, self.models = name, seconds, models
        self.entries: dict[object, tuple[float, object]] = {}

    def get(self, key):
        entry = self.entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key, value) -> None:
        if self.seconds > 0 and value is not None:
            self.entries[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        self.entries.clear()


def snapshot(row) -> tuple[type, dict]:
    """What a cache keeps of a row: its class and its column values (plain data)."""
    mapper = inspect(row).mapper
    return type(row), {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs}


def revive(snap: tuple[type, dict]):
    """A new detached instance of a snapshot, every column loaded (reading it costs no SQL). Each
    call returns its own object with its own copy of mutable values (JSON columns)."""
    cls, values = snap
    row = cls(**copy.deepcopy(values))
    make_transient_to_detached(row)
    return row


def cache_for(name: str, models: tuple[type, ...], app: Flask | None = None) -> TTLCache:
    """The app's cache called ``name`` (made on first use)."""
    app = app or current_app._get_current_object()
    caches = app.extensions.setdefault("read_caches", {})
    cache = caches.get(name)
    if cache is None:
        with _lock:
            cache = caches.get(name)
            if cache is None:
                cache = TTLCache(name, float(app.config.get("STORE_CACHE_SECONDS", 5)), models)
                caches[name] = cache
                _registry.append(cache)
    return cache


@event.listens_for(Session, "after_flush")
def _invalidate(session, flush_context) -> None:
    touched = {type(obj) for obj in (*session.new, *session.dirty, *session.deleted)}
    if not touched:
        return
    for cache in _registry:
        if any(issubclass(kind, cache.models) for kind in touched):
            cache.clear()
