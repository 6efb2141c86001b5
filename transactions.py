"""How a request's database transaction begins, and how a GET that must write switches mode.

SQLite: transactions of requests that may write take the write lock up front (BEGIN IMMEDIATE),
so two writers never deadlock on a lock upgrade; GET/HEAD/OPTIONS begin deferred so reads never
queue behind writers. PostgreSQL needs none of this.
"""
from __future__ import annotations

from contextvars import ContextVar

from flask import request

from extensions import db

sqlite_immediate: ContextVar[bool] = ContextVar("sqlite_immediate", default=True)


def write_lock() -> bool:
    """Call before a GET writes (merging a guest cart, logging a first reveal).

    A deferred SQLite transaction that later writes cannot always upgrade: when another connection
    committed since it began, SQLite answers "database is locked" at once, without waiting. So end
    the read transaction (nothing was written yet) and let the rest of the request begin IMMEDIATE,
    like a POST. Returns True when it ended a transaction (loaded rows may need a reload).
    """
    if request.method not in ("GET", "HEAD", "OPTIONS") or sqlite_immediate.get():
        return False
    if db.session.get_bind().dialect.name != "sqlite":
        return False
    db.session.commit()
    sqlite_immediate.set(True)  # app's teardown resets it with the token it took first
    return True
