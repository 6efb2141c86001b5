"""Cart API: owners (user, guest token, X-Session-ID), lines, strict quantities, coupons, merging."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models import Cart
from services import coupons
from tests.factories import PASSWORD

from .conftest import error_code
from .shop import counts, in_store, make_coupon, set_price, shop_fixture  # noqa: F401

SESSION = {"X-Session-ID": "tab-1"}


def test_without_an_owner_reads_are_empty_and_writes_are_refused(client, shop):
    body = client.get("/api/cart").get_json()
    assert body["id"] is None and body["items"] == [] and body["total"] == 0 and body["currency"] == "EUR"
    response = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1})
    assert response.status_code == 400 and error_code(response) == "no_cart_owner"
    for bad in ("has space", "x" * 65, "semi;colon"):
        response = client.get("/api/cart", headers={"X-Session-ID": bad})
        assert response.status_code == 400 and error_code(response) == "invalid_session_id"
    assert counts(shop)["carts"] == 0


def test_session_cart_lines_add_up_change_and_go(client, shop):
    add = {"subcategory_id": shop.digital, "quantity": 1}
    assert client.post("/api/cart/items", json=add, headers=SESSION).status_code == 200
    body = client.post("/api/cart/items", json={"variant_id": shop.digital, "quantity": 2}, headers=SESSION).get_json()
    (line,) = body["items"]
    assert line["quantity"] == 3 and line["unit_price"] == 10.0 and line["line_total"] == 30.0
    assert (line["min_quantity"], line["max_quantity"], line["stock_count"]) == (1, 4, 6)
    assert line["available"] and line["problems"] == [] and not line["price_changed"]
    assert body["total"] == 30.0 and body["item_count"] == 3 and line["product_title"] == "Steam Card"
    body = client.put(f"/api/cart/items/{line['id']}", json={"quantity": 2}, headers=SESSION).get_json()
    assert body["items"][0]["quantity"] == 2
    body = client.post("/api/cart/items", json={"subcategoryId": shop.physical}, headers=SESSION).get_json()
    assert len(body["items"]) == 2 and body["total"] == 45.0
    body = client.delete(f"/api/cart/items/{line['id']}", headers=SESSION).get_json()
    assert [i["subcategory_id"] for i in body["items"]] == [shop.physical]
    body = client.put(f"/api/cart/items/{body['items'][0]['id']}", json={"quantity": 0}, headers=SESSION).get_json()
    assert body["items"] == []
    # another session does not see (or touch) this cart
    other = client.get("/api/cart", headers={"X-Session-ID": "tab-2"}).get_json()
    assert other["id"] is None
    assert client.delete(f"/api/cart/items/{line['id']}", headers={"X-Session-ID": "tab-2"}).status_code == 404


@pytest.mark.parametrize("quantity,status,code", [
    (0, 422, "validation_error"), (-1, 422, "validation_error"), (1.5, 422, "validation_error"),
    ("2", 422, "validation_error"), (True, 422, "validation_error"), (None, 422, "validation_error"),
    (2**31, 422, "validation_error"), (2**63, 422, "validation_error"),
    (5, 422, "above_max_quantity"),
])
def test_bad_quantities_are_refused_and_change_nothing(client, shop, quantity, status, code):
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    before = client.get("/api/cart", headers=shop.headers).get_json()
    response = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": quantity},
                           headers=shop.headers)
    assert response.status_code == status and error_code(response) == code
    line_id = before["items"][0]["id"]
    if quantity not in (0, 5):  # PUT 0 removes the line; 5 is above the maximum there too
        response = client.put(f"/api/cart/items/{line_id}", json={"quantity": quantity}, headers=shop.headers)
        assert response.status_code == 422 and error_code(response) == "validation_error"
    assert client.get("/api/cart", headers=shop.headers).get_json()["items"] == before["items"]


def test_limits_stock_and_unknown_things(client, shop):
    h = shop.headers
    response = client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 4}, headers=h)
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    response = client.post("/api/cart/items", json={"subcategory_id": "nope", "quantity": 1}, headers=h)
    assert response.status_code == 404 and error_code(response) == "subcategory_not_found"
    response = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "role": "ADMIN"}, headers=h)
    assert response.status_code == 422
    response = client.put("/api/cart/items/not-a-line", json={"quantity": 1}, headers=h)
    assert response.status_code == 404 and error_code(response) == "cart_item_not_found"
    response = client.post("/api/cart/items", data="quantity=1", headers=h)
    assert response.status_code == 415


def test_a_changed_price_is_flagged_until_the_shopper_sees_it(client, shop):
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    set_price(shop, shop.digital, 1200)
    line = client.get("/api/cart", headers=shop.headers).get_json()["items"][0]
    assert line["price_changed"] and line["seen_price"] == 10.0 and line["unit_price"] == 12.0


def test_guest_token_cart_and_signing_in_merges(client, shop):
    guest = client.get("/api/public/guest/token").get_json()["token"]
    gh = {"Authorization": f"Bearer {guest}"}
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=gh)
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=SESSION)
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    assert client.get("/api/cart", headers=gh).get_json()["items"][0]["quantity"] == 2
    # a signed-in request carrying X-Session-ID merges that cart first
    body = client.get("/api/cart", headers={**shop.headers, **SESSION}).get_json()
    assert body["items"][0]["quantity"] == 2
    assert client.get("/api/cart", headers=SESSION).get_json()["id"] is None
    # POST /api/cart/merge with the guest token: quantities add up within the maximum (4)
    body = client.post("/api/cart/merge", json={"guest_token": guest}, headers=shop.headers).get_json()
    assert body["items"][0]["quantity"] == 4
    assert client.get("/api/cart", headers=gh).get_json()["id"] is None
    # merging again changes nothing; naming nothing is a 422; a non-guest token is a 401
    again = client.post("/api/cart/merge", json={"session_id": "tab-1"}, headers=shop.headers)
    assert again.status_code == 200 and again.get_json()["items"][0]["quantity"] == 4
    assert client.post("/api/cart/merge", json={}, headers=shop.headers).status_code == 422
    access = shop.headers["Authorization"].split()[1]
    response = client.post("/api/cart/merge", json={"guest_token": access}, headers=shop.headers)
    assert response.status_code == 401
    with in_store(shop) as session:
        assert session.scalar(select(Cart.id).where(Cart.guest_key.isnot(None))) is None


def test_signing_in_merges_the_guest_token_and_session_carts_of_this_store_only(client, shop, make, other_store):
    """RECONCILE.md "Carts": signing in merges. The guest token the client shopped with is still its
    Bearer token when it signs in; its cart (and the X-Session-ID one) joins the user's."""
    guest = client.get("/api/public/guest/token").get_json()["token"]
    gh = {"Authorization": f"Bearer {guest}"}
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 3}, headers=gh)
    client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 1}, headers=SESSION)
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=shop.headers)
    login = client.post("/api/auth/login", json={"login": "buyer", "password": PASSWORD}, headers={**gh, **SESSION})
    assert login.status_code == 200
    signed_in = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    body = client.get("/api/cart", headers=signed_in).get_json()
    # 2 + 3 of the digital card, held to its maximum of 4 per order (services.cart.merge)
    assert {line["subcategory_id"]: line["quantity"] for line in body["items"]} == {shop.digital: 4, shop.physical: 1}
    assert client.get("/api/cart", headers=gh).get_json()["id"] is None
    assert client.get("/api/cart", headers=SESSION).get_json()["id"] is None
    # registering signs in too; a malformed X-Session-ID does not stop it
    newcomer = client.get("/api/public/guest/token").get_json()["token"]
    nh = {"Authorization": f"Bearer {newcomer}"}
    client.post("/api/cart/items", json={"subcategory_id": shop.physical, "quantity": 2}, headers=nh)
    registered = client.post("/api/auth/register", headers={**nh, "X-Session-ID": "not valid!"},
                             json={"username": "newbie", "email": "newbie@example.com", "password": "newbie-password"})
    assert registered.status_code == 201
    mine = client.get("/api/cart", headers={"Authorization": f"Bearer {registered.get_json()['access_token']}"})
    assert [(line["subcategory_id"], line["quantity"]) for line in mine.get_json()["items"]] == [(shop.physical, 2)]
    # a guest token of another store is no token there: the sign-in works and merges nothing
    make.user(other_store, username="buyer", email="buyer@example.com")
    other = "http://other.example.com"
    guest = client.get("/api/public/guest/token").get_json()["token"]  # the main store's
    gh = {"Authorization": f"Bearer {guest}"}
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=gh)
    login = client.post("/api/auth/login", json={"login": "buyer", "password": PASSWORD}, headers=gh, base_url=other)
    assert login.status_code == 200
    theirs = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    assert client.get("/api/cart", headers=theirs, base_url=other).get_json()["items"] == []
    assert client.get("/api/cart", headers=gh).get_json()["items"][0]["quantity"] == 1


def test_seed_b_cart_update_sets_and_removes(client, shop):
    body = client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": 3},
                       headers=shop.headers).get_json()
    assert body["items"][0]["quantity"] == 3
    body = client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": 1},
                       headers=shop.headers).get_json()
    assert body["items"][0]["quantity"] == 1
    body = client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": 0},
                       headers=shop.headers).get_json()
    assert body["items"] == []
    for amount in (-1, 1.5, "1", 2**31):
        response = client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": amount},
                               headers=shop.headers)
        assert response.status_code == 422
    assert client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": 1},
                       headers=SESSION).status_code == 401


def test_coupons_on_the_cart(client, shop, make, other_store):
    make_coupon(shop, code="TENOFF")
    make_coupon(shop, code="OLD", ends_at=datetime.now(UTC) - timedelta(days=1))
    with shop.app.app_context():
        from tenancy import tenant_scope

        with tenant_scope(other_store):
            coupons.create_coupon({"code": "FOREIGN", "kind": "percent", "value": 5000})
            from extensions import db

            db.session.commit()
    h = shop.headers
    response = client.post("/api/cart/coupon", json={"code": "TENOFF"}, headers=h)
    assert response.status_code == 422 and error_code(response) == "cart_empty"
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=h)
    body = client.post("/api/cart/coupon", json={"code": "tenoff"}, headers=h).get_json()
    assert body["coupon_code"] == "TENOFF" and body["coupon_discount"] == 2.0 and body["total"] == 18.0
    for code, status, err in (("OLD", 422, "coupon_expired"), ("FOREIGN", 404, "coupon_not_found"),
                              ("NOPE", 404, "coupon_not_found"), ("bad code!", 422, "validation_error")):
        response = client.post("/api/cart/coupon", json={"code": code}, headers=h)
        assert response.status_code == status and error_code(response) == err, code
    assert client.get("/api/cart", headers=h).get_json()["coupon_code"] == "TENOFF"  # unchanged
    body = client.delete("/api/cart/coupon", headers=h).get_json()
    assert body["coupon_code"] is None and body["total"] == 20.0


def _delete_coupon(shop, code):
    from models import Coupon

    with in_store(shop) as session:
        coupons.delete_coupon(session.scalar(select(Coupon).where(Coupon.code == code)))
        session.commit()


def _cart_coupon(shop):
    with in_store(shop) as session:
        return session.scalar(select(Cart.coupon_code).where(Cart.user_id == shop.buyer.id))


def test_a_coupon_deleted_while_in_the_cart_is_taken_off_and_checkout_goes_on(client, shop):
    make_coupon(shop, code="TENOFF")
    h = shop.headers
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=h)
    assert client.post("/api/cart/coupon", json={"code": "TENOFF"}, headers=h).get_json()["total"] == 18.0
    _delete_coupon(shop, "TENOFF")
    body = client.get("/api/cart", headers=h).get_json()
    assert body["coupon_code"] is None and body["coupon_error"] is None and body["total"] == 20.0
    assert "TENOFF" in body["coupon_notice"] and "taken off your cart" in body["coupon_notice"]
    assert _cart_coupon(shop) is None  # dropped for good: the next answer has no notice
    assert client.get("/api/cart", headers=h).get_json()["coupon_notice"] is None
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=h)
    assert placed.status_code == 201, placed.get_json()
    assert placed.get_json()["total"] == 20.0


def test_a_coupon_deleted_just_before_checkout_is_taken_off_and_the_shopper_sees_the_new_total(client, shop):
    make_coupon(shop, code="TENOFF")
    h = shop.headers
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=h)
    client.post("/api/cart/coupon", json={"code": "TENOFF"}, headers=h)
    _delete_coupon(shop, "TENOFF")
    refused = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=h)
    assert refused.status_code == 409 and error_code(refused) == "coupon_removed"
    assert refused.get_json()["error"]["details"] == {"coupon_code": "TENOFF"}
    assert _cart_coupon(shop) is None and counts(shop)["balance"] == 5000
    placed = client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=h)
    assert placed.status_code == 201 and placed.get_json()["total"] == 20.0


def test_staff_reading_a_customer_leave_their_deleted_coupon_for_them_to_hear_of(client, shop, make):
    """A manager's read of a customer prices their cart, but the coupon the store deleted is the
    shopper's to be told about: it stays on the cart until the shopper's own next look."""
    make_coupon(shop, code="TENOFF")
    h = shop.headers
    client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 2}, headers=h)
    client.post("/api/cart/coupon", json={"code": "TENOFF"}, headers=h)
    _delete_coupon(shop, "TENOFF")
    manager = make.headers(make.user(shop.store, role="MANAGER", username="mgr", email="mgr@example.com"), shop.store)
    seen = client.get(f"/api/customers/{shop.buyer.id}", headers=manager)
    assert seen.status_code == 200, seen.get_json()
    assert _cart_coupon(shop) == "TENOFF"  # nothing written by the manager's read
    body = client.get("/api/cart", headers=h).get_json()
    assert "TENOFF" in body["coupon_notice"] and body["total"] == 20.0
    assert _cart_coupon(shop) is None
