"""Pages of a query: ``{"items", "page", "page_size", "total", "pages"}`` (RECONCILE.md)."""
from __future__ import annotations

import math

from sqlalchemy import Select, func, select

from extensions import db

MAX_PAGE_SIZE = 100


def paginate(stmt: Select, *, page: int = 1, page_size: int = 20, scalars: bool = True) -> dict:
    """Run ``stmt`` for one page in ONE query: the total rides along as ``count(*) OVER ()``.

    A page past the end has no row to carry the total, so only then a second COUNT runs.
    Do not joinedload a collection in ``stmt`` (it would multiply rows); selectinload it.
    """
    page = max(1, int(page))
    page_size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
    counted = stmt.add_columns(func.count().over().label("_page_total"))
    rows = db.session.execute(counted.limit(page_size).offset((page - 1) * page_size)).all()
    if rows:
        total = rows[0][-1]
    elif page == 1:
        total = 0
    else:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = [row[0] for row in rows] if scalars else [tuple(row[:-1]) for row in rows]
    return envelope(items, page=page, page_size=page_size, total=total)


def envelope(items: list, *, page: int, page_size: int, total: int) -> dict:
    return {"items": items, "page": page, "page_size": page_size, "total": total,
            "pages": math.ceil(total / page_size) if total else 0}


def paginate_list(items: list, *, page: int, page_size: int) -> dict:
    """The same envelope for a short list already in memory (tags, attributes, a product's variants)."""
    start = (page - 1) * page_size
    return envelope(items[start:start + page_size], page=page, page_size=page_size, total=len(items))
