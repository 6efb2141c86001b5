"""The shop's browsing pages: home, categories, category, search, product (and its variant panel).

The search and category pages are one URL for the full page and for the results fragment
(``HX-Request``); the product page's variant panel is a fragment that also works as a full
page (``/p/<slug>?variant=<id>``) without JavaScript. The product page's reviews page in place
(``?page=``; the fragment when htmx targets ``#product-reviews``).
"""
from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role
from services import categories as category_service
from services import products as product_service
from services import reviews as review_service
from services import slugs as slug_service
from services import storefront as shop_service
from services import variants as variant_service
from services import wishlist as wishlist_service
from services.errors import Invalid, NotFound
from services.money import to_minor
from services.stores import settings_of
from transactions import reads_in_autocommit
from web import page_arg, wants_fragment

from . import bp

REVIEWS_PAGE_SIZE = 5


def _flag(name: str) -> bool:
    return request.args.get(name, "") in ("1", "on", "true", "yes")


def _price_arg(name: str, errors: dict) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = to_minor(raw, g.store.currency, field=name)
    except Invalid:
        errors[name] = "Enter an amount such as 9.99"
        return None
    if value < 0:
        errors[name] = "Enter an amount of at least 0"
        return None
    return value


def _catalog_query(*, category: str = "") -> tuple[shop_service.CatalogQuery, dict]:
    errors: dict[str, str] = {}
    sort = request.args.get("sort", "newest")
    query = shop_service.CatalogQuery(
        q=(request.args.get("q") or "").strip()[:100],
        category=category or (request.args.get("category") or "").strip()[:140],
        min_price=_price_arg("min_price", errors), max_price=_price_arg("max_price", errors),
        in_stock=_flag("in_stock"), featured=_flag("featured"),
        sort=sort if sort in shop_service.SHOP_SORTS else "newest", page=page_arg(),
    )
    if query.min_price is not None and query.max_price is not None and query.max_price < query.min_price:
        errors["max_price"] = "Enter a max price of at least the min price"  # else "Nothing matches", unexplained
        query.max_price = None
    return query, errors


def _hearts_for():
    """(store, signed-in user or None): the grid's query also answers its wishlist hearts."""
    return g.store, (current_user._get_current_object() if current_user.is_authenticated else None)


def _is_staff() -> bool:
    return bool(current_user.is_authenticated and Role(current_user.role).at_least(Role.STAFF))


@bp.get("/")
@reads_in_autocommit
def home():
    return render_template("storefront/home.html", **shop_service.home_page())


@bp.get("/categories")
@reads_in_autocommit
def categories():
    return render_template("storefront/catalog/categories.html",
                           tree=category_service.category_tree(category_service.list_categories(with_counts=True)))


@bp.get("/search")
@reads_in_autocommit
def search():
    query, errors = _catalog_query()
    categories = shop_service.shop_categories()
    results = shop_service.catalog_page(query, categories, hearts_for=_hearts_for())
    heading = "Search" if query.q else "All products"
    context = {"query": query, "results": results, "errors": errors, "categories": categories,
               "hearts": results.get("hearts"), "heading": heading,
               "page_title": f"Search: {query.q}" if query.q else heading,
               "sorts": shop_service.SHOP_SORTS, "results_url": url_for("storefront.search")}
    if wants_fragment():
        return render_template("storefront/catalog/_results.html", oob_heading=heading, **context)
    return render_template("storefront/catalog/search.html", **context)


@bp.get("/c/<slug>")
@reads_in_autocommit
def category(slug: str):
    categories = shop_service.shop_categories()
    current = next((c for c in categories if c.slug == slug), None)
    if current is None:
        return _retired("category", slug)
    query, errors = _catalog_query(category=slug)
    results = shop_service.catalog_page(query, categories, hearts_for=_hearts_for())
    context = {"query": query, "results": results, "errors": errors, "category": current,
               "hearts": results.get("hearts"),
               "children": [c for c in categories if c.parent_id == current.id],
               "parent": next((c for c in categories if c.id == current.parent_id), None),
               "sorts": shop_service.SHOP_SORTS, "results_url": url_for("storefront.category", slug=slug)}
    if wants_fragment():
        return render_template("storefront/catalog/_results.html", **context)
    return render_template("storefront/catalog/category.html", **context)


def _purchasable(variants) -> list:
    return [v for v in variants if v.stock_count > 0]


def _pick(variants, wanted: str | None):
    chosen = next((v for v in variants if v.id == wanted), None) if wanted else None
    if chosen is None:
        chosen = next(iter(_purchasable(variants)), None) or next(iter(variants), None)
    return chosen


def _retired(kind: str, slug: str):
    """A miss: the address of a renamed product or category answers a permanent redirect to its
    current one (the query string kept); else 404."""
    current = slug_service.redirect_slug(kind, slug, include_hidden=kind == "product" and _is_staff())
    if current is None:
        abort(404)
    url = url_for(request.endpoint, **{**request.view_args, "slug": current})
    query = request.query_string.decode()
    return redirect(f"{url}?{query}" if query else url, 301)


def _product_or_retired(slug: str):
    try:
        return product_service.get_product(slug, include_hidden=_is_staff()), None
    except NotFound:
        return None, _retired("product", slug)


@bp.get("/p/<slug>")
@reads_in_autocommit
def product(slug: str):
    item, moved = _product_or_retired(slug)
    if moved is not None:
        return moved
    variants = variant_service.visible_variants(item, include_hidden=False)
    reviews = review_service.list_reviews(product=item, page=page_arg(), page_size=REVIEWS_PAGE_SIZE)
    if wants_fragment() and request.headers.get("HX-Target") == "product-reviews":
        return render_template("storefront/catalog/_reviews.html", product=item, reviews=reviews)  # paging
    chosen = _pick(variants, request.args.get("variant"))
    product_service.increment_views(item.id)
    sold = shop_service.units_sold(item) if settings_of(g.store).show_sold_count else 0
    return render_template("storefront/catalog/product.html", product=item, variants=variants, chosen=chosen,
                           quantity_limits=variant_service.quantity_limits, reviews=reviews, sold=sold,
                           rating=review_service.rating_summary(item) if item.review_count else None,
                           hearts=wishlist_service.hearts_for_product(*_hearts_for(), item.id))


@bp.get("/p/<slug>/variant/<variant_id>")
@reads_in_autocommit
def product_variant(slug: str, variant_id: str):
    item, moved = _product_or_retired(slug)
    if moved is not None:
        return moved
    variants = variant_service.visible_variants(item, include_hidden=False)
    chosen = next((v for v in variants if v.id == variant_id), None)
    if chosen is None:
        abort(404)
    if not wants_fragment():
        return redirect(url_for("storefront.product", slug=item.slug, variant=chosen.id))
    return render_template("storefront/catalog/_buy_panel.html", product=item, chosen=chosen,
                           quantity_limits=variant_service.quantity_limits)
