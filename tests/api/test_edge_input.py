"""Input that used to break the app at its edges (issue 8, B and G): control characters (NUL
among them, which PostgreSQL refuses in text) and recursion bombs are refused where they come
in, with a clear answer, and change nothing."""
from __future__ import annotations

import pytest

from .conftest import error_code


@pytest.mark.parametrize("path", ["/api/products?search=%00", "/api/storefront/products?search=a%01b",
                                  "/api/categories?x%00=1"])
def test_a_control_character_in_a_query_string_is_a_400(client, store, path):
    response = client.get(path)
    assert response.status_code == 400 and error_code(response) == "control_character"


@pytest.mark.parametrize("path", ["/api/products/%00", "/api/subcategories/a%00b", "/p/x%00y", "/c/%00"])
def test_a_control_character_in_a_path_names_nothing(client, store, path):
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path,body", [
    ("/api/auth/login", {"login": "a\u0000b", "password": "whatever-pass"}),
    ("/api/auth/register", {"username": "nul\u0000", "email": "n@example.com", "password": "s3cret-enough"}),
    ("/api/cart/items", {"subcategory_id": "x", "quantity": 1, "note\u0000": 1}),
])
def test_a_control_character_anywhere_in_a_json_body_is_a_422(client, store, path, body):
    response = client.post(path, json=body, headers={"X-Session-ID": "edge-tab"})
    assert response.status_code == 422, response.get_json()
    assert "control character" in response.get_json()["error"]["message"] + str(response.get_json()["error"]["details"])


def test_titles_and_stock_lines_with_control_characters_are_refused(client, store, manager_headers, admin_headers):
    bad_title = client.post("/api/products", json={"title": "Key\u0000"}, headers=manager_headers)
    assert bad_title.status_code == 422
    product = client.post("/api/products", json={"title": "Key", "variants": [{"title": "EU", "price": 5}]},
                          headers=manager_headers).get_json()
    variant_id = product["variants"][0]["id"]
    listed = client.post("/api/admin/stock/add", json={"subcategoryId": variant_id, "stock": ["A-1", "B-\u00002"]},
                         headers=admin_headers)
    assert listed.status_code == 422 and error_code(listed) == "control_character"
    assert "Deliverable 2" in listed.get_json()["error"]["message"]
    text = client.post("/api/admin/stock/add", json={"subcategoryId": variant_id, "text": "A-1\nB-2\nC-\u00073"},
                       headers=admin_headers)
    assert text.status_code == 422 and error_code(text) == "control_character"
    assert "Deliverable 3" in text.get_json()["error"]["message"]
    stock = client.get(f"/api/admin/stock/{variant_id}?status=all", headers=admin_headers).get_json()
    assert stock["total"] == 0  # nothing of either import was kept
    ok = client.post("/api/admin/stock/add", json={"subcategoryId": variant_id, "text": "A-1\tx\nB-2"},
                     headers=admin_headers)
    assert ok.status_code == 200  # a tab is text


def test_a_deeply_nested_body_is_a_400_before_anything_parses_it(client, store):
    bomb = "[" * 1000 + "]" * 1000
    response = client.post("/api/auth/login", data=bomb, content_type="application/json")
    assert response.status_code == 400 and error_code(response) == "malformed_json"
    nested_string = '{"login": "' + "[" * 500 + '", "password": "whatever-pass"}'
    quoted = client.post("/api/auth/login", data=nested_string, content_type="application/json")
    assert quoted.status_code in (401, 422)  # brackets inside a string are text, not nesting


def test_the_openapi_document_says_what_the_api_does(client, store, manager_headers):
    """Issue 8, J: optional tokens are documented as optional; a wrong method is a 405 whatever
    the body; an empty query parameter is absent; a `null` body is not an empty one."""
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert paths["/api/cart"]["get"]["security"] == [{"BearerAuth": []}, {}]
    assert paths["/api/auth/logout"]["post"]["security"] == [{"BearerAuth": []}, {}]
    assert paths["/api/auth/me"]["get"]["security"] == [{"BearerAuth": []}]
    assert client.get("/api/cart", headers={"X-Session-ID": "no-token"}).status_code == 200
    product = client.post("/api/products", json={"title": "Key"}, headers=manager_headers).get_json()
    wrong = client.put(f"/api/products/{product['id']}/images", data=b"x", content_type="text/plain",
                       headers=manager_headers)
    assert wrong.status_code == 405 and error_code(wrong) == "method_not_allowed"
    assert client.get("/api/storefront/products?max_price=&min_price=").status_code == 200
    null = client.put(f"/api/products/{product['id']}", data="null", content_type="application/json",
                      headers=manager_headers)
    assert null.status_code == 400 and error_code(null) == "malformed_json"


def test_a_database_still_locked_after_the_busy_timeout_is_a_503_with_retry_after(client, store, app, monkeypatch):
    """Issue 8, D (part): SQLite answering "database is locked" becomes a clear 503, page and API."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from services import cart as cart_service

    def locked(*args, **kwargs):
        raise OperationalError("INSERT INTO cart_items ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(cart_service, "add_item", locked)
    response = client.post("/api/cart/items", json={"subcategory_id": "x", "quantity": 1},
                           headers={"X-Session-ID": "busy-tab"})
    assert response.status_code == 503 and error_code(response) == "busy"
    assert response.headers["Retry-After"] == "2"


@pytest.mark.parametrize("price,status", [(0, 422), ("-0", 422), (" 5 ", 422), ("5", 201), (True, 422), (4.99, 201)])
def test_what_a_price_may_be(client, store, manager_headers, price, status):
    """Issue 8, J: a price is a number above 0 (text only as an exact number, for forms); 0 only in
    a store that gives items away."""
    response = client.post("/api/products", json={"title": "Priced", "variants": [{"title": "A", "price": price}]},
                           headers=manager_headers)
    assert response.status_code == status, response.get_json()


def test_a_store_that_gives_items_away_may_price_one_at_zero(client, store, manager_headers, make):
    from models import Store
    from services import stores as store_service

    with make.scope(store) as session:
        store_service.update_settings(session.get(Store, store.id), {"allow_free_items": True})
    response = client.post("/api/products", json={"title": "Freebie", "variants": [{"title": "A", "price": 0}]},
                           headers=manager_headers)
    assert response.status_code == 201 and response.get_json()["variants"][0]["price"] == 0
