"""Storefront (Public): the shopper's view whoever asks, view counts, active categories with counts."""
from __future__ import annotations

from extensions import db
from models import Product
from tenancy import tenant_scope


def test_storefront_products_filters_and_sorting(client, store, catalog, admin_headers):
    cards = catalog.category("Cards")
    steam = catalog.category("Steam", parent_id=cards["id"])
    cheap = catalog.product("Steam 5", category_id=steam["id"], variants=[{"title": "a", "price": 5}])
    catalog.product("Card 50", category_id=cards["id"], is_featured=True, variants=[{"title": "a", "price": 50}])
    catalog.product("Other 20", variants=[{"title": "a", "price": 20}])
    catalog.product("Disabled", enabled=False)
    catalog.stock(cheap["variants"][0]["id"], ["X-1"], admin_headers)

    def titles(qs: str = "", headers=None) -> list[str]:
        response = client.get(f"/api/storefront/products?{qs}", headers=headers or {})
        assert response.status_code == 200, response.get_json()
        return [p["title"] for p in response.get_json()["items"]]

    assert sorted(titles()) == ["Card 50", "Other 20", "Steam 5"]
    assert "Disabled" not in titles(headers=admin_headers)  # the storefront is the shopper's view
    assert sorted(titles("category_slug=cards")) == ["Card 50", "Steam 5"]
    assert titles("category_slug=unknown") == []
    assert titles("search=other") == ["Other 20"]
    assert titles("min_price=6&max_price=49.99") == ["Other 20"]
    assert titles("in_stock=true") == ["Steam 5"]
    assert sorted(titles("in_stock=false")) == ["Card 50", "Other 20"]
    assert titles("featured=true") == ["Card 50"]
    assert titles("sort_by=price_asc") == ["Steam 5", "Other 20", "Card 50"]
    assert titles("sort_by=price_desc") == ["Card 50", "Other 20", "Steam 5"]
    assert titles("sort_by=price&sort_dir=desc") == ["Card 50", "Other 20", "Steam 5"]
    assert titles("sort_by=name") == ["Card 50", "Other 20", "Steam 5"]
    page = client.get("/api/storefront/products?page_size=2&sort_by=name").get_json()
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 2)
    assert client.get("/api/storefront/products?sort_by=secret").status_code == 422
    assert client.get("/api/storefront/products?min_price=9&max_price=1").status_code == 422


def test_storefront_product_counts_views_and_hides_disabled(client, store, catalog, admin_headers, app):
    product = catalog.product("Viewed", variants=[{"title": "On", "price": 1},
                                                  {"title": "Off", "price": 2, "is_active": False}])
    first = client.get("/api/storefront/products/viewed")
    assert first.status_code == 200
    assert first.get_json()["view_count"] == 1
    assert [v["title"] for v in first.get_json()["variants"]] == ["On"]
    second = client.get(f"/api/storefront/products/{product['id']}", headers=admin_headers)
    assert second.get_json()["view_count"] == 2
    assert "low_stock_threshold" not in second.get_json()["variants"][0]
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, product["id"]).view_count == 2
    client.put(f"/api/products/{product['id']}", json={"enabled": False}, headers=admin_headers)
    assert client.get("/api/storefront/products/viewed", headers=admin_headers).status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(Product, product["id"]).view_count == 2


def test_storefront_categories_are_active_with_counts(client, store, catalog):
    cards = catalog.category("Cards")
    catalog.category("Steam", parent_id=cards["id"])
    catalog.category("Old", is_active=False)
    catalog.product("A", category_id=cards["id"])
    catalog.product("B", category_id=cards["id"])
    catalog.product("C", category_id=cards["id"], enabled=False)
    listing = client.get("/api/storefront/categories").get_json()
    assert [c["title"] for c in listing["items"]] == ["Cards"]
    assert listing["items"][0]["product_count"] == 2
    assert [c["title"] for c in listing["items"][0]["children"]] == ["Steam"]
    detail = client.get("/api/storefront/categories/cards")
    assert detail.status_code == 200 and detail.get_json()["product_count"] == 2
    assert client.get("/api/storefront/categories/old").status_code == 404
