"""The small lists answer RECONCILE.md's list envelope like every other list: ``page`` and
``page_size`` (default 20, at most 100) in; ``{"items", "page", "page_size", "total", "pages"}`` out,
``total`` counting every item, not the page's: the buyer's addresses, the wishlist (and a shared
one, with its ``display_name``), shipping zones, tax rules (with ``prices_include_tax``) and the
templates (with the store's ``current`` one). The OpenAPI document says so too."""
from __future__ import annotations

import pytest

from tests.api.test_wishlist_api import _product

from .conftest import error_code

ENVELOPE = {"items", "page", "page_size", "total", "pages"}


def _made(response) -> dict:
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _three_addresses(client, headers) -> None:
    for n in (1, 2, 3):
        _made(client.post("/api/addresses", headers=headers, json={
            "name": "Rita", "line1": f"Rua das Flores {n}", "city": "Lisboa", "postal_code": "1200-195",
            "country": "PT"}))


def _three_saved(app, client, store, headers) -> None:
    for title in ("Dice", "Cards", "Chess"):
        _made(client.post("/api/wishlist", json={"product_id": _product(app, store, title)}, headers=headers))


def _three_zones(client, headers) -> None:
    for name, country in (("Portugal", "PT"), ("Spain", "ES"), ("France", "FR")):
        _made(client.post("/api/shipping/zones", json={"name": name, "countries": [country]}, headers=headers))


def _three_rules(client, headers) -> None:
    for country, rate in (("PT", 23), ("ES", 21), ("FR", 20)):
        _made(client.post("/api/taxes", json={"name": "VAT", "country": country, "rate": rate}, headers=headers))


@pytest.fixture
def lists(app, client, store, make, admin_headers):
    """(path, headers, the extra keys it answers) of each small list, three items in each (four
    templates: they ship with the platform)."""
    buyer = make.headers(make.user(store), store)
    _three_addresses(client, buyer)
    _three_saved(app, client, store, buyer)
    token = client.post("/api/wishlist/share", headers=buyer).get_json()["token"]
    _three_zones(client, admin_headers)
    _three_rules(client, admin_headers)
    return {
        "addresses": ("/api/addresses", buyer, {}, 3),
        "wishlist": ("/api/wishlist", buyer, {}, 3),
        "shared wishlist": (f"/api/wishlist/shared/{token}", {}, {"display_name"}, 3),
        "shipping zones": ("/api/shipping/zones", admin_headers, {}, 3),
        "tax rules": ("/api/taxes", admin_headers, {"prices_include_tax"}, 3),
        "templates": ("/api/templates", {}, {"current"}, 4),
    }


NAMES = ["addresses", "wishlist", "shared wishlist", "shipping zones", "tax rules", "templates"]


@pytest.mark.parametrize("name", NAMES)
def test_a_small_list_answers_the_full_envelope_and_honours_page_and_page_size(client, lists, name):
    path, headers, extra, count = lists[name]
    whole = client.get(path, headers=headers)
    assert whole.status_code == 200, whole.get_json()
    body = whole.get_json()
    assert set(body) == ENVELOPE | set(extra)
    assert (body["page"], body["page_size"], body["total"], body["pages"]) == (1, 20, count, 1)
    assert len(body["items"]) == count

    first = client.get(f"{path}?page_size=2", headers=headers).get_json()
    second = client.get(f"{path}?page=2&page_size=2", headers=headers).get_json()
    assert (first["page"], first["page_size"], first["total"], first["pages"]) == (1, 2, count, 2)
    assert (second["page"], second["page_size"], second["total"], second["pages"]) == (2, 2, count, 2)
    assert first["items"] + second["items"] == body["items"]  # the same order, cut into pages
    past = client.get(f"{path}?page=9&page_size=2", headers=headers).get_json()
    assert (past["items"], past["total"], past["pages"]) == ([], count, 2)
    for key in extra:
        assert first[key] == second[key] == body[key]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("query,field", [("page_size=101", "page_size"), ("page_size=0", "page_size"),
                                         ("page=0", "page"), ("page=two", "page")])
def test_a_small_list_refuses_a_page_out_of_range(client, lists, name, query, field):
    path, headers, _extra, _count = lists[name]
    refused = client.get(f"{path}?{query}", headers=headers)
    assert refused.status_code == 422 and error_code(refused) == "validation_error"
    details = refused.get_json()["error"]["details"]
    assert field in details.get("fields", details)


@pytest.mark.parametrize("path,method", [
    ("/api/addresses", "get"), ("/api/wishlist", "get"), ("/api/wishlist/shared/{token}", "get"),
    ("/api/shipping/zones", "get"), ("/api/taxes", "get"), ("/api/templates", "get"),
])
def test_the_openapi_document_describes_the_envelope(client, store, path, method):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"][path][method]
    assert {"page", "page_size"} <= {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert ENVELOPE <= set(schema["required"])
