"""What SQL a request sends: the recorder the read-cache and store-version tests share."""
from __future__ import annotations

from sqlalchemy import event


def statements_of(app, client, path: str, **request) -> tuple[int, list[str]]:
    """(status, every SQL statement) of one GET of ``path`` (``request``: the test client's
    arguments, such as ``headers`` or ``query_string``)."""
    from extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []
    listener = lambda *a: seen.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        status = client.get(path, **request).status_code
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return status, seen
