"""Read-only queries the shop and dashboard pages need beyond services/catalog.py.

Every function only reads (no flush, no commit). The catalog pages are kept to a fixed
number of statements whatever the page size: the active categories (one query, which also
resolves a category slug and its descendants in Python), the count and the page (products
with their category joined). Product relationships are ``lazy="raise"``, so a per-product
query would fail loudly instead of quietly costing N queries.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from extensions import db
from models import Category, Product, User

from .categories import category_tree, descendant_ids, list_categories
from .pagination import paginate
from .products import ProductFilters, product_query

STOREFRONT_PAGE_SIZE = 24
ADMIN_PAGE_SIZE = 25

# The shop's sort options: name -> (ProductFilters.sort_by, sort_dir, label)
SHOP_SORTS = {
    "newest": ("created_at", "desc", "Newest"),
    "price_asc": ("price", "asc", "Price: low to high"),
    "price_desc": ("price", "desc", "Price: high to low"),
    "popular": ("popularity", "desc", "Most popular"),
    "rating": ("rating", "desc", "Best rated"),
}

# The dashboard's product table sorts: name -> ProductFilters.sort_by
ADMIN_SORTS = {"created": "created_at", "title": "title", "price": "price", "stock": "stock"}


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


def shop_categories() -> list[Category]:
    """Active categories, sorted: one query, then served from the per-process read cache until a
    category changes (or STORE_CACHE_SECONDS pass). The rows are detached: read-only."""
    from tenancy import current_store_id

    from .cache import cache_for

    cache = cache_for("shop_categories", (Category,))
    store_id = current_store_id()
    categories = cache.get(store_id)
    if categories is None:
        categories = [row["category"] for row in list_categories()]
        cache.put(store_id, categories)
    return categories


def catalog_page(query: CatalogQuery, categories: list[Category], *,
                 page_size: int = STOREFRONT_PAGE_SIZE) -> dict:
    """One page of visible products for the shop's search and category pages (2 queries).

    ``categories`` is the list from ``shop_categories()``: an unknown or inactive category
    slug matches nothing (rather than everything).
    """
    sort_by, sort_dir, _label = SHOP_SORTS.get(query.sort, SHOP_SORTS["newest"])
    filters = ProductFilters(
        search=query.q or None, min_price=query.min_price, max_price=query.max_price,
        stock_status="in_stock" if query.in_stock else None, is_featured=True if query.featured else None,
        sort_by=sort_by, sort_dir=sort_dir,
    )
    stmt = product_query(filters)
    if query.category:
        match = next((c for c in categories if c.slug == query.category), None)
        stmt = stmt.where(Product.category_id.in_(descendants(match.id, categories)) if match
                          else Product.id.is_(None))
    return paginate(stmt, page=query.page, page_size=page_size)


def product_strip(*, featured: bool = False, limit: int = 8) -> list[Product]:
    """Visible products for a home page row: newest first, optionally only featured (1 query)."""
    filters = ProductFilters(is_featured=True if featured else None, sort_by="created_at", sort_dir="desc")
    return list(db.session.scalars(product_query(filters).limit(limit)).unique())


def home_page() -> dict:
    """Featured and newest products and the categories with their product counts (4 queries)."""
    rows = list_categories(with_counts=True)
    return {
        "featured": product_strip(featured=True, limit=8),
        "newest": product_strip(limit=8),
        "categories": [r for r in rows if r["category"].parent_id is None or r["product_count"]],
    }


def flatten_tree(rows: list[dict]) -> list[tuple[dict, int]]:
    """A nested tree from ``category_tree`` as ``(node, depth)`` in display order."""
    out: list[tuple[dict, int]] = []

    def walk(nodes: list[dict], depth: int) -> None:
        for node in nodes:
            out.append((node, depth))
            walk(node["children"], depth + 1)

    walk(rows, 0)
    return out


def category_rows(*, include_inactive: bool = True, with_counts: bool = True) -> list[tuple[dict, int]]:
    """Every category as ``(node, depth)`` for the dashboard's tree and select boxes."""
    return flatten_tree(category_tree(list_categories(include_inactive=include_inactive, with_counts=with_counts)))


def admin_products(*, q: str = "", category_id: str = "", status: str = "", sort: str = "created",
                   direction: str = "desc", page: int = 1) -> dict:
    """The dashboard's product table: every non-deleted product, enabled or not."""
    filters = ProductFilters(
        search=q or None, category_id=category_id or None,
        is_active={"enabled": True, "disabled": False}.get(status), include_hidden=True,
        sort_by=ADMIN_SORTS.get(sort, "created_at"), sort_dir="asc" if direction == "asc" else "desc",
    )
    return paginate(product_query(filters), page=page, page_size=ADMIN_PAGE_SIZE)


def usernames(user_ids: set[str | None]) -> dict[str, str]:
    """Usernames by id (for "who imported this batch")."""
    ids = [i for i in user_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


# --- cart, orders and users (the shop's cart badge and the dashboard's order screens) ----

def cart_quantity(*, user_id: str | None = None, guest_key: str | None = None) -> int:
    """How many units the header's mini-cart shows (one query; 0 without a cart)."""
    from sqlalchemy import func

    from models import Cart, CartItem

    if not user_id and not guest_key:
        return 0
    owner = Cart.user_id == user_id if user_id else Cart.guest_key == guest_key
    return int(db.session.scalar(select(func.coalesce(func.sum(CartItem.quantity), 0))
                                 .join(Cart, Cart.id == CartItem.cart_id).where(owner)) or 0)


def admin_users(*, q: str = "", page: int = 1) -> dict:
    """The dashboard's user list: username/email search, newest first."""
    from sqlalchemy import func, or_

    stmt = select(User)
    term = (q or "").strip().lower()[:100]
    if term:
        like = f"%{term.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.email).like(like)))
    return paginate(stmt.order_by(User.created_at.desc(), User.id), page=page, page_size=ADMIN_PAGE_SIZE)


def find_users(q: str, *, limit: int = 8) -> list[User]:
    """Suggestions for a "pick a user" box: username or email starting with / containing ``q``."""
    from sqlalchemy import func, or_

    term = (q or "").strip().lower()[:100].replace("%", "").replace("_", "")
    if len(term) < 1:
        return []
    like = f"%{term}%"
    return list(db.session.scalars(
        select(User).where(or_(func.lower(User.username).like(like), func.lower(User.email).like(like)))
        .order_by(func.lower(User.username)).limit(limit)))


def user_by_login(identifier: str) -> User | None:
    """A user of the bound store by exact username (any case) or email."""
    from sqlalchemy import func

    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    return db.session.scalar(select(User).where(func.lower(User.username) == identifier.lower()))


def total_spent(user_id: str) -> int:
    """What a user has paid for orders (paid or partly refunded), minor units."""
    from sqlalchemy import func

    from models import Order

    return int(db.session.scalar(select(func.coalesce(func.sum(Order.total), 0)).where(
        Order.buyer_id == user_id, Order.payment_status.in_(("PAID", "PARTIALLY_REFUNDED")))) or 0)


def gift_variant_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every live subcategory, grouped by product, for the gift form: (product, [(id, label)])."""
    from models import Variant

    rows = db.session.execute(
        select(Product.title, Product.kind, Variant.id, Variant.title, Variant.price, Variant.stock_count)
        .join(Variant, Variant.product_id == Product.id)
        .where(Product.deleted_at.is_(None), Variant.deleted_at.is_(None))
        .order_by(Product.title, Variant.sort_order, Variant.price)).all()
    groups: dict[str, list[tuple[str, str]]] = {}
    for product_title, _kind, variant_id, variant_title, _price, stock_count in rows:
        groups.setdefault(product_title, []).append((variant_id, f"{variant_title} ({stock_count} in stock)"))
    return list(groups.items())
