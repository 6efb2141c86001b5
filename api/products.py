"""Products (Seed A "Products", Seed B "Group 2"): listing, detail by id or slug, changes, images.

Shoppers (below STAFF) never see disabled or deleted products nor inactive variants; STAFF and
above see every product that is not deleted, except in Seed B's ``/api/products/all``, where only
those who manage products (MANAGER and above) see disabled ones. Deleting is a soft delete: order history keeps its
product, sold stock stays, unsold stock is withdrawn.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from models import Product
from services import images as image_service
from services import products as product_service
from services import variants as variant_service
from transactions import begins_deferred, reads_in_autocommit

from .access import access, catalog_view, is_staff, manages_catalog
from .schemas.common import Message, PageQuery, page_of
from .schemas.products import (
    ImageOut,
    ImageUploadIn,
    ProductDetailOut,
    ProductIn,
    ProductOut,
    ProductQuery,
    ProductUpdateIn,
)
from .uploads import multipart, read_upload, upload_limit

bp = APIBlueprint("api_products", __name__, url_prefix="/api", tag="Products")


def create_and_show(body: ProductIn) -> ProductDetailOut:
    """Create a product from a validated body (Seed A and Seed B routes share this)."""
    product = product_service.create_product(body.to_service(g.store.currency))
    return product_detail(product.id)


def update_and_show(product_id: str, body: ProductUpdateIn) -> ProductDetailOut:
    """Apply a validated update (Seed A and Seed B routes share this)."""
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    product_service.update_product(product, body.to_service(g.store.currency))
    return product_detail(product.id)


def product_detail(key: str) -> ProductDetailOut:
    """The detail JSON of a product the caller may see (404 otherwise)."""
    view = catalog_view()
    product = product_service.get_product(key, include_hidden=view == "staff")
    tags = product_service.product_tags([product.id])[product.id]
    variants = variant_service.visible_variants(product, include_hidden=view == "staff")
    return ProductDetailOut.detail(product, g.store, tags, variants, view=view)


def product_page(page: dict) -> dict:
    """A page of products with their tags (``product_service.list_products``: both from the page's
    statement)."""
    page = dict(page)
    items: list[Product] = page["items"]
    tags = page.pop("tags")
    view = catalog_view()
    return {**page, "items": [ProductOut.of(p, g.store, tags[p.id], view=view) for p in items]}


@bp.get("/products")
@access("public")
@bp.input(ProductQuery, location="query", arg_name="query")
@bp.output(page_of(ProductOut))
@reads_in_autocommit
def list_products(query: ProductQuery):
    """List products.

    Filters: `search`, `category_id` (includes its sub-categories), `tag_id`, `min_price` and
    `max_price` (major units), `stock_status` (in_stock, out_of_stock, low_stock), `is_featured`,
    `is_active`; `sort_by` (created_at, title, price, popularity, rating), `sort_dir`;
    `page`, `page_size` (default 20, at most 100). Staff see disabled products too; anyone else sees
    enabled ones only, so `is_active=false` is an empty page for them (as `include_inactive` of the
    categories shows shoppers active ones only: a filter narrows what the caller may see).
    """
    filters = query.filters(g.store.currency, staff=is_staff())
    return product_page(product_service.list_products(filters, page=query.page, page_size=query.page_size))


@bp.get("/products/all")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(ProductOut))
@reads_in_autocommit
def all_products(query: PageQuery):
    """Seed B: every enabled product, newest first, paginated. Those who manage products (MANAGER,
    ADMIN, SYSADMIN) see disabled ones too; guests, users, resellers and STAFF see enabled ones only."""
    filters = product_service.ProductFilters(include_hidden=manages_catalog())
    return product_page(product_service.list_products(filters, page=query.page, page_size=query.page_size))


@bp.get("/products/<key>")
@access("public")
@bp.output(ProductDetailOut)
@bp.doc(responses={404: "No such product (or it is disabled and the caller is not staff)"})
@reads_in_autocommit
def get_product(key: str):
    """A product by id or slug, with images, tags and variants.

    Seed A `GET /api/products/{slug}` and Seed B `GET /api/products/{productId}` are this one
    endpoint. `variants` and `subcategories` are the same list (Seed A and Seed B names).
    """
    return product_detail(key)


@bp.post("/products")
@access("manager")
@bp.input(ProductIn, arg_name="body")
@bp.output(ProductDetailOut, status_code=201)
def create_product(body: ProductIn):
    """Create a product, optionally with its tags and variants.

    Prices are in major units. `enabled` / `is_active` are the same flag. An unknown category or
    tag is a 422; a slug already used is a 409.
    """
    return create_and_show(body)


@bp.put("/products/<product_id>")
@access("manager")
@bp.input(ProductUpdateIn, arg_name="body")
@bp.output(ProductDetailOut)
def update_product(product_id: str, body: ProductUpdateIn):
    """Update a product: only the fields sent change (`category_id: null` removes the category)."""
    return update_and_show(product_id, body)


@bp.delete("/products/<product_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_product(product_id: str):
    """Delete a product (soft delete).

    It disappears from the catalog; order history keeps it, sold stock stays with its orders and
    unsold stock is withdrawn. Its slug is freed.
    """
    product_service.delete_product(product_service.get_product(product_id, include_hidden=True, with_details=False))
    return ""


@bp.post("/products/<product_id>/images")
@access("manager")
@bp.input(ImageUploadIn, location="files", arg_name="form")
@bp.output(ImageOut, status_code=201)
@multipart
@begins_deferred
def upload_image(product_id: str, form: ImageUploadIn):
    """Upload a product image (multipart `file` or `image`, optional `is_primary`; max 10 MB).

    The file must really be a JPEG, PNG, WebP or GIF (422 `invalid_image` otherwise) of at most
    25 megapixels (422 `image_too_large`, refused from its header); it is re-encoded as WebP, at
    most 2400 px on its longest side, so nothing else hidden in it survives. The first image
    becomes primary. A file above 10 MB is a 413.
    """
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    data = read_upload(form.file or form.image, upload_limit("MAX_IMAGE_BYTES"))
    prepared = image_service.prepare_image(product, data)  # before any write: no lock held meanwhile
    image = image_service.add_image(product, prepared, is_primary=form.is_primary)
    return ImageOut.of(image)


@bp.delete("/products/<product_id>/images/<image_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_image(product_id: str, image_id: str):
    """Delete a product image (and its file). If it was the primary image, the next one takes over."""
    image_service.delete_image(product_service.get_product(product_id, include_hidden=True, with_details=False), image_id)
    return ""


# --- Seed B admin spellings (/api/admin/...) of the same rules ------------------------------

@bp.post("/admin/product/create")
@access("admin")
@bp.input(ProductIn, arg_name="body")
@bp.output(ProductDetailOut, status_code=201)
def admin_create_product(body: ProductIn):
    """Create a product.

    Fields: `title`, `description`, `category`, `enabled`, `replacement_settings`, optional
    `subcategories` (prices in major units).
    """
    return create_and_show(body)


@bp.post("/admin/product/update/<product_id>")
@access("admin")
@bp.input(ProductUpdateIn, arg_name="body")
@bp.output(ProductDetailOut)
def admin_update_product(product_id: str, body: ProductUpdateIn):
    """Update a product's title, description, category, enabled flag or replacement settings."""
    return update_and_show(product_id, body)


@bp.delete("/admin/product/delete/<product_id>")
@access("admin")
@bp.output(Message)
def admin_delete_product(product_id: str):
    """Delete a product with its subcategories and unsold stock.

    Soft: orders keep their product and sold items stay with them.
    """
    product_service.delete_product(product_service.get_product(product_id, include_hidden=True, with_details=False))
    return {"message": "Product deleted"}
