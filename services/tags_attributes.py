"""Tags and attributes (with their values) of the catalog."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from extensions import db
from models import (
    Attribute,
    AttributeValue,
    Tag,
)

from .errors import Conflict, NotFound
from .slugs import check_slug
from .text import clean_text


def list_tags() -> list[Tag]:
    return list(db.session.scalars(select(Tag).order_by(Tag.name)))


def create_tag(name: str, slug: str | None = None) -> Tag:
    name = clean_text(name, "name", max_length=60, required=True)
    tag = Tag(name=name, slug=check_slug(Tag, slug or name))
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
    name = clean_text(name, "name", max_length=60, required=True)
    attribute = Attribute(name=name, slug=check_slug(Attribute, name))
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
    value = clean_text(value, "value", max_length=80, required=True)
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
