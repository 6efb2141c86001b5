"""Coupons API: managed by managers (CRUD, strict fields, store-bound restrictions); anyone validates."""
from __future__ import annotations

from .conftest import error_code
from .shop import make_coupon, shop_fixture  # noqa: F401


def test_managers_create_list_update_and_delete_coupons(client, shop, manager_headers, catalog):
    body = {"code": "spring-15", "kind": "percent", "value": 15, "min_subtotal": 20, "max_uses": 10,
            "ends_at": "2999-01-01T00:00:00"}
    response = client.post("/api/coupons", json=body, headers=manager_headers)
    assert response.status_code == 201, response.get_json()
    coupon = response.get_json()
    assert (coupon["code"], coupon["value"], coupon["min_subtotal"], coupon["uses_count"]) == ("SPRING-15", 15.0, 20.0, 0)
    assert coupon["ends_at"].startswith("2999-01-01T00:00:00")
    fixed = client.post("/api/coupons", json={"code": "FIVE", "kind": "fixed", "value": 4.99},
                        headers=manager_headers).get_json()
    assert fixed["value"] == 4.99
    assert client.post("/api/coupons", json=body, headers=manager_headers).status_code == 409
    listed = client.get("/api/coupons?page_size=1", headers=manager_headers).get_json()
    assert (listed["total"], listed["pages"], len(listed["items"])) == (2, 2, 1)
    assert [c["code"] for c in client.get("/api/coupons?search=spring", headers=manager_headers)
            .get_json()["items"]] == ["SPRING-15"]
    updated = client.put(f"/api/coupons/{coupon['id']}", json={"value": 12.5, "max_uses": None},
                         headers=manager_headers).get_json()
    assert (updated["value"], updated["max_uses"], updated["min_subtotal"]) == (12.5, None, 20.0)
    product = catalog.product("Mug")
    restricted = client.put(f"/api/coupons/{fixed['id']}", json={"product_id": product["id"]}, headers=manager_headers)
    assert restricted.status_code == 200 and restricted.get_json()["product_id"] == product["id"]
    assert client.delete(f"/api/coupons/{coupon['id']}", headers=manager_headers).status_code == 204
    assert client.put(f"/api/coupons/{coupon['id']}", json={"value": 1}, headers=manager_headers).status_code == 404
    assert client.get("/api/coupons", headers=shop.headers).status_code == 403


def test_bad_coupon_fields_are_refused(client, shop, manager_headers, make, other_store):
    from tests.api.conftest import Catalog

    foreign = Catalog(client, make.headers(make.user(other_store, role="MANAGER"), other_store))
    foreign.client.environ_base["HTTP_HOST"] = "other.example.com"
    foreign_product = foreign.product("Theirs")
    client.environ_base.pop("HTTP_HOST")
    base = {"code": "X1", "kind": "percent", "value": 10}
    for bad in ({**base, "value": 150}, {**base, "value": 0}, {**base, "value": -5}, {**base, "value": 10.123},
                {**base, "kind": "bogo"}, {**base, "code": "bad code"}, {**base, "max_uses": 0},
                {**base, "max_uses": 1.5}, {**base, "starts_at": "2030-01-02", "ends_at": "2030-01-01"},
                {**base, "product_id": foreign_product["id"]}, {**base, "category_id": "nope"},
                {**base, "uses_count": 5}, {"kind": "fixed", "value": 1.001, "code": "X2"}):
        response = client.post("/api/coupons", json=bad, headers=manager_headers)
        assert response.status_code == 422, (bad, response.get_json())
        assert error_code(response)
    assert client.get("/api/coupons", headers=manager_headers).get_json()["total"] == 0


def test_validate_a_code_against_a_subtotal_or_the_cart(client, shop):
    make_coupon(shop, code="TEN", min_subtotal=1500)
    make_coupon(shop, code="GONE", max_uses=1)
    from sqlalchemy import update

    from models import Coupon

    from .shop import in_store

    with in_store(shop) as session:
        session.execute(update(Coupon).where(Coupon.code == "GONE").values(uses_count=1))
        session.commit()
    ok = client.post("/api/coupons/validate", json={"code": "ten", "subtotal": 20}).get_json()
    assert ok["valid"] and ok["discount"] == 2.0 and ok["code"] == "TEN" and ok["kind"] == "percent"
    low = client.post("/api/coupons/validate", json={"code": "TEN", "subtotal": 10}).get_json()
    assert not low["valid"] and low["reason"] == "coupon_minimum" and low["message"]
    for code, reason in (("GONE", "coupon_used_up"), ("NOPE", "coupon_not_found"), ("bad code", "coupon_invalid")):
        answer = client.post("/api/coupons/validate", json={"code": code, "subtotal": 50})
        assert answer.status_code == 200 and answer.get_json()["reason"] == reason
    empty = client.post("/api/coupons/validate", json={"code": "TEN"}, headers=shop.headers).get_json()
    assert not empty["valid"] and empty["reason"] == "cart_empty"
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=shop.headers)
    cart = client.post("/api/coupons/validate", json={"code": "TEN"}, headers=shop.headers).get_json()
    assert cart["valid"] and cart["discount"] == 2.0 and cart["subtotal"] == 20.0
    assert client.post("/api/coupons/validate", json={"code": "TEN", "subtotal": -1}).status_code == 422
    assert client.post("/api/coupons/validate", json={}).status_code == 422
    assert client.get("/api/cart", headers=shop.headers).get_json()["coupon_code"] is None  # changes nothing


def test_a_cart_below_the_coupons_minimum_is_told_the_minimum_in_major_units(client, shop):
    make_coupon(shop, code="TEN", min_subtotal=1500)
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    low = client.post("/api/cart/coupon", json={"code": "TEN"}, headers=shop.headers)
    assert low.status_code == 422 and error_code(low) == "coupon_minimum"
    assert low.get_json()["error"]["details"] == {"min_subtotal": 15.0, "currency": "EUR"}
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    applied = client.post("/api/cart/coupon", json={"code": "TEN"}, headers=shop.headers)
    assert applied.status_code == 200 and applied.get_json()["coupon_discount"] == 2.0
