"""Output views by audience (api.schemas.common.ViewedOutput): each field that not everyone sees
names its views once, the OpenAPI document says so, and an answer put in no view fails closed."""
from __future__ import annotations

from api.schemas.orders import OrderLineOut
from api.schemas.variants import VariantOut


def _line(**extra) -> OrderLineOut:
    return OrderLineOut(id="l1", product_id="p1", subcategory_id="v1", variant_id="v1", product_title="Key",
                        subcategory_title="EU", product_image_url=None, quantity=1, unit_price=1.0,
                        line_subtotal=1.0, kind="digital", delivered_count=1,
                        items=[{"id": "i1", "deliverable": "SECRET-1", "sold_at": None, "first_revealed_at": None}],
                        **extra)


def test_a_field_shows_only_in_the_views_that_name_it_and_an_unviewed_answer_fails_closed():
    assert "items" not in _line().model_dump()  # no view chosen: nothing restricted leaks
    assert "items" not in _line().in_view("summary").model_dump()
    for view in ("buyer", "guest", "staff"):
        assert _line().in_view(view).model_dump()["items"][0]["deliverable"] == "SECRET-1"


def test_the_openapi_document_names_each_restricted_fields_views(client, store):
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    order = schemas["OrderOut"]["properties"]
    assert order["deliverables"]["x-views"] == ["buyer", "guest", "staff"]
    assert "x-views" not in order["total"]
    assert schemas["VariantOut"]["properties"]["low_stock_threshold"]["x-views"] == ["staff"]
    assert VariantOut.model_fields["low_stock_threshold"].json_schema_extra == {"x-views": ["staff"]}
