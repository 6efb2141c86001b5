"""What a user types into a search box is searched for literally: ``_`` and ``%`` are characters
(``john_doe`` is a username), never LIKE wildcards that match everything or get dropped."""
from __future__ import annotations

from urllib.parse import quote

from .shop import shop_fixture  # noqa: F401


def _found(client, path: str, term: str, headers, key: str) -> list[str]:
    response = client.get(f"{path}?search={quote(term)}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return sorted(row[key] for row in response.get_json()["items"])


def test_users_and_customers_are_found_by_a_name_with_an_underscore(client, make, store, admin_headers):
    h = admin_headers
    make.user(store, username="john_doe", email="jd@shop.example")
    make.user(store, username="johnxdoe", email="jx@shop.example")
    make.user(store, username="percy", email="100%@shop.example")
    for path in ("/api/admin/users", "/api/customers"):
        assert _found(client, path, "john_doe", h, "username") == ["john_doe"]
        assert _found(client, path, "_", h, "username") == ["john_doe"]
        assert _found(client, path, "%", h, "username") == ["percy"]
        assert _found(client, path, "JOHN", h, "username") == ["john_doe", "johnxdoe"]


def test_orders_and_products_match_wildcard_characters_literally(client, admin_headers, shop, catalog):
    h = admin_headers
    catalog.product("Card_50", variants=[{"title": "a", "price": 5}])
    catalog.product("Card 50", variants=[{"title": "a", "price": 5}])
    assert _found(client, "/api/products", "card_5", {}, "title") == ["Card_50"]
    assert _found(client, "/api/products", "_", {}, "title") == ["Card_50"]
    assert _found(client, "/api/products", "%", {}, "title") == []
    assert _found(client, "/api/products", "card", {}, "title") == ["Card 50", "Card_50", "Steam Card"]

    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    order = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).get_json()
    assert _found(client, "/api/orders", "buyer@", h, "id") == [order["id"]]
    assert _found(client, "/api/orders", "_", h, "id") == []
    assert _found(client, "/api/orders", "%", h, "id") == []
    assert _found(client, "/api/admin/orders", "b_yer", h, "id") == []


def test_the_blacklist_is_searched_literally(client, make, store, admin_headers):
    h = admin_headers
    for value in ("john_doe", "johnxdoe"):
        assert client.post("/api/admin/blacklist", json={"kind": "username", "value": value}, headers=h).status_code == 201
    assert _found(client, "/api/admin/blacklist", "n_d", h, "value") == ["john_doe"]
    assert _found(client, "/api/admin/blacklist", "JOHN", h, "value") == ["john_doe", "johnxdoe"]
