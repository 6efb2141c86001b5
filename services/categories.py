"""Categories: the shop's tree (create, change, delete, list with product counts, a node with its
descendants). Products keep their category; deleting one moves its children up a level."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from extensions import db
from models import (
    Category,
    Product,
)

from .errors import Conflict, Invalid, NotFound
from .pages import lock_store
from .slugs import check_slug, claim_slug, forget_slugs, retire_slug, unique_slug
from .text import clean_text, sanitize_html, twin_title
from .variants import visible_product_filters

HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def get_category(category_id: str) -> Category:
    category = db.session.get(Category, category_id) if category_id else None
    if category is None:
        raise NotFound("No such category", code="category_not_found")
    return category


def category_ref(category_id: str, field_name: str) -> str:
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
    parent = db.session.get(Category, category_ref(parent_id, "parent_id"))
    node = parent
    while node is not None:
        if category is not None and node.id == category.id:
            raise Invalid("A category cannot be inside itself", details={"parent_id": ["cycle"]})
        node = db.session.get(Category, node.parent_id) if node.parent_id else None
    return parent.id


def check_title_free(title: str, parent_id: str | None, *, exclude_id: str | None = None) -> None:
    """Categories side by side (one parent, or the top level) have different titles, compared
    trimmed and case-insensitively (the shop would list "Merch" twice). 409 ``title_taken``. The
    store row is locked first (``pages.lock_store``), so two categories given one title at once
    cannot both pass; no unique index, so a database holding such twins from before still migrates
    (renaming one of them is then refused only if it keeps the clashing title). A parent's
    children are few: ``text.twin_title`` compares them."""
    lock_store()
    stmt = select(Category.title).where(Category.parent_id.is_(None) if not parent_id else Category.parent_id == parent_id)
    if exclude_id:
        stmt = stmt.where(Category.id != exclude_id)
    twin = twin_title(title, db.session.scalars(stmt))
    if twin is not None:
        raise Conflict(f"Another category {'in this one' if parent_id else 'at the top level'} is already called "
                       f"“{twin}”: give this one a different title",
                       code="title_taken", details={"title": ["taken"]})


def create_category(*, title: str, slug: str | None = None, parent_id: str | None = None,
                    hex_code: str | None = None, description: str = "", image_url: str | None = None,
                    sort_order: int = 0, is_active: bool = True) -> Category:
    title = clean_text(title, "title", max_length=120, required=True)
    if hex_code and not HEX_RE.match(hex_code):
        raise Invalid("hex_code must look like #FF5733", details={"hex_code": ["invalid colour"]})
    parent_id = _check_parent(None, parent_id)
    check_title_free(title, parent_id)
    category = Category(
        title=title, slug=check_slug(Category, slug) if slug else unique_slug(Category, title),
        parent_id=parent_id, hex_code=(hex_code or "#6366f1").upper(),
        description=sanitize_html(description), image_url=image_url, sort_order=sort_order, is_active=is_active,
    )
    claim_slug("category", category.slug)
    db.session.add(category)
    db.session.flush()
    return category


def update_category(category: Category, changes: dict) -> Category:
    was = (category.title.strip().casefold(), category.parent_id)
    if "title" in changes and changes["title"] is not None:
        category.title = clean_text(changes["title"], "title", max_length=120, required=True)
    if changes.get("slug"):
        old, category.slug = category.slug, check_slug(Category, changes["slug"], exclude_id=category.id)
        retire_slug("category", category.id, old, category.slug)
    if "parent_id" in changes:
        category.parent_id = _check_parent(category, changes["parent_id"])
    if (category.title.strip().casefold(), category.parent_id) != was:  # an old twin can still be edited otherwise
        check_title_free(category.title, category.parent_id, exclude_id=category.id)
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
    forget_slugs("category", category.id)
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
            select(Product.category_id, func.count()).where(*visible_product_filters())
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


def with_descendants(category_id: str) -> list[str]:
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
