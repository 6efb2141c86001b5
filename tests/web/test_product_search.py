"""The free-text product search (shop page and JSON list): the store's own matches only, in the
asked order, paged and counted right, by title or description. Its statement reads the matches
apart from their order, so that on PostgreSQL a big store's search is a lookup in the trigram
indexes (migration 0025); the plans are in bench/README.md, "Product search" (a plan depends on
the table's size and statistics, so it is shown by the bench on 10,000 products, not here)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, text

from extensions import db
from models import Product
from services import products as product_service
from tenancy import tenant_scope


@pytest.fixture(autouse=True, params=["index", "scan"])
def search_way(request, monkeypatch):
    """Each test both ways: on SQLite a big store asks the FTS5 table, a small one reads its products
    (``SEARCH_INDEX_FROM``); on PostgreSQL the planner chooses, so both runs are the same there."""
    monkeypatch.setattr(product_service, "SEARCH_INDEX_FROM", 0 if request.param == "index" else 10**9)
    return request.param


def _add(app, store, titles: list[tuple[str, str, int]]) -> None:
    with app.app_context(), tenant_scope(store):
        for title, description, price in titles:
            product_service.create_product({"title": title, "description": description,
                                            "variants": [{"title": "Standard", "price": price}]})
        db.session.commit()


@pytest.fixture
def stores_with_netflix(app, store, other_store):
    _add(app, store, [(f"Netflix {n:02d}", "", 1000 + n) for n in range(30)]
         + [("Spotify Premium", "Works with the Netflix bundle", 500), ("Steam 20", "", 2000)])
    _add(app, other_store, [("Netflix of the other store", "", 100)])
    return store, other_store


def _search(client, qs: str, host: str = "localhost") -> dict:
    response = client.get(f"/api/products?{qs}", headers={"Host": host})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_search_finds_the_stores_own_matches_in_order_and_counts_them(client, stores_with_netflix):
    first = _search(client, "search=NETFLIX&page_size=24&sort_by=price&sort_dir=asc")
    titles = [p["title"] for p in first["items"]]
    # 30 by title and one by its description, never the other store's
    assert (first["total"], first["pages"]) == (31, 2)
    assert titles[0] == "Spotify Premium" and titles[1:] == [f"Netflix {n:02d}" for n in range(23)]
    second = _search(client, "search=netflix&page=2&page_size=24&sort_by=price&sort_dir=asc")
    assert [p["title"] for p in second["items"]] == [f"Netflix {n:02d}" for n in range(23, 30)]
    assert _search(client, "search=netflix&page=3&page_size=24")["items"] == []
    newest = _search(client, "search=netflix&page_size=3")  # newest first, by default
    assert [p["title"] for p in newest["items"]] == ["Spotify Premium", "Netflix 29", "Netflix 28"]
    # two letters are too short for a trigram: still answered, by reading the products
    assert [p["title"] for p in _search(client, "search=st&page_size=50")["items"]] == ["Steam 20"]
    other = _search(client, "search=netflix", host="other.example.com")
    assert [p["title"] for p in other["items"]] == ["Netflix of the other store"]


def test_the_shop_search_page_shows_the_matches(client, stores_with_netflix):
    page = client.get("/search?q=spotify").data.decode()
    assert page.count('data-testid="product-card"') == 1 and "Spotify Premium" in page
    page = client.get("/search?q=netflix").data.decode()
    assert page.count('data-testid="product-card"') == 24 and "Netflix of the other store" not in page


def test_a_page_past_the_last_one_says_so_and_links_back(client, stores_with_netflix):
    response = client.get("/search?q=netflix&page=999")
    page = response.data.decode()
    assert response.status_code == 200 and 'data-testid="product-card"' not in page
    assert "Nothing matches" not in page and "No products on this page." in page
    assert "The results end on page 2." in page and 'data-testid="past-last-page"' in page
    assert 'href="/search?q=netflix&amp;page=2"' in page
    assert 'data-testid="past-last-page"' not in client.get("/search?q=netflix&page=2").data.decode()


def test_the_search_follows_a_product_renamed_described_or_deleted(app, client, store):
    """SQLite's trigram table is kept by triggers (migration 0025): a change shows in the next search."""
    _add(app, store, [("Netflix 1 month", "", 900), ("Hulu", "", 800)])
    ids = {p["title"]: p["id"] for p in _search(client, "page_size=50")["items"]}
    with app.app_context(), tenant_scope(store):
        product_service.update_product(db.session.get(Product, ids["Netflix 1 month"]), {"title": "Disney+ 1 month"})
        product_service.update_product(db.session.get(Product, ids["Hulu"]), {"description": "Now with Netflix inside"})
        db.session.commit()
    assert [p["title"] for p in _search(client, "search=netflix")["items"]] == ["Hulu"]
    assert [p["title"] for p in _search(client, "search=disney")["items"]] == ["Disney+ 1 month"]
    with app.app_context(), tenant_scope(store):
        product_service.delete_product(db.session.get(Product, ids["Hulu"]))
        db.session.commit()
    assert _search(client, "search=netflix")["items"] == []
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):  # a store purged: its rows go too
        with app.app_context(), tenant_scope(store):
            db.session.execute(delete(Product).where(Product.id == ids["Hulu"]))
            left = db.session.execute(text("SELECT product_id FROM products_search_keys")).scalars().all()
            db.session.commit()
        assert ids["Hulu"] not in left and ids["Netflix 1 month"] in left
        with app.app_context():  # the contentless index forgot each old text with the values it indexed
            db.session.execute(text("INSERT INTO products_search (products_search) VALUES ('integrity-check')"))
            db.session.rollback()
    # a phrase with quotes and FTS syntax is only text to find
    assert _search(client, 'search=%22netflix%22 OR title:*')["items"] == []
