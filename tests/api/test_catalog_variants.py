"""Variants (Seed A) = subcategories (Seed B): CRUD, visibility, `/products/{id}/stock`, `/subcategories/{id}`."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from extensions import db
from models import Order, OrderEvent, Product, StockItem, Variant
from services import orders
from tenancy import tenant_scope
from tests.api.conftest import error_code
from tests.api.shop import DIGITAL_CODES, in_store, ship, shop_fixture  # noqa: F401 - the shop fixture


def test_create_update_and_delete_a_variant(client, store, catalog, manager_headers, app):
    product = catalog.product("Game Key", variants=[{"title": "Standard", "price": 20}])
    size = client.post("/api/attributes", json={"name": "Edition", "values": ["Gold", "Silver"]},
                       headers=manager_headers).get_json()
    gold = size["values"][0]
    created = client.post(f"/api/products/{product['id']}/variants", headers=manager_headers, json={
        "title": "Gold", "price": 59.9, "sku": "GK-GOLD", "min_quantity": 1, "max_quantity": 3,
        "attribute_value_ids": [gold["id"]], "low_stock_threshold": 2})
    assert created.status_code == 201, created.get_json()
    variant = created.get_json()
    assert variant["price"] == 59.9 and variant["currency"] == "EUR" and variant["sku"] == "GK-GOLD"
    assert variant["attribute_values"] == [{"id": gold["id"], "attribute_id": size["id"], "value": "Gold"}]
    assert variant["low_stock_threshold"] == 2 and variant["in_stock"] is False
    changed = client.put(f"/api/products/{product['id']}/variants/{variant['id']}", headers=manager_headers,
                         json={"price": 10, "title": "Gold Edition"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["price"], changed.get_json()["title"]) == (10.0, "Gold Edition")
    assert changed.get_json()["max_quantity"] == 3
    assert client.get(f"/api/products/{product['id']}").get_json()["starting_at"] == 10.0
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, variant["id"]).price == 1000
    listed = client.get(f"/api/products/{product['id']}/variants").get_json()
    assert listed["total"] == 2 and {v["title"] for v in listed["items"]} == {"Standard", "Gold Edition"}
    gone = client.delete(f"/api/products/{product['id']}/variants/{variant['id']}", headers=manager_headers)
    assert gone.status_code == 204
    assert client.get(f"/api/products/{product['id']}/variants").get_json()["total"] == 1
    assert client.get(f"/api/products/{product['id']}").get_json()["starting_at"] == 20.0
    again = client.delete(f"/api/products/{product['id']}/variants/{variant['id']}", headers=manager_headers)
    assert again.status_code == 404 and error_code(again) == "subcategory_not_found"


@pytest.mark.parametrize("body,status,code", [
    ({"title": "x", "price": -0.01}, 422, "validation_error"),
    ({"title": "x", "price": 1.999}, 422, "validation_error"),
    ({"title": "x", "price": True}, 422, "validation_error"),
    ({"title": "x"}, 422, "validation_error"),
    ({"title": "x", "price": 1, "min_quantity": 0}, 422, "validation_error"),
    ({"title": "x", "price": 1, "min_quantity": 4, "max_quantity": 3}, 422, "min_above_max"),
    ({"title": "x", "price": 1, "max_quantity": 2.5}, 422, "validation_error"),
    ({"title": "x", "price": 1, "attribute_value_ids": ["00000000-0000-4000-8000-000000000000"]}, 422,
     "validation_error"),
])
def test_variant_bad_input(client, store, catalog, manager_headers, body, status, code):
    product = catalog.product("P")
    response = client.post(f"/api/products/{product['id']}/variants", json=body, headers=manager_headers)
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code


def test_digital_stock_count_is_not_set_by_hand(client, store, catalog, manager_headers):
    product = catalog.product("P")
    variant = product["variants"][0]
    response = client.put(f"/api/products/{product['id']}/variants/{variant['id']}", json={"stock_count": 5},
                          headers=manager_headers)
    assert response.status_code == 422 and error_code(response) == "digital_stock_count"


def test_duplicate_sku_is_a_conflict_and_physical_stock_is_a_count(client, store, catalog, manager_headers):
    product = catalog.product("T-shirt", kind="physical", variants=[{"title": "M", "price": 15, "sku": "TS-M",
                                                                      "stock_count": 7, "weight_grams": 200}])
    variant = product["variants"][0]
    assert (variant["stock_count"], variant["weight_grams"], product["stock_count"]) == (7, 200, 7)
    clash = client.post(f"/api/products/{product['id']}/variants", json={"title": "L", "price": 15, "sku": "TS-M"},
                        headers=manager_headers)
    assert clash.status_code == 409 and error_code(clash) == "sku_taken"
    restock = client.put(f"/api/products/{product['id']}/variants/{variant['id']}", json={"stock_count": 12},
                         headers=manager_headers)
    assert restock.get_json()["stock_count"] == 12
    assert client.get(f"/api/products/{product['id']}").get_json()["stock_count"] == 12


def test_variant_of_another_product_is_not_found(client, store, catalog, manager_headers):
    one, two = catalog.product("One"), catalog.product("Two")
    response = client.put(f"/api/products/{two['id']}/variants/{one['variants'][0]['id']}", json={"price": 1},
                          headers=manager_headers)
    assert response.status_code == 404


def test_product_stock_lists_purchasable_subcategories(client, store, catalog, admin_headers, staff_headers):
    product = catalog.product("Gift", variants=[{"title": "$10", "price": 10, "max_quantity": 5},
                                                {"title": "Off", "price": 1, "is_active": False}])
    ten = next(v for v in product["variants"] if v["title"] == "$10")
    catalog.stock(ten["id"], ["A", "B", "C"], admin_headers)
    for headers in ({}, staff_headers):  # inactive ones are not purchasable, whoever asks
        body = client.get(f"/api/products/{product['id']}/stock", headers=headers).get_json()
        assert [v["title"] for v in body["items"]] == ["$10"]
        item = body["items"][0]
        assert (item["price"], item["stock_count"], item["in_stock"], item["min_quantity"], item["max_quantity"]) \
            == (10.0, 3, True, 1, 5)
    assert client.get(f"/api/products/{product['id']}/variants", headers=staff_headers).get_json()["total"] == 2
    assert client.get(f"/api/products/{product['id']}/variants").get_json()["total"] == 1
    assert client.get("/api/products/00000000-0000-4000-8000-000000000000/stock").status_code == 404


def test_subcategory_detail_includes_its_product(client, store, catalog, manager_headers, staff_headers):
    category = catalog.category("Cards")
    product = catalog.product("Gift", category_id=category["id"])
    variant = product["variants"][0]
    response = client.get(f"/api/subcategories/{variant['id']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == variant["id"] and body["price"] == 9.99 and "low_stock_threshold" not in body
    assert body["product"]["id"] == product["id"] and body["product"]["category"]["title"] == "Cards"
    assert "deliverable" not in str(body)
    # hidden for shoppers when inactive or when the product is disabled; staff still see it
    client.put(f"/api/products/{product['id']}", json={"enabled": False}, headers=manager_headers)
    assert client.get(f"/api/subcategories/{variant['id']}").status_code == 404
    assert client.get(f"/api/subcategories/{variant['id']}", headers=staff_headers).status_code == 200
    assert client.get("/api/subcategories/not-a-uuid").status_code == 404


def test_deleting_a_variant_withdraws_unsold_stock_and_keeps_sold(client, store, catalog, manager_headers,
                                                                  admin_headers, app):
    product = catalog.product("Codes")
    variant_id = product["variants"][0]["id"]
    catalog.stock(variant_id, ["S-1", "U-1"], admin_headers)
    with app.app_context(), tenant_scope(store):
        first = db.session.scalar(select(StockItem).order_by(StockItem.id).limit(1))
        first.is_sold = True
        db.session.commit()
    assert client.delete(f"/api/products/{product['id']}/variants/{variant_id}", headers=manager_headers).status_code == 204
    with app.app_context(), tenant_scope(store):
        items = db.session.scalars(select(StockItem).where(StockItem.variant_id == variant_id)).all()
        assert len(items) == 2
        assert [i.removed_at is None for i in items if i.is_sold] == [True]
        assert [i.deliverable_encrypted for i in items if not i.is_sold] == [None]
        assert db.session.get(Product, product["id"]).stock_total == 0


def _delete_both(client, shop, headers, what):
    """Delete the shop's digital and physical subcategories (``variant``) or their products (``product``)."""
    for product_id, variant_id in ((shop.product, shop.digital), (shop.physical_product, shop.physical)):
        url = f"/api/products/{product_id}" + (f"/variants/{variant_id}" if what == "variant" else "")
        assert client.delete(url, headers=headers).status_code == 204


def _pending_order(client, shop, digital=2, physical=1) -> dict:
    for variant_id, quantity in ((shop.digital, digital), (shop.physical, physical)):
        assert client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", **ship(shop)}, headers=shop.headers)
    assert placed.status_code == 201 and placed.get_json()["status"] == "PENDING", placed.get_json()
    return placed.get_json()


@pytest.mark.parametrize("what", ["variant", "product"])
def test_deleting_keeps_the_items_an_unpaid_order_holds_and_approving_it_delivers_them(client, shop, make, what):
    admin = shop.h(make.user(shop.store, role="ADMIN"))
    order = _pending_order(client, shop)
    _delete_both(client, shop, admin, what)
    with in_store(shop) as session:
        items = session.scalars(select(StockItem).where(StockItem.variant_id == shop.digital)).all()
        held = [i for i in items if i.order_id == order["id"]]
        assert len(held) == 2 and all(i.removed_at is None and i.deliverable_encrypted for i in held)
        assert all(i.removed_at is not None and i.deliverable_encrypted is None for i in items if i not in held)
    approved = client.post(f"/api/admin/orders/process/{order['id']}", headers=admin)
    assert approved.status_code == 200, approved.get_json()
    paid = approved.get_json()
    assert (paid["status"], paid["payment_status"]) == ("PROCESSING", "PAID")  # the T-shirt waits to be shipped
    assert len(paid["deliverables"]) == 2 and set(paid["deliverables"]) <= set(DIGITAL_CODES)
    timeline = client.get(f"/api/orders/{order['id']}/timeline", headers=admin).get_json()["items"]
    assert "stock_short" not in [e["kind"] for e in timeline]


@pytest.mark.parametrize("end", ["cancel", "expire"])
@pytest.mark.parametrize("what", ["variant", "product"])
def test_items_held_for_a_deleted_subcategory_are_withdrawn_when_the_order_ends_unpaid(client, shop, make, what, end):
    admin = shop.h(make.user(shop.store, role="ADMIN"))
    order = _pending_order(client, shop)
    _delete_both(client, shop, admin, what)
    if end == "cancel":
        cancelled = client.put(f"/api/orders/{order['id']}/status", json={"status": "CANCELLED"}, headers=admin)
        assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "CANCELLED"
    else:
        with in_store(shop) as session:
            session.execute(update(Order).where(Order.id == order["id"])
                            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
            assert orders.expire_due() == 1
            session.commit()
    with in_store(shop) as session:
        items = session.scalars(select(StockItem).where(StockItem.variant_id == shop.digital)).all()
        assert len(items) == len(DIGITAL_CODES)
        assert all(i.removed_at is not None and i.deliverable_encrypted is None and i.order_id is None for i in items)
        assert session.get(Variant, shop.digital).stock_count == 0  # nothing of it is for sale again
        assert session.get(Variant, shop.physical).stock_count == 0
        assert session.get(Product, shop.product).stock_total == 0
        ended = session.scalar(select(OrderEvent.message).where(OrderEvent.order_id == order["id"],
                                                                OrderEvent.kind.in_(("cancelled", "expired"))))
        assert "(0 item(s) back in stock, 3 withdrawn" in ended
    # the buyer's own cart cannot bring them back either
    again = client.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1}, headers=shop.headers)
    assert again.status_code == 404
