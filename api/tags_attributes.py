"""Tags and product attributes (Seed A "Tags", "Product Attributes").

Tags label products (`tag_ids` on a product, `tag_id` filter on the listing). Attributes
(e.g. Size) have values (S, M, L) that variants reference by `attribute_value_ids`.
"""
from __future__ import annotations

from apiflask import APIBlueprint

from services import tags_attributes as tag_service
from services.pagination import paginate_list

from .access import access
from .schemas.common import PageQuery, page_of
from .schemas.tags_attributes import AttributeIn, AttributeOut, AttributeValueIn, AttributeValueOut, TagIn, TagOut

bp = APIBlueprint("api_tags_attributes", __name__, url_prefix="/api", tag="Tags and Attributes")


@bp.get("/tags")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(TagOut))
def list_tags(query: PageQuery):
    """All tags, by name."""
    items = [TagOut(id=t.id, name=t.name, slug=t.slug) for t in tag_service.list_tags()]
    return paginate_list(items, page=query.page, page_size=query.page_size)


@bp.post("/tags")
@access("manager")
@bp.input(TagIn, arg_name="body")
@bp.output(TagOut, status_code=201)
def create_tag(body: TagIn):
    """Create a tag (`name`, optional `slug`). A slug already used is a 409."""
    tag = tag_service.create_tag(body.name, body.slug)
    return TagOut(id=tag.id, name=tag.name, slug=tag.slug)


@bp.delete("/tags/<tag_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_tag(tag_id: str):
    """Delete a tag (products lose it, nothing else changes)."""
    tag_service.delete_tag(tag_service.get_tag(tag_id))
    return ""


@bp.get("/attributes")
@access("public")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(AttributeOut))
def list_attributes(query: PageQuery):
    """All attributes with their values."""
    items = [AttributeOut.of(a) for a in tag_service.list_attributes()]
    return paginate_list(items, page=query.page, page_size=query.page_size)


@bp.post("/attributes")
@access("manager")
@bp.input(AttributeIn, arg_name="body")
@bp.output(AttributeOut, status_code=201)
def create_attribute(body: AttributeIn):
    """Create an attribute (`name`) with optional `values` (duplicates are dropped)."""
    attribute = tag_service.create_attribute(body.name, body.values)
    return AttributeOut.of(tag_service.get_attribute(attribute.id))


@bp.post("/attributes/<attribute_id>/values")
@access("manager")
@bp.input(AttributeValueIn, arg_name="body")
@bp.output(AttributeValueOut, status_code=201)
def add_attribute_value(attribute_id: str, body: AttributeValueIn):
    """Add a value to an attribute. A value it already has is a 409 (`value_exists`)."""
    value = tag_service.add_attribute_value(tag_service.get_attribute(attribute_id), body.value)
    return AttributeValueOut(id=value.id, attribute_id=value.attribute_id, value=value.value)


@bp.delete("/attributes/<attribute_id>")
@access("manager")
@bp.output({}, status_code=204)
def delete_attribute(attribute_id: str):
    """Delete an attribute and its values (variants lose those values)."""
    tag_service.delete_attribute(tag_service.get_attribute(attribute_id))
    return ""
