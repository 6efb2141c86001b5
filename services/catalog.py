"""Catalog rules: categories, products, variants (subcategories), tags, attributes, images.

Prices arrive in minor units (the API layer converts). Caches on Product (``starting_at``,
``stock_total``, ``primary_image_url``) are refreshed here by every change that affects them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from extensions import db
from models import (
    Attribute,
    AttributeValue,
    Category,
    Product,
    ProductImage,
    ProductTag,
    StockItem,
    Tag,
    Variant,
    VariantAttributeValue,
)

from .errors import Conflict, Invalid, NotFound
from .pagination import paginate
from .storage import process_image, storage
from .text import sanitize_html, slugify

HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_PRICE = 10**12  # 10 billion in major units: beyond any real price, far inside BIGINT
SORTS = {"created_at": Product.created_at, "title": Product.title, "price": Product.starting_at,
         "popularity": Product.view_count, "rating": Product.average_rating, "views": Product.view_count,
         "updated_at": Product.updated_at, "stock": Product.stock_total, "name": Product.title}


def _now() -> datetime:
    return datetime.now(UTC)


def _unique_slug(model, wanted: str, *, exclude_id: str | None = None, field_name: str = "slug") -> str:
    base = slugify(wanted) or "item"
    column = getattr(model, field_name)
    taken = set(db.session.scalars(select(column).where(column.like(f"{base}%"),
                                                        *( [model.id != exclude_id] if exclude_id else []))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_slug(model, slug: str, exclude_id: str | None = None) -> str:
    clean = slugify(slug)
    if not clean:
        raise Invalid("The slug needs letters or digits", details={"slug": ["invalid"]})
    clash = db.session.scalar(select(model.id).where(model.slug == clean, *([model.id != exclude_id] if exclude_id else [])))
    if clash:
        raise Conflict(f"The slug '{clean}' is already used", code="slug_taken", details={"slug": ["taken"]})
    return clean


def _text(value, name: str, *, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Invalid(f"{name} is required", details={name: ["required"]})
    if len(value) > max_length:
        raise Invalid(f"{name} may be at most {max_length} characters", details={name: ["too long"]})
    return value


# --- categories ------------------------------------------------------------------------

def get_category(category_id: str) -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        raise NotFound("No such category", code="category_not_found")
    return category


def _category_ref(category_id: str, field_name: str) -> str:
    """A category named in a request body: an unknown one is bad input (422), not a missing page."""
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        raise Invalid("No such category", code="unknown_category", details={field_name: ["unknown category"]})
    return category.id


def get_category_by_slug(slug: str, *, include_inactive: bool = False) -> Category:
    category = db.session.scalar(select(Category).where(Category.slug == slug))
    if category is None or (not category.is_active and not include_inactive):
        raise NotFound("No such category", code="category_not_found")
    return category


def _check_parent(category: Category | None, parent_id: str | None) -> str | None:
    if not parent_id:
        return None
    parent = db.session.get(Category, _category_ref(parent_id, "parent_id"))
    node = parent
    while node is not None:
        if category is not None and node.id == category.id:
            raise Invalid("A category cannot be inside itself", details={"parent_id": ["cycle"]})
        node = db.session.get(Category, node.parent_id) if node.parent_id else None
    return parent.id


def create_category(*, title: str, slug: str | None = None, parent_id: str | None = None,
                    hex_code: str | None = None, description: str = "", image_url: str | None = None,
                    sort_order: int = 0, is_active: bool = True) -> Category:
    title = _text(title, "title", max_length=120, required=True)
    if hex_code and not HEX_RE.match(hex_code):
        raise Invalid("hex_code must look like #FF5733", details={"hex_code": ["invalid colour"]})
    category = Category(
        title=title, slug=_check_slug(Category, slug) if slug else _unique_slug(Category, title),
        parent_id=_check_parent(None, parent_id), hex_code=(hex_code or "#6366f1").upper(),
        description=sanitize_html(description), image_url=image_url, sort_order=sort_order, is_active=is_active,
    )
    db.session.add(category)
    db.session.flush()
    return category


def update_category(category: Category, changes: dict) -> Category:
    if "title" in changes and changes["title"] is not None:
        category.title = _text(changes["title"], "title", max_length=120, required=True)
    if changes.get("slug"):
        category.slug = _check_slug(Category, changes["slug"], exclude_id=category.id)
    if "parent_id" in changes:
        category.parent_id = _check_parent(category, changes["parent_id"])
    if changes.get("hex_code"):
        if not HEX_RE.match(changes["hex_code"]):
            raise Invalid("hex_code must look like #FF5733", details={"hex_code": ["invalid colour"]})
        category.hex_code = changes["hex_code"].upper()
    if "description" in changes and changes["description"] is not None:
        category.description = sanitize_html(changes["description"])
    for name in ("image_url", "sort_order", "is_active"):
        if name in changes and changes[name] is not None:
            setattr(category, name, changes[name])
    db.session.flush()
    return category


def delete_category(category: Category) -> None:
    """Products keep existing (uncategorised); child categories move up to the parent."""
    db.session.execute(update(Category).where(Category.parent_id == category.id).values(parent_id=category.parent_id))
    db.session.execute(update(Product).where(Product.category_id == category.id).values(category_id=None))
    db.session.delete(category)
    db.session.flush()


def list_categories(*, include_inactive: bool = False, with_counts: bool = False) -> list[dict]:
    """Flat list (sorted) with product counts of visible products when asked."""
    stmt = select(Category).order_by(Category.sort_order, Category.title)
    if not include_inactive:
        stmt = stmt.where(Category.is_active.is_(True))
    categories = list(db.session.scalars(stmt))
    counts: dict[str, int] = {}
    if with_counts:
        counts = dict(db.session.execute(
            select(Product.category_id, func.count()).where(*_visible_product_filters())
            .group_by(Product.category_id)).all())
    return [{"category": c, "product_count": counts.get(c.id, 0)} for c in categories]


def category_node(slug: str, *, include_inactive: bool = False) -> dict:
    """One category by slug as a tree node: {"category", "product_count", "children"}."""
    category = get_category_by_slug(slug, include_inactive=include_inactive)
    stack = category_tree(list_categories(include_inactive=include_inactive, with_counts=True))
    while stack:
        node = stack.pop()
        if node["category"].id == category.id:
            return node
        stack.extend(node["children"])
    return {"category": category, "product_count": 0, "children": []}


def category_tree(rows: list[dict]) -> list[dict]:
    """Nest a flat list from list_categories into {"category", "product_count", "children"}."""
    nodes = {r["category"].id: {**r, "children": []} for r in rows}
    roots = []
    for node in nodes.values():
        parent = node["category"].parent_id
        (nodes[parent]["children"] if parent in nodes else roots).append(node)
    return roots


# --- products --------------------------------------------------------------------------

def _visible_product_filters():
    return [Product.deleted_at.is_(None), Product.is_enabled.is_(True)]


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
        product.title = _text(changes["title"], "title", max_length=200, required=True)
    if changes.get("description") is not None:
        product.description = sanitize_html(changes["description"])
    if "category_id" in changes:
        product.category_id = _category_ref(changes["category_id"], "category_id") if changes["category_id"] else None
    for name in ("is_enabled", "is_featured", "sort_order"):
        if changes.get(name) is not None:
            setattr(product, name, changes[name])
    if changes.get("kind") is not None:
        if changes["kind"] not in ("digital", "physical"):
            raise Invalid("kind must be digital or physical", details={"kind": ["invalid"]})
        product.kind = changes["kind"]
    _replacement(changes, product)


def create_product(data: dict) -> Product:
    if not data.get("title"):
        raise Invalid("title is required", details={"title": ["required"]})
    product = Product(title="", slug="")
    _apply_product_fields(product, data)
    product.slug = _check_slug(Product, data["slug"]) if data.get("slug") else _unique_slug(Product, product.title)
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
        product.slug = _check_slug(Product, changes["slug"], exclude_id=product.id)
    if changes.get("tag_ids") is not None:
        set_product_tags(product, changes["tag_ids"])
    product.updated_at = _now()
    db.session.flush()
    return product


def delete_product(product: Product) -> None:
    """Soft delete: order history keeps its product; unsold stock is withdrawn; the slug is freed."""
    now = _now()
    product.deleted_at = now
    product.is_enabled = False
    product.slug = f"{product.slug[:180]}--deleted-{product.id[:8]}"
    db.session.execute(update(Variant).where(Variant.product_id == product.id, Variant.deleted_at.is_(None))
                       .values(deleted_at=now, is_active=False, stock_count=0))
    db.session.execute(update(StockItem).where(StockItem.product_id == product.id, StockItem.is_sold.is_(False),
                                               StockItem.removed_at.is_(None))
                       .values(removed_at=now, deliverable_encrypted=None))
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
    is_active: bool | None = None  # staff only; None = all for staff
    sort_by: str = "created_at"
    sort_dir: str = "desc"
    include_hidden: bool = False
    extra: dict = field(default_factory=dict)


def product_query(f: ProductFilters) -> Select:
    stmt = select(Product).options(joinedload(Product.category)).where(Product.deleted_at.is_(None))
    if not f.include_hidden:
        stmt = stmt.where(Product.is_enabled.is_(True))
    elif f.is_active is not None:
        stmt = stmt.where(Product.is_enabled.is_(f.is_active))
    if f.search:
        term = f"%{f.search.strip().lower()[:100]}%"
        stmt = stmt.where(or_(func.lower(Product.title).like(term), func.lower(Product.description).like(term)))
    if f.category_id:
        ids = _category_and_descendants(f.category_id)
        stmt = stmt.where(Product.category_id.in_(ids))
    if f.category_slug:
        category = db.session.scalar(select(Category).where(Category.slug == f.category_slug))
        stmt = stmt.where(Product.category_id.in_(_category_and_descendants(category.id)) if category else Product.id.is_(None))
    if f.tag_id:
        stmt = stmt.where(Product.id.in_(select(ProductTag.product_id).where(ProductTag.tag_id == f.tag_id)))
    if f.min_price is not None:
        stmt = stmt.where(Product.starting_at >= f.min_price)
    if f.max_price is not None:
        stmt = stmt.where(Product.starting_at <= f.max_price)
    if f.stock_status == "in_stock":
        stmt = stmt.where(Product.stock_total > 0)
    elif f.stock_status == "out_of_stock":
        stmt = stmt.where(Product.stock_total <= 0)
    elif f.stock_status == "low_stock":
        stmt = stmt.where(Product.id.in_(select(Variant.product_id).where(
            Variant.deleted_at.is_(None), Variant.is_active.is_(True), Variant.stock_count > 0,
            Variant.stock_count <= Variant.low_stock_threshold)))
    if f.is_featured is not None:
        stmt = stmt.where(Product.is_featured.is_(f.is_featured))
    column = SORTS.get(f.sort_by, Product.created_at)
    ordering = column.asc() if f.sort_dir == "asc" else column.desc()
    if f.sort_by == "price":
        ordering = ordering.nulls_last()
    return stmt.order_by(ordering, Product.id)


def _category_and_descendants(category_id: str) -> list[str]:
    return descendant_ids(category_id, db.session.execute(select(Category.id, Category.parent_id)).all())


def descendant_ids(category_id: str, pairs) -> list[str]:
    """A category's id and those of every category below it, from (id, parent_id) pairs."""
    children: dict[str | None, list[str]] = {}
    for cid, parent in pairs:
        children.setdefault(parent, []).append(cid)
    out, stack = [], [category_id]
    while stack:
        cid = stack.pop()
        if cid in out:
            continue
        out.append(cid)
        stack.extend(children.get(cid, []))
    return out


def list_products(f: ProductFilters, *, page: int, page_size: int) -> dict:
    return paginate(product_query(f), page=page, page_size=page_size)


# --- variants (subcategories) ----------------------------------------------------------

def get_variant(variant_id: str, *, product_id: str | None = None, include_hidden: bool = True) -> Variant:
    stmt = (select(Variant)
            .options(joinedload(Variant.product).joinedload(Product.category), selectinload(Variant.attribute_values))
            .where(Variant.id == variant_id, Variant.deleted_at.is_(None)))
    variant = db.session.scalar(stmt) if variant_id and UUID_RE.match(variant_id) else None
    if variant is None or (product_id and variant.product_id != product_id):
        raise NotFound("No such subcategory", code="subcategory_not_found")
    if not include_hidden and (not variant.is_active or not variant.product.is_enabled or variant.product.deleted_at):
        raise NotFound("No such subcategory", code="subcategory_not_found")
    return variant


def _check_quantities(min_q: int, max_q: int) -> None:
    if min_q < 1:
        raise Invalid("min_quantity must be at least 1", details={"min_quantity": ["at least 1"]})
    if max_q < 0:
        raise Invalid("max_quantity must be 0 (no limit) or more", details={"max_quantity": ["at least 0"]})
    if max_q and max_q < min_q:
        raise Invalid("min_quantity cannot be above max_quantity", code="min_above_max",
                      details={"min_quantity": ["above max_quantity"]})


def _check_price(price) -> int:
    if isinstance(price, bool) or not isinstance(price, int):
        raise Invalid("price must be an amount", details={"price": ["invalid"]})
    if price < 0:
        raise Invalid("price cannot be negative", details={"price": ["negative"]})
    if price > MAX_PRICE:
        raise Invalid("price is too large", details={"price": ["too large"]})
    return price


def _check_sku(sku: str | None, exclude_id: str | None = None) -> str | None:
    sku = (sku or "").strip() or None
    if sku is None:
        return None
    if len(sku) > 64:
        raise Invalid("sku may be at most 64 characters", details={"sku": ["too long"]})
    clash = db.session.scalar(select(Variant.id).where(Variant.sku == sku, *([Variant.id != exclude_id] if exclude_id else [])))
    if clash:
        raise Conflict(f"The SKU '{sku}' is already used", code="sku_taken", details={"sku": ["taken"]})
    return sku


def create_variant(product: Product, data: dict) -> Variant:
    if product.deleted_at is not None:
        raise NotFound("No such product", code="product_not_found")
    min_q = data.get("min_quantity") or 1
    max_q = data.get("max_quantity") or 0
    _check_quantities(min_q, max_q)
    variant = Variant(
        product_id=product.id, title=_text(data.get("title"), "title", max_length=200, required=True),
        sku=_check_sku(data.get("sku")), price=_check_price(data.get("price")), min_quantity=min_q,
        max_quantity=max_q, weight_grams=data.get("weight_grams"),
        is_active=data.get("is_active", True) if data.get("is_active") is not None else True,
        low_stock_threshold=data.get("low_stock_threshold") if data.get("low_stock_threshold") is not None else 5,
        sort_order=data.get("sort_order") or 0,
    )
    if product.kind == "physical" and data.get("stock_count") is not None:
        variant.stock_count = _check_inventory(data["stock_count"])
    db.session.add(variant)
    db.session.flush()
    if data.get("attribute_value_ids"):
        set_variant_attributes(variant, data["attribute_value_ids"])
    refresh_product_cache(product)
    return variant


def _check_inventory(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0 or count > 10**9:
        raise Invalid("stock_count must be a whole number of at least 0", details={"stock_count": ["invalid"]})
    return count


def update_variant(variant: Variant, changes: dict) -> Variant:
    if changes.get("title") is not None:
        variant.title = _text(changes["title"], "title", max_length=200, required=True)
    if "sku" in changes:
        variant.sku = _check_sku(changes["sku"], exclude_id=variant.id)
    if changes.get("price") is not None:
        variant.price = _check_price(changes["price"])
    min_q = changes.get("min_quantity") if changes.get("min_quantity") is not None else variant.min_quantity
    max_q = changes.get("max_quantity") if changes.get("max_quantity") is not None else variant.max_quantity
    _check_quantities(min_q, max_q)
    variant.min_quantity, variant.max_quantity = min_q, max_q
    for name in ("weight_grams", "is_active", "low_stock_threshold", "sort_order"):
        if changes.get(name) is not None:
            setattr(variant, name, changes[name])
    product = db.session.get(Product, variant.product_id)
    if changes.get("stock_count") is not None:
        if product.kind != "physical":
            raise Invalid("Digital stock is counted from its items: import stock instead",
                          code="digital_stock_count", details={"stock_count": ["read-only for digital"]})
        variant.stock_count = _check_inventory(changes["stock_count"])
    if changes.get("attribute_value_ids") is not None:
        set_variant_attributes(variant, changes["attribute_value_ids"])
    variant.updated_at = _now()
    db.session.flush()
    refresh_product_cache(product)
    return variant


def delete_variant(variant: Variant) -> None:
    """Sold items stay for order history; unsold stock is withdrawn (its codes stay known)."""
    now = _now()
    variant.deleted_at = now
    variant.is_active = False
    variant.stock_count = 0
    if variant.sku:
        variant.sku = None
    db.session.execute(update(StockItem).where(StockItem.variant_id == variant.id, StockItem.is_sold.is_(False),
                                               StockItem.removed_at.is_(None))
                       .values(removed_at=now, deliverable_encrypted=None))
    db.session.flush()
    refresh_product_cache(db.session.get(Product, variant.product_id))


def set_variant_attributes(variant: Variant, value_ids: list[str]) -> None:
    value_ids = list(dict.fromkeys(value_ids))
    found = set(db.session.scalars(select(AttributeValue.id).where(AttributeValue.id.in_(value_ids))))
    unknown = [v for v in value_ids if v not in found]
    if unknown:
        raise Invalid("Unknown attribute value ids", details={"attribute_value_ids": unknown})
    db.session.execute(delete(VariantAttributeValue).where(VariantAttributeValue.variant_id == variant.id))
    db.session.add_all(VariantAttributeValue(variant_id=variant.id, attribute_value_id=v) for v in value_ids)
    db.session.flush()


def refresh_product_cache(product: Product) -> None:
    """``starting_at`` (lowest active price) and ``stock_total`` from the live variants."""
    if product is None:
        return
    row = db.session.execute(
        select(func.min(Variant.price), func.coalesce(func.sum(Variant.stock_count), 0))
        .where(Variant.product_id == product.id, Variant.deleted_at.is_(None), Variant.is_active.is_(True))
    ).one()
    product.starting_at, product.stock_total = row[0], int(row[1] or 0)
    db.session.flush()


def visible_variants(product: Product, *, include_hidden: bool) -> list[Variant]:
    return [v for v in product.variants if v.deleted_at is None and (include_hidden or v.is_active)]


# --- tags and attributes ---------------------------------------------------------------

def list_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def create_tag(name: str, slug: str | None = None) -> Tag:
    name = _text(name, "name", max_length=60, required=True)
    tag = Tag(name=name, slug=_check_slug(Tag, slug or name))
    db.session.add(tag)
    db.session.flush()
    return tag


def get_tag(tag_id: str) -> Tag:
    tag = db.session.get(Tag, tag_id) if tag_id else None
    if tag is None:
        raise NotFound("No such tag", code="tag_not_found")
    return tag


def delete_tag(tag: Tag) -> None:
    db.session.delete(tag)
    db.session.flush()


def list_attributes() -> list[Attribute]:
    return list(db.session.scalars(select(Attribute).options(selectinload(Attribute.values)).order_by(Attribute.name)))


def create_attribute(name: str, values: list[str] | None = None) -> Attribute:
    name = _text(name, "name", max_length=60, required=True)
    attribute = Attribute(name=name, slug=_check_slug(Attribute, name))
    db.session.add(attribute)
    db.session.flush()
    for i, value in enumerate(dict.fromkeys(values or [])):
        add_attribute_value(attribute, value, sort_order=i)
    return attribute


def get_attribute(attribute_id: str) -> Attribute:
    attribute = db.session.scalar(select(Attribute).options(selectinload(Attribute.values))
                                  .where(Attribute.id == attribute_id)) if attribute_id else None
    if attribute is None:
        raise NotFound("No such attribute", code="attribute_not_found")
    return attribute


def add_attribute_value(attribute: Attribute, value: str, sort_order: int | None = None) -> AttributeValue:
    value = _text(value, "value", max_length=80, required=True)
    if db.session.scalar(select(AttributeValue.id).where(AttributeValue.attribute_id == attribute.id,
                                                         AttributeValue.value == value)):
        raise Conflict(f"'{value}' is already a value of {attribute.name}", code="value_exists")
    if sort_order is None:
        sort_order = (db.session.scalar(select(func.max(AttributeValue.sort_order))
                                        .where(AttributeValue.attribute_id == attribute.id)) or 0) + 1
    item = AttributeValue(attribute_id=attribute.id, value=value, sort_order=sort_order)
    db.session.add(item)
    db.session.flush()
    return item


def delete_attribute(attribute: Attribute) -> None:
    db.session.delete(attribute)
    db.session.flush()


# --- images ----------------------------------------------------------------------------

def add_image(product: Product, data: bytes, *, is_primary: bool = False) -> ProductImage:
    encoded, width, height = process_image(data)
    store = storage()
    key = store.save(encoded, prefix=f"{product.store_id}/products", ext="webp")
    has_images = db.session.scalar(select(func.count()).select_from(ProductImage)
                                   .where(ProductImage.product_id == product.id)) or 0
    primary = is_primary or has_images == 0
    if primary:
        db.session.execute(update(ProductImage).where(ProductImage.product_id == product.id).values(is_primary=False))
    image = ProductImage(product_id=product.id, url=store.url(key), storage_key=key, is_primary=primary,
                         sort_order=has_images, width=width, height=height)
    db.session.add(image)
    if primary:
        product.primary_image_url = image.url
    db.session.flush()
    return image


def delete_image(product: Product, image_id: str) -> None:
    image = db.session.scalar(select(ProductImage).where(ProductImage.id == image_id,
                                                         ProductImage.product_id == product.id))
    if image is None:
        raise NotFound("No such image", code="image_not_found")
    key, was_primary = image.storage_key, image.is_primary
    db.session.delete(image)
    db.session.flush()
    if was_primary:
        successor = db.session.scalar(select(ProductImage).where(ProductImage.product_id == product.id)
                                      .order_by(ProductImage.sort_order).limit(1))
        if successor is not None:
            successor.is_primary = True
        product.primary_image_url = successor.url if successor else None
        db.session.flush()
    storage().delete(key)


def available_filter():
    """Stock items that can be sold now: unsold, not withdrawn, not held by an order.

    A reservation ends only by payment (sold), or by the order's expiry or cancellation, which
    clears ``order_id``: so the cached ``stock_count`` can be kept with exact increments."""
    return and_(StockItem.is_sold.is_(False), StockItem.removed_at.is_(None), StockItem.order_id.is_(None))
