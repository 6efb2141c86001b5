"""The shop's read queries: the catalog page, the home page's strips, the categories a shop shows.

Every function only reads (no flush, no commit). The catalog pages are kept to a fixed
number of statements whatever the page size: the active categories (one query, which also
resolves a category slug and its descendants in Python), the count and the page (products
with their category joined). Product relationships are ``lazy="raise"``, so a per-product
query would fail loudly instead of quietly costing N queries.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from extensions import db
from models import Category, Order, OrderLine, Product, Store, User, Variant
from tenancy import current_store_id

from . import wishlist
from .cache import cache_for, declare, revive, snapshot
from .categories import descendant_ids, list_categories
from .products import ProductFilters, product_page, product_query

STOREFRONT_PAGE_SIZE = 24


# The shop's sort options: name -> (ProductFilters.sort_by, sort_dir, label)
SHOP_SORTS = {
    "newest": ("created_at", "desc", "Newest"),
    "price_asc": ("price", "asc", "Price: low to high"),
    "price_desc": ("price", "desc", "Price: high to low"),
    "popular": ("popularity", "desc", "Most popular"),
    "rating": ("rating", "desc", "Best rated"),
}


@dataclass
class CatalogQuery:
    """What a shopper asked for, already parsed (prices in minor units)."""

    q: str = ""
    category: str = ""  # slug
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    featured: bool = False
    sort: str = "newest"
    page: int = 1


def descendants(category_id: str, categories: list[Category]) -> list[str]:
    """The id of a category and of every category below it, from an already loaded list."""
    return descendant_ids(category_id, [(c.id, c.parent_id) for c in categories])


declare("shop_categories", (Category,))


def shop_categories() -> list[Category]:
    """Active categories, sorted: one query, then served from the per-process read cache until a
    category changes (or STORE_CACHE_SECONDS pass). The rows are detached: read-only."""
    cache = cache_for("shop_categories", (Category,))
    store_id = current_store_id()
    snapshots = cache.get(store_id)
    if snapshots is None:
        categories = [row["category"] for row in list_categories()]
        cache.put(store_id, [snapshot(c) for c in categories])
        return categories
    return [revive(snap) for snap in snapshots]


def catalog_page(query: CatalogQuery, categories: list[Category], *,
                 page_size: int = STOREFRONT_PAGE_SIZE, hearts_for: tuple[Store, User | None] | None = None) -> dict:
    """One page of visible products for the shop's search and category pages (1 query; 2 past the end).

    ``categories`` is the list from ``shop_categories()``: an unknown or inactive category
    slug matches nothing (rather than everything). ``hearts_for`` (store, signed-in user or None):
    the page query also answers whether the store has the wishlist and which products the user
    saved (``wishlist.grid_columns``), returned as ``hearts``: no query of their own.
    """
    sort_by, sort_dir, _label = SHOP_SORTS.get(query.sort, SHOP_SORTS["newest"])
    filters = ProductFilters(
        search=query.q or None, min_price=query.min_price, max_price=query.max_price,
        stock_status="in_stock" if query.in_stock else None, is_featured=True if query.featured else None,
        sort_by=sort_by, sort_dir=sort_dir,
    )
    category_ids = None
    if query.category:
        match = next((c for c in categories if c.slug == query.category), None)
        category_ids = tuple(descendants(match.id, categories)) if match else ()
    if hearts_for is None:
        return product_page(filters, page=query.page, page_size=page_size, category_ids=category_ids, low_stock=True)
    store, user = hearts_for
    results = product_page(filters, page=query.page, page_size=page_size, category_ids=category_ids, low_stock=True,
                           columns=lambda: wishlist.grid_columns(store, user), scalars=False,
                           columns_key=("hearts", store.id, store.plan_id, user.id if user is not None else None))
    rows = results["items"]
    results["items"] = [row[0] for row in rows]
    results["hearts"] = wishlist.Hearts(on=bool(rows and rows[0][1]), saved={row[0].id for row in rows if row[2]})
    return results


def product_strip(*, featured: bool = False, limit: int = 8) -> list[Product]:
    """Visible products for a home page row: newest first, optionally only featured (1 query)."""
    filters = ProductFilters(is_featured=True if featured else None, sort_by="created_at", sort_dir="desc")
    stmt = product_query(filters).options(undefer(Product.low_stock_limit)).limit(limit)
    return list(db.session.scalars(stmt).unique())


def home_page() -> dict:
    """Featured and newest products and the categories with their product counts (4 queries)."""
    rows = list_categories(with_counts=True)
    return {
        "featured": product_strip(featured=True, limit=8),
        "newest": product_strip(limit=8),
        "categories": [r for r in rows if r["category"].parent_id is None or r["product_count"]],
    }


def units_sold(product: Product) -> int:
    """Units of ``product`` bought in paid orders (gifts and fully refunded orders left out): one
    aggregate, through the indexed ``order_lines.variant_id``. The product page shows it when the
    store turns ``show_sold_count`` on."""
    variant_ids = select(Variant.id).where(Variant.product_id == product.id)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.variant_id.in_(variant_ids), Order.paid_at.isnot(None), Order.is_gift.is_(False),
               Order.payment_status != "REFUNDED")) or 0)
