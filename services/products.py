"""Products: create (with their subcategories), change, soft-delete, tags, views, and the
filtered, sorted product listing every catalog page and list endpoint uses.

Prices arrive in minor units (the API layer converts)."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, column, delete, func, or_, select, table, text, update
from sqlalchemy.orm import joinedload, selectinload, undefer

from extensions import db
from models import (
    Category,
    Product,
    ProductTag,
    StockItem,
    Tag,
    Variant,
)
from tenancy import current_store_id
from transactions import write_lock

from . import plans, taxes
from .categories import category_ref, with_descendants
from .errors import Invalid, NotFound
from .pagination import clamp, page_statement, run_page
from .slugs import check_slug, claim_slug, forget_slugs, retire_slug, unique_slug
from .text import UUID_RE, clean_text, holds, sanitize_html
from .variants import create_variant, refresh_product_cache, visible_product_filters, withdraw_sellable


def _now() -> datetime:
    return datetime.now(UTC)


SORTS = {"created_at": Product.created_at, "title": Product.title, "price": Product.starting_at,
         "popularity": Product.view_count, "rating": Product.average_rating, "views": Product.view_count,
         "updated_at": Product.updated_at, "stock": Product.stock_total, "name": Product.title}


def get_product(key: str, *, include_hidden: bool = False, with_details: bool = True) -> Product:
    """By id or slug. Hidden (disabled) products are a 404 unless ``include_hidden``."""
    cond = Product.id == key if UUID_RE.match(key or "") else Product.slug == key
    stmt = select(Product).where(cond, Product.deleted_at.is_(None))
    if with_details:
        stmt = stmt.options(joinedload(Product.category), selectinload(Product.images),
                            selectinload(Product.variants).selectinload(Variant.attribute_values))
    product = db.session.scalar(stmt)
    if product is None or (not product.is_enabled and not include_hidden):
        raise NotFound("No such product", code="product_not_found")
    return product


def product_tags(product_ids: list[str]) -> dict[str, list[Tag]]:
    out: dict[str, list[Tag]] = {pid: [] for pid in product_ids}
    if not product_ids:
        return out
    rows = db.session.execute(select(ProductTag.product_id, Tag).join(Tag, Tag.id == ProductTag.tag_id)
                              .where(ProductTag.product_id.in_(product_ids)).order_by(Tag.name))
    for pid, tag in rows:
        out[pid].append(tag)
    return out


def _replacement(changes: dict, product: Product) -> None:
    settings = changes.get("replacement_settings") or {}
    for name in ("replace_enabled", "auto_replace_enabled", "auto_replace_max_before_approval", "warranty_time"):
        value = settings.get(name, changes.get(name))
        if value is None:
            continue
        if name in ("auto_replace_max_before_approval", "warranty_time"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 10 * 365 * 86400:
                raise Invalid(f"{name} must be a whole number of at least 0", details={name: ["invalid"]})
        setattr(product, name, value)


def _apply_product_fields(product: Product, changes: dict) -> None:
    if changes.get("title") is not None:
        product.title = clean_text(changes["title"], "title", max_length=200, required=True)
    if changes.get("description") is not None:
        product.description = sanitize_html(changes["description"])
    if "category_id" in changes:
        product.category_id = category_ref(changes["category_id"], "category_id") if changes["category_id"] else None
    for name in ("is_enabled", "is_featured", "sort_order"):
        if changes.get(name) is not None:
            setattr(product, name, changes[name])
    if changes.get("kind") is not None:
        if changes["kind"] not in ("digital", "physical"):
            raise Invalid("kind must be digital or physical", details={"kind": ["invalid"]})
        product.kind = changes["kind"]
    if changes.get("tax_class") is not None:
        product.tax_class = taxes.normalize_class(changes["tax_class"])
    _replacement(changes, product)


def create_product(data: dict) -> Product:
    if not data.get("title"):
        raise Invalid("title is required", details={"title": ["required"]})
    plans.check_product_limit()
    product = Product(title="", slug="")
    _apply_product_fields(product, data)
    product.slug = check_slug(Product, data["slug"]) if data.get("slug") else unique_slug(Product, product.title)
    claim_slug("product", product.slug)
    db.session.add(product)
    db.session.flush()
    if data.get("tag_ids") is not None:
        set_product_tags(product, data["tag_ids"])
    for variant in data.get("variants") or []:
        create_variant(product, variant)
    return product


def update_product(product: Product, changes: dict) -> Product:
    _apply_product_fields(product, changes)
    if changes.get("slug"):
        old, product.slug = product.slug, check_slug(Product, changes["slug"], exclude_id=product.id)
        retire_slug("product", product.id, old, product.slug)
    if changes.get("tag_ids") is not None:
        set_product_tags(product, changes["tag_ids"])
    product.updated_at = _now()
    db.session.flush()
    return product


def delete_product(product: Product) -> None:
    """Soft delete: order history keeps its product; sellable stock is withdrawn, items held by
    unpaid orders stay with them (the rule of ``variants.delete_variant``); the slug is freed."""
    now = _now()
    product.deleted_at = now
    product.is_enabled = False
    product.slug = f"{product.slug[:180]}--deleted-{product.id[:8]}"
    forget_slugs("product", product.id)
    db.session.execute(update(Variant).where(Variant.product_id == product.id, Variant.deleted_at.is_(None))
                       .values(deleted_at=now, is_active=False, stock_count=0))
    withdraw_sellable(StockItem.product_id == product.id, now=now)
    refresh_product_cache(product)
    db.session.flush()


def set_product_tags(product: Product, tag_ids: list[str]) -> None:
    tag_ids = list(dict.fromkeys(tag_ids))
    found = set(db.session.scalars(select(Tag.id).where(Tag.id.in_(tag_ids)))) if tag_ids else set()
    unknown = [t for t in tag_ids if t not in found]
    if unknown:
        raise Invalid("Unknown tag ids", details={"tag_ids": unknown})
    db.session.execute(delete(ProductTag).where(ProductTag.product_id == product.id))
    db.session.add_all(ProductTag(product_id=product.id, tag_id=t) for t in tag_ids)
    db.session.flush()


def increment_views(product_id: str) -> None:
    """Count a view of the product page (a GET that writes: on SQLite it takes the write lock first)."""
    write_lock()
    db.session.execute(update(Product).where(Product.id == product_id).values(view_count=Product.view_count + 1)
                       .execution_options(synchronize_session=False))


@dataclass
class ProductFilters:
    search: str | None = None
    category_id: str | None = None
    category_slug: str | None = None
    tag_id: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    stock_status: str | None = None  # in_stock | out_of_stock | low_stock
    is_featured: bool | None = None
    is_active: bool | None = None  # None = both; a shopper (no include_hidden) asking for False gets nothing
    sort_by: str = "created_at"
    sort_dir: str = "desc"
    include_hidden: bool = False
    extra: dict = field(default_factory=dict)


def product_query(f: ProductFilters) -> Select:
    """The products ``f`` asks for, each with its category, in its order (one statement)."""
    return select(Product).options(joinedload(Product.category)).where(*_conditions(f)).order_by(*_ordering(f))


def _conditions(f: ProductFilters, indexed: bool | None = None) -> list:
    conds = list(visible_product_filters()) if not f.include_hidden else [Product.deleted_at.is_(None)]
    if f.is_active is not None:  # narrows what the caller may see: disabled products are staff-only
        conds.append(Product.is_enabled.is_(f.is_active))
    if f.search and f.search.strip():
        conds.append(_matches(_term(f), _search_indexed(f) if indexed is None else indexed))
    if f.category_id:
        conds.append(Product.category_id.in_(with_descendants(f.category_id)))
    if f.category_slug:
        category = db.session.scalar(select(Category).where(Category.slug == f.category_slug))
        conds.append(Product.category_id.in_(with_descendants(category.id)) if category else Product.id.is_(None))
    if f.tag_id:
        conds.append(Product.id.in_(select(ProductTag.product_id).where(ProductTag.tag_id == f.tag_id)))
    if f.min_price is not None:
        conds.append(Product.starting_at >= f.min_price)
    if f.max_price is not None:
        conds.append(Product.starting_at <= f.max_price)
    if f.stock_status == "in_stock":
        conds.append(Product.stock_total > 0)
    elif f.stock_status == "out_of_stock":
        conds.append(Product.stock_total <= 0)
    elif f.stock_status == "low_stock":
        conds.append(Product.id.in_(select(Variant.product_id).where(
            Variant.deleted_at.is_(None), Variant.is_active.is_(True), Variant.stock_count > 0,
            Variant.stock_count <= Variant.low_stock_threshold)))
    if f.is_featured is not None:
        conds.append(Product.is_featured.is_(f.is_featured))
    return conds


# SQLite's trigram index of the products' titles and descriptions (migrations 0025, 0026): a
# contentless FTS5 table whose rowids are the keys of products_search_keys
_search_index = table("products_search", column("rowid"))
_search_keys = table("products_search_keys", column("key"), column("product_id"))
_search_match = text("products_search MATCH :search_phrase")


# SQLite: a store with fewer products than this searches by reading them (the FTS table holds
# every store's products: a small store would otherwise look through a big one's matches)
SEARCH_INDEX_FROM = 300
_catalog_sizes: dict[str, tuple[float, int]] = {}  # store id -> (until, its products), for a minute


def _catalog_size(store_id: str | None) -> int:
    """The store's products, counted at most once a minute (from an index): only a choice between
    two ways of searching depends on it, never what is found."""
    now = time.monotonic()
    known = _catalog_sizes.get(store_id)
    if known is None or known[0] < now:
        count = db.session.scalar(select(func.count()).select_from(Product).where(
            Product.store_id == store_id, Product.deleted_at.is_(None))) or 0
        if len(_catalog_sizes) > 10_000:
            _catalog_sizes.clear()
        known = _catalog_sizes[store_id] = (now + 60, count)
    return known[1]


def _term(f: ProductFilters) -> str:
    return (f.search or "").strip().lower()[:100]


def _search_indexed(f: ProductFilters) -> bool:
    """Whether ``f``'s search asks SQLite's FTS5 table (``_matches``)."""
    term = _term(f)
    return (len(term) >= 3 and db.session.get_bind().dialect.name == "sqlite"
            and _catalog_size(current_store_id()) >= SEARCH_INDEX_FROM)


def _matches(term: str, indexed: bool):
    """Products whose title or description holds ``term`` (lowered), whatever the case. Three
    characters or more are looked up in a trigram index (migration 0025): PostgreSQL's on
    ``lower(col)``, which this LIKE uses (the planner weighs it against the store's own products),
    and, ``indexed`` (a big store), SQLite's FTS5 table, asked for the term as one phrase in those
    two columns: its rowids from the index alone, each one's product id by its integer key, and
    each product's filters and sort keys from ``ix_products_search_lookup`` (migration 0026).
    Shorter terms read the store's products."""
    if indexed:
        phrase = '{title description} : "' + term.replace('"', '""') + '"'
        keys = select(_search_index.c.rowid).where(_search_match.bindparams(bindparam("search_phrase", phrase)))
        return Product.id.in_(select(_search_keys.c.product_id).where(_search_keys.c.key.in_(keys)))
    return or_(holds(Product.title, term), holds(Product.description, term))


def _ordering(f: ProductFilters, *, column=None, id_column=None) -> list:
    """The sort column, then the id (the tie-breaker) in the same direction: the list indexes'
    order read forwards or backwards. ``column``/``id_column``: the same on a subquery's columns."""
    column = SORTS.get(f.sort_by, Product.created_at) if column is None else column
    id_column = Product.id if id_column is None else id_column
    keys = [column.asc(), id_column.asc()] if f.sort_dir == "asc" else [column.desc(), id_column.desc()]
    if f.sort_by == "price":
        keys[0] = keys[0].nulls_last()
    return keys


# built page statements, by what they depend on (``_statement_key``): building one (~0.6 ms of
# SQLAlchemy) costs more than running it on a small page; full, the dict starts over
_statements: dict[tuple, tuple[Select, Select]] = {}
STATEMENTS_KEPT = 256


def _statement_key(f: ProductFilters, *parts) -> tuple | None:
    if f.extra:
        return None
    values = tuple(getattr(f, name) for name in ProductFilters.__dataclass_fields__ if name != "extra")
    return (db.session.get_bind().dialect.name, values, *parts)


def product_page(f: ProductFilters, *, page: int, page_size: int, category_ids: tuple[str, ...] | None = None,
                 low_stock: bool = False, tags: bool = False, columns: Callable[[], tuple] | None = None,
                 columns_key: tuple | None = None, scalars: bool = True) -> dict:
    """One page of ``product_query(f)`` (only the categories ``category_ids``, when given), in ONE
    statement of two steps (``pagination.page_statement``): the page's ids and the total from an
    index alone (``ix_products_list_created_at``, ``ix_products_list_price``: the store, the sort
    column, the id, whether it is enabled and deleted), then the page's rows with their category by
    id (``low_stock``: and their ``low_stock_limit``; ``tags``: and their tags, see
    ``_tags_column``; ``columns()``: and these, after the total, the same for the same
    ``columns_key``). A big store's page costs an index walk, not a join of every product; a
    free-text ``search`` finds its matches in a trigram index (``_matches``), then sorts only
    those. The statement is built once per filters and page and kept
    (``_statements``); the store's criteria are added when it runs (``tenancy``)."""
    page, page_size = clamp(page, page_size)
    indexed = _search_indexed(f) if f.search else False
    key = _statement_key(f, category_ids, low_stock, tags, page, page_size, indexed)
    built = _statements.get(key) if key is not None else None
    if built is None:
        where = []
        if category_ids is not None:
            where.append(Product.category_id.in_(category_ids) if category_ids else Product.id.is_(None))
        if f.search:
            # The matches first, on their own (OFFSET 0 keeps PostgreSQL from merging them into
            # the ordered query), then their order: a trigram index (migration 0025) finds the
            # few products that match, where the planner would otherwise walk the whole sorted
            # list index and test every product's title and description.
            column = SORTS.get(f.sort_by, Product.created_at)
            matching = (select(Product.id, column.label("sort_key")).where(*_conditions(f, indexed), *where)
                        .offset(0).subquery("matching"))
            ids = select(matching.c.id).order_by(*_ordering(f, column=matching.c.sort_key, id_column=matching.c.id))
        else:
            ids = select(Product.id).where(*_conditions(f), *where).order_by(*_ordering(f))
        rows = select(Product).options(joinedload(Product.category))
        if low_stock:
            rows = rows.options(undefer(Product.low_stock_limit))
        if tags:
            rows = rows.add_columns(_tags_column())
        rows = rows.order_by(*_ordering(f))
        built = (page_statement(ids, rows, page=page, page_size=page_size, scans=bool(f.search)), ids)
        if key is not None:
            if len(_statements) >= STATEMENTS_KEPT:
                _statements.clear()
            _statements[key] = built
    stmt, ids = built
    if columns is not None:
        full_key = (key, columns_key) if key is not None and columns_key is not None else None
        full = _statements.get(full_key) if full_key is not None else None
        if full is None:
            extra = columns()
            full = (stmt.add_columns(*extra), len(extra))
            if full_key is not None:
                _statements[full_key] = full
        stmt, count = full
        return run_page(stmt, ids, page=page, page_size=page_size, extra=count, scalars=scalars)
    return run_page(stmt, ids, page=page, page_size=page_size, scalars=scalars)


class TagRef(NamedTuple):
    id: str
    name: str
    slug: str


def _tags_column():
    """A product's tags as ONE column of a page's statement (a JSON array of [id, name, slug]), so a
    list needs no tags query of its own: ``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite."""
    # The tables, not the entities: the tenancy criteria (store_id = ?) would be added to them and
    # SQLite would then read the store's product_tags by store for every row instead of by product
    # (the primary key); a product's id already names one store.
    links, tags = ProductTag.__table__, Tag.__table__
    postgres = db.session.get_bind().dialect.name == "postgresql"
    triple = (func.json_build_array if postgres else func.json_array)(tags.c.id, tags.c.name, tags.c.slug)
    aggregate = func.json_agg(triple) if postgres else func.json_group_array(triple)
    return (select(aggregate).select_from(links).join(tags, tags.c.id == links.c.tag_id)
            .where(links.c.product_id == Product.id).scalar_subquery().label("tag_list"))


def _tag_refs(value) -> list[TagRef]:
    if isinstance(value, str):
        value = json.loads(value)
    return sorted((TagRef(*triple) for triple in value or ()), key=lambda tag: tag.name)


def list_products(f: ProductFilters, *, page: int, page_size: int) -> dict:
    """A page of products (``product_page``) and, as ``tags``, each one's tags by product id, sorted
    by name (``product_tags``' answer), from the same statement."""
    result = product_page(f, page=page, page_size=page_size, tags=True, scalars=False)
    rows = result["items"]
    result["items"] = [row[0] for row in rows]
    result["tags"] = {row[0].id: _tag_refs(row[1]) for row in rows}
    return result


# The dashboard's product table sorts: name -> ProductFilters.sort_by
ADMIN_PAGE_SIZE = 25
ADMIN_SORTS = {"created": "created_at", "title": "title", "price": "price", "stock": "stock"}


def admin_products(*, q: str = "", category_id: str = "", status: str = "", sort: str = "created",
                   direction: str = "desc", page: int = 1) -> dict:
    """The dashboard's product table: every non-deleted product, enabled or not."""
    filters = ProductFilters(
        search=q or None, category_id=category_id or None,
        is_active={"enabled": True, "disabled": False}.get(status), include_hidden=True,
        sort_by=ADMIN_SORTS.get(sort, "created_at"), sort_dir="asc" if direction == "asc" else "desc",
    )
    return product_page(filters, page=page, page_size=ADMIN_PAGE_SIZE)
