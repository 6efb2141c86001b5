"""Storefront (Seed A "Storefront (Public)"): what a shop window shows, whoever asks.

Always the shopper's view, even for staff tokens: enabled products, active variants, active
categories. The store comes from the host (tenancy).
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import categories as category_service
from services import products as product_service
from services import variants as variant_service
from transactions import reads_in_autocommit

from .access import access
from .categories import categories_page
from .products import product_page
from .schemas.categories import CategoryNodeOut
from .schemas.common import PageQuery, page_of
from .schemas.products import ProductDetailOut, ProductOut, StorefrontProductQuery

bp = APIBlueprint("api_storefront", __name__, url_prefix="/api/storefront", tag="Storefront")


@bp.get("/products")
@access("public")
@bp.input(StorefrontProductQuery, location="query", arg_name="query")
@bp.output(page_of(ProductOut))
@reads_in_autocommit
def list_products(query: StorefrontProductQuery):
    """Products for sale.

    Filters: `search`, `category_slug` (includes sub-categories), `min_price` and `max_price`
    (major units), `in_stock`, `featured`; `sort_by`: newest (default), oldest, price_asc,
    price_desc, popular, rating, name (or Seed A's created_at, title, price, popularity with
    `sort_dir`); `page`, `page_size`.
    """
    return product_page(product_service.list_products(query.filters(g.store.currency), page=query.page,
                                              page_size=query.page_size))


@bp.get("/products/<slug>")
@access("public")
@bp.output(ProductDetailOut)
@reads_in_autocommit
def get_product(slug: str):
    """A product by slug (or id) with images, tags and active variants; counts a view."""
    product = product_service.get_product(slug)
    tags = product_service.product_tags([product.id])[product.id]
    out = ProductDetailOut.detail(product, g.store, tags, variant_service.visible_variants(product, include_hidden=False),
                                  view="shopper")  # the shop's own view, whoever asks
    product_service.increment_views(product.id)  # an atomic UPDATE; the answer shows this view counted
    out.view_count += 1
    return out


@bp.get("/categories")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(CategoryNodeOut))
@reads_in_autocommit
def list_categories(query: PageQuery):
    """Active categories as a tree, with the number of products for sale in each."""
    return categories_page(flat=False, include_inactive=False, page=query.page, page_size=query.page_size)


@bp.get("/categories/<slug>")
@access("public")
@bp.output(CategoryNodeOut)
@reads_in_autocommit
def get_category(slug: str):
    """An active category by slug, with its active sub-categories and product counts."""
    return CategoryNodeOut.node(category_service.category_node(slug))
