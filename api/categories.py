"""Categories (Seed A "Categories", Seed B `GET /api/products/categories`): a tree of categories.

Lists are paged over their top level: the tree's roots (each with its `children`), or every
category when `flat=true`. `product_count` counts the visible products directly in a category.
Deleting a category keeps its products (uncategorised) and moves its children up one level.
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import categories as category_service
from services.pagination import paginate_list

from .access import access, is_staff
from .schemas.categories import CategoryIn, CategoryNodeOut, CategoryQuery, CategoryUpdateIn
from .schemas.common import Message, PageQuery, page_of

bp = APIBlueprint("api_categories", __name__, url_prefix="/api", tag="Categories")


def categories_page(*, flat: bool, include_inactive: bool, page: int, page_size: int) -> dict:
    rows = category_service.list_categories(include_inactive=include_inactive, with_counts=True)
    nodes = [{**r, "children": []} for r in rows] if flat else category_service.category_tree(rows)
    return paginate_list([CategoryNodeOut.node(n) for n in nodes], page=page, page_size=page_size)


def category_out(category_id: str) -> CategoryNodeOut:
    category = category_service.get_category(category_id)
    return CategoryNodeOut.node(category_service.category_node(category.slug, include_inactive=True))


@bp.get("/categories")
@access("public")
@bp.input(CategoryQuery, location="query", arg_name="query")
@bp.output(page_of(CategoryNodeOut))
def list_categories(query: CategoryQuery):
    """Categories as a tree (default) or a flat list (`flat=true`).

    Sorted by `sort_order` then title.
    `include_inactive=true` is honoured for staff only; shoppers see active categories.
    """
    return categories_page(flat=query.flat, include_inactive=query.include_inactive and is_staff(),
                           page=query.page, page_size=query.page_size)


@bp.get("/products/categories")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(CategoryNodeOut))
def product_categories(query: PageQuery):
    """Seed B: every active product category as a flat list (`title`, `hex_code`, `product_count`)."""
    return categories_page(flat=True, include_inactive=False, page=query.page, page_size=query.page_size)


@bp.get("/categories/<slug>")
@access("public")
@bp.output(CategoryNodeOut)
def get_category(slug: str):
    """A category by slug, with its sub-categories. Inactive ones are a 404 except for staff."""
    return CategoryNodeOut.node(category_service.category_node(slug, include_inactive=is_staff()))


@bp.post("/categories")
@access("manager")
@bp.input(CategoryIn, arg_name="body")
@bp.output(CategoryNodeOut, status_code=201)
def create_category(body: CategoryIn):
    """Create a category.

    Fields: `title`, optional `slug`, `parent_id`, `hex_code` like #FF5733, `description`,
    `image_url`, `sort_order`, `is_active`. A slug already used is a 409 (`slug_taken`), and so is
    the title of a category beside it (same parent, or both top-level), trimmed and ignoring case
    (`title_taken`).
    """
    category = category_service.create_category(**body.to_service())
    return category_out(category.id)


@bp.put("/categories/<category_id>")
@access("manager")
@bp.input(CategoryUpdateIn, arg_name="body")
@bp.output(CategoryNodeOut)
def update_category(category_id: str, body: CategoryUpdateIn):
    """Update a category: only the fields sent change (`parent_id: null` makes it top-level). A title
    (or a move) that gives it the title of a category beside it, ignoring case, is a 409 `title_taken`."""
    category_service.update_category(category_service.get_category(category_id), body.to_service())
    return category_out(category_id)


@bp.delete("/categories/<category_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_category(category_id: str):
    """Delete a category: its products stay (uncategorised), its children move up one level."""
    category_service.delete_category(category_service.get_category(category_id))
    return ""


# --- Seed B admin spellings (/api/admin/...) of the same rules ------------------------------

@bp.post("/admin/categories/create")
@access("admin")
@bp.input(CategoryIn, arg_name="body")
@bp.output(CategoryNodeOut, status_code=201)
def admin_create_category(body: CategoryIn):
    """Create a category.

    Fields: `title`, `hex_code` like #FF5733; optional `slug`, `parent_id`, `description`, ...
    """
    category = category_service.create_category(**body.to_service())
    return category_out(category.id)


@bp.delete("/admin/category/delete/<category_id>")
@access("admin")
@bp.output(Message)
def admin_delete_category(category_id: str):
    """Delete a category. Its products stay, uncategorised; its children move up one level."""
    category_service.delete_category(category_service.get_category(category_id))
    return {"message": "Category deleted"}
