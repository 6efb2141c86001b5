"""Slugs of catalog rows: a free one made from a title, or a given one checked for clashes."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db

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
