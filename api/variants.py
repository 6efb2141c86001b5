"""Product variants (Seed A) = subcategories (Seed B): one table, reachable both ways.

Each has its own price (major units in JSON), min/max quantity per purchase (defaults 1 and
0 = no limit) and a stock count (digital: counted from its unsold items; physical: an inventory
count). Shoppers see active variants of visible products only.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import products as product_service
from services import variants as variant_service
from services.pagination import paginate_list

from .access import access, catalog_view
from .schemas.common import Message, PageQuery, page_of
from .schemas.products import SubcategoryOut
from .schemas.variants import SubcategoryCreateIn, VariantIn, VariantOut, VariantUpdateIn

bp = APIBlueprint("api_variants", __name__, url_prefix="/api", tag="Product Variants")


def variant_out(variant_id: str) -> VariantOut:
    """A variant as its editors (Manager+) see it."""
    return VariantOut.of(variant_service.get_variant(variant_id), g.store.currency, view="staff")


def _variants_page(product_id: str, query: PageQuery, *, purchasable: bool) -> dict:
    view = catalog_view()
    product = product_service.get_product(product_id, include_hidden=view == "staff")
    variants = variant_service.visible_variants(product, include_hidden=view == "staff" and not purchasable)
    items = [VariantOut.of(v, g.store.currency, view=view) for v in variants]
    return paginate_list(items, page=query.page, page_size=query.page_size)


@bp.get("/products/<product_id>/variants")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(VariantOut))
def list_variants(product_id: str, query: PageQuery):
    """The variants of a product (by id or slug). Staff also see inactive ones."""
    return _variants_page(product_id, query, purchasable=False)


@bp.get("/products/<product_id>/stock")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(VariantOut))
def product_stock(product_id: str, query: PageQuery):
    """Seed B: the purchasable subcategories of a product.

    Active ones only, with price, `stock_count`, `in_stock` and min/max quantity.
    """
    return _variants_page(product_id, query, purchasable=True)


@bp.get("/subcategories/<subcategory_id>")
@access("public")
@bp.output(SubcategoryOut)
def get_subcategory(subcategory_id: str):
    """Seed B: one subcategory with its parent product's summary (`product`)."""
    view = catalog_view()
    variant = variant_service.get_variant(subcategory_id, include_hidden=view == "staff")
    tags = product_service.product_tags([variant.product_id])[variant.product_id]
    return SubcategoryOut.with_product(variant, g.store, tags, view=view)


@bp.post("/products/<product_id>/variants")
@access("manager")
@bp.input(VariantIn, arg_name="body")
@bp.output(VariantOut, status_code=201)
def create_variant(product_id: str, body: VariantIn):
    """Create a variant of a product.

    Price in major units; 422 for negative prices, too many decimals or `min_quantity` above
    `max_quantity`; 409 for an SKU already used.
    """
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    variant = variant_service.create_variant(product, body.to_service(g.store.currency))
    return variant_out(variant.id)


@bp.put("/products/<product_id>/variants/<variant_id>")
@access("manager")
@bp.input(VariantUpdateIn, arg_name="body")
@bp.output(VariantOut)
def update_variant(product_id: str, variant_id: str, body: VariantUpdateIn):
    """Update a variant: only the fields sent change.

    `stock_count` is for physical products; digital stock is counted from its items (import
    stock instead).
    """
    variant = variant_service.get_variant(variant_id, product_id=product_id)
    variant_service.update_variant(variant, body.to_service(g.store.currency))
    return variant_out(variant.id)


@bp.delete("/products/<product_id>/variants/<variant_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_variant(product_id: str, variant_id: str):
    """Delete a variant: sold items stay with their orders, unsold stock is withdrawn."""
    variant_service.delete_variant(variant_service.get_variant(variant_id, product_id=product_id))
    return ""


# --- Seed B admin spellings (/api/admin/...) of the same rules ------------------------------

@bp.post("/admin/subcategory/create")
@access("admin")
@bp.input(SubcategoryCreateIn, arg_name="body")
@bp.output(VariantOut, status_code=201)
def admin_create_subcategory(body: SubcategoryCreateIn):
    """Create a subcategory of a product.

    Fields: `productId`, `title`, `price` in major units, `min_quantity` (default 1),
    `max_quantity` (default 0 = no limit).
    """
    product = product_service.get_product(body.product_id, include_hidden=True, with_details=False)
    variant = variant_service.create_variant(product, body.to_service(g.store.currency))
    return variant_out(variant.id)


@bp.post("/admin/subcategory/update/<subcategory_id>")
@access("admin")
@bp.input(VariantUpdateIn, arg_name="body")
@bp.output(VariantOut)
def admin_update_subcategory(subcategory_id: str, body: VariantUpdateIn):
    """Update a subcategory's title, price, min/max quantity or active flag (only fields sent)."""
    variant_service.update_variant(variant_service.get_variant(subcategory_id), body.to_service(g.store.currency))
    return variant_out(subcategory_id)


@bp.delete("/admin/subcategory/delete/<subcategory_id>")
@access("admin")
@bp.output(Message)
def admin_delete_subcategory(subcategory_id: str):
    """Delete a subcategory and withdraw its unsold stock (sold items stay with their orders)."""
    variant_service.delete_variant(variant_service.get_variant(subcategory_id))
    return {"message": "Subcategory deleted"}
