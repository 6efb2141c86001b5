"""Pages of a query: ``{"items", "page", "page_size", "total", "pages"}`` (RECONCILE.md)."""
from __future__ import annotations

import math

from sqlalchemy import Select, func, select

from extensions import db

MAX_PAGE_SIZE = 100


def paginate(stmt: Select, *, page: int = 1, page_size: int = 20, scalars: bool = True) -> dict:
    """Run ``stmt`` for one page. Two queries: the count and the page (whatever the page size)."""
    page = max(1, int(page))
    page_size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    result = db.session.execute(stmt.limit(page_size).offset((page - 1) * page_size))
    items = list(result.scalars()) if scalars else list(result)
    return {"items": items, "page": page, "page_size": page_size, "total": total,
            "pages": math.ceil(total / page_size) if total else 0}
