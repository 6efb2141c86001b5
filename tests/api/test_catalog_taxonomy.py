"""Categories (tree and flat, Seed B `/api/products/categories`), tags and attributes."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Category, Product, ProductTag, Tag
from tenancy import tenant_scope
from tests.api.conftest import error_code


def test_categories_as_a_tree_or_flat_with_counts(client, store, catalog, staff_headers):
    cards = catalog.category("Cards", hex_code="#112233", sort_order=1)
    steam = catalog.category("Steam", parent_id=cards["id"])
    games = catalog.category("Games", sort_order=2)
    catalog.category("Archive", is_active=False)
    catalog.product("Steam 10", category_id=steam["id"])
    catalog.product("Steam 20", category_id=steam["id"])
    catalog.product("Hidden", category_id=games["id"], enabled=False)

    tree = client.get("/api/categories").get_json()
    assert [c["title"] for c in tree["items"]] == ["Cards", "Games"]
    assert tree["total"] == 2 and tree["page"] == 1
    assert [c["title"] for c in tree["items"][0]["children"]] == ["Steam"]
    assert tree["items"][0]["children"][0]["product_count"] == 2
    assert tree["items"][1]["product_count"] == 0  # the disabled product is not counted
    assert tree["items"][0]["hex_code"] == "#112233" and tree["items"][0]["name"] == "Cards"
    flat = client.get("/api/categories?flat=true").get_json()
    assert sorted(c["title"] for c in flat["items"]) == ["Cards", "Games", "Steam"]
    assert all(c["children"] == [] for c in flat["items"])
    # include_inactive is a staff switch
    assert "Archive" not in {c["title"] for c in client.get("/api/categories?flat=1&include_inactive=1").get_json()["items"]}
    staff = client.get("/api/categories?flat=1&include_inactive=1", headers=staff_headers).get_json()
    assert "Archive" in {c["title"] for c in staff["items"]}
    seed_b = client.get("/api/products/categories").get_json()
    assert sorted(c["title"] for c in seed_b["items"]) == ["Cards", "Games", "Steam"]
    paged = client.get("/api/categories?flat=true&page=2&page_size=2").get_json()
    assert (len(paged["items"]), paged["total"], paged["pages"]) == (1, 3, 2)


def test_category_by_slug_and_inactive_ones(client, store, catalog, staff_headers):
    cards = catalog.category("Gift Cards")
    catalog.category("Steam", parent_id=cards["id"])
    catalog.category("Old", is_active=False)
    body = client.get("/api/categories/gift-cards").get_json()
    assert body["id"] == cards["id"] and [c["slug"] for c in body["children"]] == ["steam"]
    assert client.get("/api/categories/old").status_code == 404
    assert client.get("/api/categories/old", headers=staff_headers).status_code == 200
    missing = client.get("/api/categories/nope")
    assert missing.status_code == 404 and error_code(missing) == "category_not_found"


def test_create_update_and_delete_categories(client, store, catalog, manager_headers, app):
    parent = catalog.category("Parent")
    child = catalog.category("Child", parent_id=parent["id"])
    product = catalog.product("In child", category_id=child["id"])
    assert child["parent_id"] == parent["id"] and child["slug"] == "child"
    dup = client.post("/api/categories", json={"title": "Again", "slug": "child"}, headers=manager_headers)
    assert dup.status_code == 409 and error_code(dup) == "slug_taken"
    bad_colour = client.post("/api/categories", json={"title": "X", "hex_code": "red"}, headers=manager_headers)
    assert bad_colour.status_code == 422
    unknown_parent = client.post("/api/categories", json={"title": "X", "parent_id": "00000000-0000-4000-8000-000000000000"},
                                 headers=manager_headers)
    assert unknown_parent.status_code == 422 and error_code(unknown_parent) == "unknown_category"
    cycle = client.put(f"/api/categories/{parent['id']}", json={"parent_id": child["id"]}, headers=manager_headers)
    assert cycle.status_code == 422
    renamed = client.put(f"/api/categories/{child['id']}", json={"title": "Kid", "hex_code": "#abcdef"},
                         headers=manager_headers)
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "Kid"
    assert renamed.get_json()["hex_code"] == "#ABCDEF" and renamed.get_json()["product_count"] == 1
    top = client.put(f"/api/categories/{child['id']}", json={"parent_id": None}, headers=manager_headers)
    assert top.get_json()["parent_id"] is None
    assert client.delete(f"/api/categories/{child['id']}", headers=manager_headers).status_code == 204
    assert client.delete(f"/api/categories/{child['id']}", headers=manager_headers).status_code == 404
    detail = client.get(f"/api/products/{product['id']}").get_json()
    assert detail["category"] is None and detail["category_id"] is None
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Category, child["id"]) is None
        assert db.session.get(Product, product["id"]).category_id is None


def test_tags(client, store, catalog, manager_headers, app):
    sale = catalog.tag("Sale")
    catalog.tag("New In")
    product = catalog.product("Tagged", tag_ids=[sale["id"]])
    listing = client.get("/api/tags").get_json()
    assert [t["name"] for t in listing["items"]] == ["New In", "Sale"] and listing["total"] == 2
    assert listing["items"][0]["slug"] == "new-in"
    dup = client.post("/api/tags", json={"name": "sale"}, headers=manager_headers)
    assert dup.status_code == 409
    assert client.post("/api/tags", json={"name": ""}, headers=manager_headers).status_code == 422
    assert client.delete(f"/api/tags/{sale['id']}", headers=manager_headers).status_code == 204
    assert client.delete(f"/api/tags/{sale['id']}", headers=manager_headers).status_code == 404
    assert client.get(f"/api/products/{product['id']}").get_json()["tags"] == []
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Tag, sale["id"]) is None
        assert db.session.scalar(select(ProductTag.tag_id)) is None


def test_attributes_and_values(client, store, manager_headers):
    created = client.post("/api/attributes", json={"name": "Size", "values": ["S", "M", "M"]}, headers=manager_headers)
    assert created.status_code == 201, created.get_json()
    size = created.get_json()
    assert [v["value"] for v in size["values"]] == ["S", "M"] and size["slug"] == "size"
    added = client.post(f"/api/attributes/{size['id']}/values", json={"value": "L"}, headers=manager_headers)
    assert added.status_code == 201 and added.get_json()["attribute_id"] == size["id"]
    dup = client.post(f"/api/attributes/{size['id']}/values", json={"value": "L"}, headers=manager_headers)
    assert dup.status_code == 409 and error_code(dup) == "value_exists"
    again = client.post("/api/attributes", json={"name": "Size"}, headers=manager_headers)
    assert again.status_code == 409
    listing = client.get("/api/attributes").get_json()
    assert [v["value"] for v in listing["items"][0]["values"]] == ["S", "M", "L"]
    missing = client.post("/api/attributes/00000000-0000-4000-8000-000000000000/values", json={"value": "x"},
                          headers=manager_headers)
    assert missing.status_code == 404
    assert client.delete(f"/api/attributes/{size['id']}", headers=manager_headers).status_code == 204
    assert client.get("/api/attributes").get_json()["total"] == 0


def test_categories_side_by_side_have_different_titles(client, store, catalog, manager_headers, app):
    """A second "Merch" at the top level (or in one parent) was saved: the shop listed it twice."""
    parent = catalog.category("Merch")
    catalog.category("Shirts", parent_id=parent["id"])
    twin = client.post("/api/categories", json={"title": "  mERCH "}, headers=manager_headers)
    assert twin.status_code == 409 and error_code(twin) == "title_taken"
    assert twin.get_json()["error"]["details"] == {"title": ["taken"]}
    in_parent = client.post("/api/categories", json={"title": "shirts", "parent_id": parent["id"]}, headers=manager_headers)
    assert in_parent.status_code == 409 and error_code(in_parent) == "title_taken"
    elsewhere = client.post("/api/categories", json={"title": "Shirts"}, headers=manager_headers)  # top level: free
    assert elsewhere.status_code == 201
    moved = client.put(f"/api/categories/{elsewhere.get_json()['id']}", json={"parent_id": parent["id"]},
                       headers=manager_headers)
    assert moved.status_code == 409 and error_code(moved) == "title_taken"
    renamed = client.put(f"/api/categories/{elsewhere.get_json()['id']}", json={"title": "Merch"}, headers=manager_headers)
    assert renamed.status_code == 409
    with app.app_context(), tenant_scope(store):
        titles = sorted((c.title, c.parent_id is None) for c in db.session.scalars(select(Category)))
    assert titles == [("Merch", True), ("Shirts", False), ("Shirts", True)]
    # a twin from before the rule can still be edited, as long as its title does not change
    with app.app_context(), tenant_scope(store):
        db.session.add(Category(title="merch", slug="merch-old", hex_code="#6366F1"))
        db.session.commit()
        old_id = db.session.scalar(select(Category.id).where(Category.slug == "merch-old"))
    kept = client.put(f"/api/categories/{old_id}", json={"title": "merch", "sort_order": 3}, headers=manager_headers)
    assert kept.status_code == 200
