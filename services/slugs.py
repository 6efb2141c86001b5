"""Slugs of catalog rows: a free one made from a title, or a given one checked for clashes."""
from __future__ import annotations

from sqlalchemy import delete, select

from extensions import db
from models import Category, Product, SlugRedirect

from .errors import Conflict, Invalid
from .text import slugify


def unique_slug(model, wanted: str, *, exclude_id: str | None = None, field_name: str = "slug") -> str:
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


def check_slug(model, slug: str, exclude_id: str | None = None) -> str:
    clean = slugify(slug)
    if not clean:
        raise Invalid("The slug needs letters or digits", details={"slug": ["invalid"]})
    clash = db.session.scalar(select(model.id).where(model.slug == clean, *([model.id != exclude_id] if exclude_id else [])))
    if clash:
        raise Conflict(f"The slug '{clean}' is already used", code="slug_taken", details={"slug": ["taken"]})
    return clean


# Retired slugs (``models.SlugRedirect``): the shop's old address of a renamed product or category.
_KINDS = {"product": Product, "category": Category}


def claim_slug(kind: str, slug: str) -> None:
    """A live product or category takes ``slug``: a retired entry of it no longer redirects."""
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.kind == kind, SlugRedirect.slug == slug))


def retire_slug(kind: str, target_id: str, old: str, new: str) -> None:
    """The one place a product's or category's slug changes from ``old`` to ``new``: ``old`` now
    redirects to the row (by id, so a chain a -> b -> c lands on the current slug), ``new`` wins
    over any retired entry of it (a slug taken back, or the row renamed back)."""
    if not old or old == new:
        return
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.kind == kind, SlugRedirect.slug.in_((old, new))))
    db.session.add(SlugRedirect(kind=kind, slug=old, target_id=target_id))


def forget_slugs(kind: str, target_id: str) -> None:
    """The row is deleted: its old addresses answer 404 like the row itself."""
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.kind == kind, SlugRedirect.target_id == target_id))


def redirect_slug(kind: str, slug: str, *, include_hidden: bool = False) -> str | None:
    """The current slug of the live row that once had ``slug`` (one statement), or None."""
    model = _KINDS[kind]
    stmt = (select(model.slug).join(SlugRedirect, SlugRedirect.target_id == model.id)
            .where(SlugRedirect.kind == kind, SlugRedirect.slug == slug))
    if kind == "product":
        stmt = stmt.where(model.deleted_at.is_(None), *([] if include_hidden else [model.is_enabled.is_(True)]))
    elif not include_hidden:
        stmt = stmt.where(model.is_active.is_(True))
    return db.session.scalar(stmt.limit(1))
