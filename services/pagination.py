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


def clamp(page: int, page_size: int) -> tuple[int, int]:
    """A page number of at least 1 and a page size between 1 and MAX_PAGE_SIZE."""
    return max(1, int(page)), min(max(1, int(page_size)), MAX_PAGE_SIZE)


def paginate_by_id(ids: Select, rows: Select, *, page: int = 1, page_size: int = 20, scalars: bool = True,
                   scans: bool = False) -> dict:
    """One page in ONE statement, in two steps: the page's ids and the total from ``ids`` (the
    filters and the ORDER BY on the ids alone, so an index can answer it without the table), then
    the page's rows joined to those ids by primary key (``rows``: the entity, its joined loads and
    extra columns, the same ORDER BY, no filter).

    ``paginate`` reads and joins every matching row to count them (``count(*) OVER ()`` over whole
    rows); here only the ids are counted, then 24 rows are read: on a store with 10,000 products
    the catalog page walks an index instead of the table (bench/README.md, "Catalog speed, issue 16
    (second pass)"). Same envelope; a page past the end still counts with a second statement."""
    page, page_size = clamp(page, page_size)
    stmt = page_statement(ids, rows, page=page, page_size=page_size, scans=scans)
    return run_page(stmt, ids, page=page, page_size=page_size, scalars=scalars)


def page_statement(ids: Select, rows: Select, *, page: int, page_size: int, scans: bool = False) -> Select:
    """``paginate_by_id``'s statement (its last column the total), for a caller that keeps it to run
    again (a Select is immutable: building one costs more than running it on a small page)."""
    page, page_size = clamp(page, page_size)
    entity = rows.column_descriptions[0]["entity"]
    # The total: an uncorrelated scalar subquery (computed once, from the index), so the page's ids
    # are the first ones of the index in its order (``count(*) OVER ()`` makes both databases read,
    # and SQLite sort, every id before the LIMIT). When the filters read every matching row anyway
    # (``scans``: a text search), counting in the same pass is cheaper than scanning twice.
    if scans:
        total = func.count().over()
    else:
        # Counted without the order: SQLite counts from the covering list index, PostgreSQL the
        # shop's visible products from ``ix_products_visible`` (migration 0027), both index-only.
        # (Keeping the ORDER BY on PostgreSQL only tempted its planner to walk the list index; on a
        # database seeded afresh it sorted every product instead.)
        total = select(func.count()).select_from(ids.order_by(None).subquery()).scalar_subquery()
    page_ids = (ids.add_columns(total.label("_page_total"))
                .limit(page_size).offset((page - 1) * page_size).subquery("page_ids"))
    id_column = page_ids.c[ids.selected_columns[0].key]
    return rows.join(page_ids, id_column == entity.id).add_columns(page_ids.c._page_total)


def run_page(stmt: Select, ids: Select, *, page: int, page_size: int, extra: int = 0, scalars: bool = True) -> dict:
    """Run a ``page_statement`` (to which ``extra`` columns were added after the total) into the
    envelope. ``scalars``: the items are the entities; otherwise tuples of every column but the total."""
    page, page_size = clamp(page, page_size)
    found = db.session.execute(stmt).all()
    at = -1 - extra  # where the total is
    if found:
        total = found[0][at]
    elif page == 1:
        total = 0
    else:
        total = db.session.scalar(select(func.count()).select_from(ids.order_by(None).subquery())) or 0
    if scalars:
        items = [row[0] for row in found]
    else:
        items = [tuple(row[:at]) + tuple(row[at + 1:] if at != -1 else ()) for row in found]
    return envelope(items, page=page, page_size=page_size, total=total)


def envelope(items: list, *, page: int, page_size: int, total: int) -> dict:
    return {"items": items, "page": page, "page_size": page_size, "total": total,
            "pages": math.ceil(total / page_size) if total else 0}


def paginate_list(items: list, *, page: int, page_size: int) -> dict:
    """The same envelope for a short list already in memory (tags, attributes, a product's variants)."""
    start = (page - 1) * page_size
    return envelope(items[start:start + page_size], page=page, page_size=page_size, total=len(items))
