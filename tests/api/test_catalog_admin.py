"""Seed B admin catalog and stock: products, categories, subcategories, imports (JSON, text, file),
set, clear, listing with plaintext deliverables, sync, single-item withdrawal, bad input."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select, update

from extensions import db
from models import Category, Product, StockBatch, StockItem, Variant
from services import stock as stock_service
from tenancy import tenant_scope
from tests.api.conftest import error_code


@pytest.fixture
def subcategory(client, store, admin_headers):
    product = client.post("/api/admin/product/create", headers=admin_headers, json={
        "title": "Steam Card", "subcategories": [{"title": "$10", "price": 10}]})
    assert product.status_code == 201, product.get_json()
    return product.get_json()["subcategories"][0]


def add(client, headers, variant_id, codes, path="/api/admin/stock/add"):
    return client.post(path, json={"subcategoryId": variant_id, "stock": codes}, headers=headers)


def test_seed_b_product_and_category_lifecycle(client, store, admin_headers, app):
    category = client.post("/api/admin/categories/create", json={"title": "Cards", "hex_code": "#FF5733"},
                           headers=admin_headers)
    assert category.status_code == 201, category.get_json()
    category = category.get_json()
    created = client.post("/api/admin/product/create", headers=admin_headers, json={
        "title": "Amazon", "description": "Gift card", "category": category["id"], "enabled": True,
        "replacement_settings": {"replace_enabled": True, "auto_replace_enabled": True,
                                 "auto_replace_max_before_approval": 2, "warranty_time": 7200}})
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    assert product["category"]["id"] == category["id"] and product["subcategories"] == []
    assert product["replacement_settings"]["auto_replace_max_before_approval"] == 2
    updated = client.post(f"/api/admin/product/update/{product['id']}", json={"enabled": False, "title": "Amazon EU"},
                          headers=admin_headers)
    assert updated.status_code == 200 and updated.get_json()["enabled"] is False
    assert updated.get_json()["title"] == "Amazon EU"
    bad = client.post(f"/api/admin/product/update/{product['id']}",
                      json={"replacement_settings": {"warranty_time": -1}}, headers=admin_headers)
    assert bad.status_code == 422
    deleted = client.delete(f"/api/admin/product/delete/{product['id']}", headers=admin_headers)
    assert deleted.status_code == 200 and deleted.get_json()["message"]
    gone = client.delete(f"/api/admin/category/delete/{category['id']}", headers=admin_headers)
    assert gone.status_code == 200
    assert client.delete(f"/api/admin/category/delete/{category['id']}", headers=admin_headers).status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, product["id"]).deleted_at is not None
        assert db.session.get(Category, category["id"]) is None


def test_subcategory_lifecycle_with_camel_case_ids(client, store, admin_headers, app):
    product = client.post("/api/admin/product/create", json={"title": "Spotify"}, headers=admin_headers).get_json()
    created = client.post("/api/admin/subcategory/create", headers=admin_headers,
                          json={"productId": product["id"], "title": "1 month", "price": 9.99})
    assert created.status_code == 201, created.get_json()
    sub = created.get_json()
    assert (sub["product_id"], sub["min_quantity"], sub["max_quantity"], sub["price"]) == (product["id"], 1, 0, 9.99)
    updated = client.post(f"/api/admin/subcategory/update/{sub['id']}", json={"title": "1 Month", "price": 8.5},
                          headers=admin_headers)
    assert updated.status_code == 200 and updated.get_json()["price"] == 8.5
    assert client.get(f"/api/products/{product['id']}").get_json()["starting_at"] == 8.5
    refused = client.post(f"/api/admin/subcategory/update/{sub['id']}", json={"price": 1.999}, headers=admin_headers)
    assert refused.status_code == 422
    unknown_product = client.post("/api/admin/subcategory/create", headers=admin_headers,
                                  json={"product_id": "00000000-0000-4000-8000-000000000000", "title": "x", "price": 1})
    assert unknown_product.status_code == 404
    deleted = client.delete(f"/api/admin/subcategory/delete/{sub['id']}", headers=admin_headers)
    assert deleted.status_code == 200
    assert client.get(f"/api/subcategories/{sub['id']}").status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Variant, sub["id"]).deleted_at is not None


def test_add_stock_from_a_json_list_and_list_it_in_plaintext(client, store, admin_headers, subcategory, app):
    response = add(client, admin_headers, subcategory["id"], ["KEY-1", " KEY-2 ", "", "KEY-1"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in ("added", "duplicate_in_file", "already_known", "removed", "total_lines",
                                 "stock_count")} == {"added": 2, "duplicate_in_file": 1, "already_known": 0,
                                                     "removed": 0, "total_lines": 3, "stock_count": 2}
    again = add(client, admin_headers, subcategory["id"], ["KEY-2", "KEY-3"]).get_json()
    assert (again["added"], again["already_known"], again["stock_count"]) == (1, 1, 3)
    listing = client.get(f"/api/admin/stock/{subcategory['id']}", headers=admin_headers)
    assert listing.status_code == 200
    items = listing.get_json()["items"]
    assert sorted(i["deliverable"] for i in items) == ["KEY-1", "KEY-2", "KEY-3"]
    assert {i["status"] for i in items} == {"available"} and listing.get_json()["total"] == 3
    assert set(items[0]) == {"id", "subcategory_id", "deliverable", "status", "batch_id", "order_id", "sold_at",
                             "created_at"}
    # deliverables never leave the admin stock endpoints
    product_id = subcategory["product_id"]
    for path in (f"/api/products/{product_id}", f"/api/subcategories/{subcategory['id']}",
                 f"/api/products/{product_id}/stock", "/api/products", f"/api/storefront/products/{product_id}"):
        text = client.get(path, headers=admin_headers).get_data(as_text=True)
        assert "KEY-1" not in text and "deliverable" not in text, path
    assert client.get(f"/api/subcategories/{subcategory['id']}").get_json()["stock_count"] == 3
    with app.app_context(), tenant_scope(store):
        batch = db.session.get(StockBatch, body["batch_id"])
        assert (batch.added, batch.mode) == (2, "add")


def test_add_stock_from_text_and_from_a_file(client, store, admin_headers, subcategory):
    text = client.post("/api/admin/stock/add", headers=admin_headers, json={
        "subcategory_id": subcategory["id"], "text": "A,B;C", "delimiter": ";", "note": "pasted",
        "supplier": "Acme", "unit_cost": 1.25})
    assert text.status_code == 200, text.get_json()
    assert text.get_json()["added"] == 2  # "A,B" and "C" with ';' as delimiter
    upload = client.post("/api/admin/stock/add", headers=admin_headers, content_type="multipart/form-data", data={
        "subcategoryId": subcategory["id"], "note": "file", "file": (io.BytesIO(b"F-1\r\nF-2\n\nF-1\n"), "codes.txt")})
    assert upload.status_code == 200, upload.get_json()
    assert (upload.get_json()["added"], upload.get_json()["duplicate_in_file"]) == (2, 1)
    assert upload.get_json()["stock_count"] == 4
    not_text = client.post("/api/admin/stock/add", headers=admin_headers, content_type="multipart/form-data", data={
        "subcategoryId": subcategory["id"], "file": (io.BytesIO(b"\xff\xfe\x00bad"), "codes.bin")})
    assert not_text.status_code == 422 and error_code(not_text) == "invalid_file"
    both = client.post("/api/admin/stock/add", headers=admin_headers,
                       json={"subcategoryId": subcategory["id"], "stock": ["x"], "text": "y"})
    assert both.status_code == 422 and error_code(both) == "ambiguous_import"


@pytest.mark.parametrize("body,status,code", [
    ({"stock": []}, 422, "empty_import"),
    ({"stock": ["", "  "]}, 422, "empty_import"),
    ({"text": "\n\n"}, 422, "empty_import"),
    ({}, 422, "empty_import"),
    ({"stock": ["x"], "unit_cost": -1}, 422, "validation_error"),
    ({"stock": ["x"], "unit_cost": 0.001}, 422, "validation_error"),
    ({"stock": ["x" * 2001]}, 422, "validation_error"),
    ({"stock": "not-a-list"}, 422, "validation_error"),
    ({"stock": ["x"], "mode": "set"}, 422, "validation_error"),
])
def test_stock_import_bad_input_changes_nothing(client, store, admin_headers, subcategory, app, body, status, code):
    response = client.post("/api/admin/stock/add", json={"subcategoryId": subcategory["id"], **body},
                           headers=admin_headers)
    assert response.status_code == status, response.get_json()
    assert error_code(response) == code
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(StockItem.id)) is None
        assert db.session.scalar(select(StockBatch.id)) is None


def test_stock_import_needs_a_known_digital_subcategory(client, store, admin_headers, manager_headers):
    missing = add(client, admin_headers, "00000000-0000-4000-8000-000000000000", ["x"])
    assert missing.status_code == 404 and error_code(missing) == "subcategory_not_found"
    no_id = client.post("/api/admin/stock/add", json={"stock": ["x"]}, headers=admin_headers)
    assert no_id.status_code == 422
    physical = client.post("/api/products", headers=manager_headers, json={
        "title": "Mug", "kind": "physical", "variants": [{"title": "Blue", "price": 8}]}).get_json()
    refused = add(client, admin_headers, physical["variants"][0]["id"], ["x"])
    assert refused.status_code == 422 and error_code(refused) == "not_digital"


def test_stock_file_size_limits(client, store, admin_headers, subcategory, app):
    app.config["MAX_IMPORT_BYTES"] = 1024
    try:
        big = client.post("/api/admin/stock/add", headers=admin_headers, content_type="multipart/form-data", data={
            "subcategoryId": subcategory["id"], "file": (io.BytesIO(b"CODE\n" * 300), "codes.txt")})
        assert big.status_code == 413 and error_code(big) == "file_too_large"
    finally:
        app.config["MAX_IMPORT_BYTES"] = 32 * 1024 * 1024
    huge = client.post("/api/admin/stock/add", headers=admin_headers, content_type="multipart/form-data", data={
        "subcategoryId": subcategory["id"], "file": (io.BytesIO(b"C" * (50 * 1024 * 1024)), "codes.txt")})
    assert huge.status_code == 413 and error_code(huge) == "payload_too_large"
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(StockItem.id)) is None


def test_set_clear_sync_and_withdraw_one(client, store, admin_headers, subcategory, app):
    variant_id = subcategory["id"]
    add(client, admin_headers, variant_id, ["A", "B", "C", "D"])
    with app.app_context(), tenant_scope(store):
        items = db.session.scalars(select(StockItem).where(StockItem.variant_id == variant_id)).all()
        sold = next(i for i in items if stock_service.reveal(i) == "A")
        sold_code = sold.id
        sold.is_sold = True  # sold the way checkout sells: the cached count goes down with it
        db.session.get(Variant, variant_id).stock_count -= 1
        db.session.commit()
    result = add(client, admin_headers, variant_id, ["B", "C", "E"], path="/api/admin/stock/set")
    assert result.status_code == 200, result.get_json()
    body = result.get_json()
    assert (body["added"], body["already_known"], body["removed"], body["stock_count"]) == (1, 0, 1, 3)
    available = client.get(f"/api/admin/stock/{variant_id}", headers=admin_headers).get_json()["items"]
    assert sorted(i["deliverable"] for i in available) == ["B", "C", "E"]
    everything = client.get(f"/api/admin/stock/{variant_id}?status=all&page_size=100", headers=admin_headers).get_json()
    states = {i["id"]: i["status"] for i in everything["items"]}
    assert states[sold_code] == "sold" and list(states.values()).count("removed") == 1
    assert client.get(f"/api/admin/stock/{variant_id}?status=nope", headers=admin_headers).status_code == 422

    one = available[0]
    withdrawn = client.delete(f"/api/admin/stock/item/{one['id']}", headers=admin_headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["stock_count"] == 2
    assert client.delete(f"/api/admin/stock/item/{one['id']}", headers=admin_headers).status_code == 404
    sold_refused = client.delete(f"/api/admin/stock/item/{sold_code}", headers=admin_headers)
    assert sold_refused.status_code == 422 and error_code(sold_refused) == "stock_item_sold"

    # a stale cache is fixed by sync-stock (GET as documented, POST too)
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(Variant).where(Variant.id == variant_id).values(stock_count=99))
        db.session.commit()
    synced = client.get(f"/api/admin/subcategory/{variant_id}/sync-stock", headers=admin_headers)
    assert synced.status_code == 200 and synced.get_json()["stock_count"] == 2
    assert synced.get_json()["product_stock_total"] == 2
    assert client.post(f"/api/admin/subcategory/{variant_id}/sync-stock", headers=admin_headers).status_code == 200

    cleared = client.delete(f"/api/admin/stock/clear/{variant_id}", headers=admin_headers)
    assert cleared.status_code == 200 and cleared.get_json()["removed"] == 2
    assert cleared.get_json()["stock_count"] == 0
    assert client.get(f"/api/products/{subcategory['product_id']}").get_json()["in_stock"] is False
    # withdrawn codes are known forever
    again = add(client, admin_headers, variant_id, ["B", "NEW"]).get_json()
    assert (again["added"], again["already_known"]) == (1, 1)
    with app.app_context(), tenant_scope(store):
        items = db.session.scalars(select(StockItem).where(StockItem.variant_id == variant_id)).all()
        assert len(items) == 6 and sum(i.is_sold for i in items) == 1


def test_another_stores_subcategory_and_items_are_not_found(client, store, other_store, make, subcategory):
    add(client, make.headers(make.user(store, role="ADMIN"), store), subcategory["id"], ["MINE-1"])
    base = "http://other.example.com"
    theirs = make.headers(make.user(other_store, role="ADMIN"), other_store)
    for method, path, body in [
        ("POST", "/api/admin/stock/add", {"subcategoryId": subcategory["id"], "stock": ["x"]}),
        ("GET", f"/api/admin/stock/{subcategory['id']}", None),
        ("DELETE", f"/api/admin/stock/clear/{subcategory['id']}", None),
        ("GET", f"/api/admin/subcategory/{subcategory['id']}/sync-stock", None),
        ("POST", f"/api/admin/subcategory/update/{subcategory['id']}", {"price": 1}),
        ("DELETE", f"/api/admin/product/delete/{subcategory['product_id']}", None),
    ]:
        response = client.open(path, method=method, json=body, headers=theirs, base_url=base)
        assert response.status_code == 404, (method, path, response.get_json())
    mine = client.get(f"/api/admin/stock/{subcategory['id']}",
                      headers=make.headers(make.user(store, role="ADMIN"), store)).get_json()
    assert [i["deliverable"] for i in mine["items"]] == ["MINE-1"]


def test_staff_and_managers_are_not_admins_here(client, store, staff_headers, manager_headers, subcategory):
    for headers in (staff_headers, manager_headers):
        response = client.get(f"/api/admin/stock/{subcategory['id']}", headers=headers)
        assert response.status_code == 403 and error_code(response) == "insufficient_role"
