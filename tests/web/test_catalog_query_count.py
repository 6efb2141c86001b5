"""The catalog pages cost a fixed number of SQL statements, whatever the number of products:
the store lookup, then the categories, the count and the page (products with their category)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from extensions import db
from services import categories as category_service
from services import products as product_service
from tenancy import tenant_scope

COUNTED = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")  # not SAVEPOINT/RELEASE/BEGIN


@contextmanager
def count_statements(app):
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(COUNTED):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def add_products(app, store, category_id: str, start: int, stop: int) -> None:
    with app.app_context(), tenant_scope(store):
        for n in range(start, stop):
            product_service.create_product({"title": f"Product {n:02d}", "category_id": category_id,
                                    "variants": [{"title": "Standard", "price": 100 + n}]})
        db.session.commit()


def page_cost(app, client, url: str) -> tuple[int, bytes, list[str]]:
    with count_statements(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.data[:500]
    return len(statements), response.data, statements


def test_search_and_category_pages_cost_the_same_for_5_and_24_products(app, client, store):
    with app.app_context(), tenant_scope(store):
        parent = category_service.create_category(title="Games")
        child = category_service.create_category(title="Keys", parent_id=parent.id)
        db.session.commit()
        child_id = child.id
    add_products(app, store, child_id, 0, 5)
    few = {url: page_cost(app, client, url) for url in ("/search", "/c/games")}
    add_products(app, store, child_id, 5, 24)
    many = {url: page_cost(app, client, url) for url in ("/search", "/c/games")}
    for url in ("/search", "/c/games"):
        assert few[url][1].count(b'data-testid="product-card"') == 5
        assert many[url][1].count(b'data-testid="product-card"') == 24
        assert few[url][0] == many[url][0], (url, few[url][2], many[url][2])
        assert 3 <= many[url][0] <= 4, (url, many[url][2])  # store lookup + categories + count + page


def test_htmx_results_fragment_costs_no_more_than_the_page(app, client, store):
    with app.app_context(), tenant_scope(store):
        category = category_service.create_category(title="Cards")
        db.session.commit()
        category_id = category.id
    add_products(app, store, category_id, 0, 24)
    with count_statements(app) as statements:
        response = client.get("/search?sort=price_asc", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"<html" not in response.data
    assert len(statements) <= 4, statements
