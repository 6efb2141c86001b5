"""A product's or category's old shop address keeps working after its slug changes: a permanent
redirect to the current address (``services.slugs.retire_slug``, ``storefront.catalog._retired``)."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import SlugRedirect
from services import categories as category_service
from services import products as product_service
from tenancy import tenant_scope
from tests.statements import statements_of
from tests.web.test_catalog_pages import signed_in, token


def in_store(app, store, fn):
    with app.app_context(), tenant_scope(store):
        result = fn()
        db.session.commit()
        return result


def new_product(app, store, title: str, slug: str | None = None) -> str:
    data = {"title": title, "variants": [{"title": "Standard", "price": 500}]}
    if slug:
        data["slug"] = slug
    return in_store(app, store, lambda: product_service.create_product(data).id)


def rename(app, store, product_id: str, slug: str) -> None:
    in_store(app, store, lambda: product_service.update_product(
        product_service.get_product(product_id, include_hidden=True), {"slug": slug}))


def moved(response) -> str:
    assert response.status_code == 301, (response.status_code, response.data[:300])
    return response.headers["Location"]


def test_a_product_renamed_on_the_dashboard_page_redirects_its_old_address(client, app, store, make):
    product_id = new_product(app, store, "Steam Wallet")
    signed_in(client, make, store, "MANAGER")
    saved = client.post(f"/admin/products/{product_id}", data={
        "csrf_token": token(client, f"/admin/products/{product_id}"), "title": "Steam Wallet",
        "slug": "steam-gift-card", "category_id": "", "is_enabled": "y", "replace_enabled": "y",
        "auto_replace_max_before_approval": "3", "warranty_amount": "1", "warranty_unit": "days"})
    assert saved.status_code == 302, saved.data[:500]
    assert moved(client.get("/p/steam-wallet")) == "/p/steam-gift-card"
    assert client.get("/p/steam-gift-card").status_code == 200
    # the variant panel's address too
    assert moved(client.get("/p/steam-wallet/variant/x")) == "/p/steam-gift-card/variant/x"


def test_a_product_renamed_through_the_api_redirects_and_keeps_the_query_string(client, app, store, make):
    product_id = new_product(app, store, "Xbox Card")
    headers = make.headers(make.user(store, role="MANAGER"), store)
    answer = client.put(f"/api/products/{product_id}", headers=headers, json={"slug": "xbox-gift-card"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["slug"] == "xbox-gift-card"
    assert moved(client.get("/p/xbox-card?variant=abc&utm_source=mail")) == \
        "/p/xbox-gift-card?variant=abc&utm_source=mail"


def test_a_chain_of_renames_redirects_straight_to_the_current_slug(client, app, store):
    product_id = new_product(app, store, "Game Key", slug="a")
    rename(app, store, product_id, "b")
    rename(app, store, product_id, "c")
    assert moved(client.get("/p/a")) == "/p/c"
    assert moved(client.get("/p/b")) == "/p/c"


def test_a_product_renamed_back_answers_at_its_old_slug_again(client, app, store):
    product_id = new_product(app, store, "Game Key", slug="a")
    rename(app, store, product_id, "b")
    rename(app, store, product_id, "a")
    assert client.get("/p/a").status_code == 200
    assert moved(client.get("/p/b")) == "/p/a"
    rows = in_store(app, store, lambda: sorted(db.session.scalars(select(SlugRedirect.slug))))
    assert rows == ["b"]


def test_a_retired_slug_taken_by_another_product_shows_that_product(client, app, store):
    first = new_product(app, store, "Old Name", slug="old-name")
    rename(app, store, first, "new-name")
    new_product(app, store, "Someone Else", slug="old-name")  # not blocked by the retired slug
    page = client.get("/p/old-name")
    assert page.status_code == 200 and b"Someone Else" in page.data
    assert in_store(app, store, lambda: db.session.scalar(select(SlugRedirect.id))) is None


def test_a_deleted_products_old_slugs_answer_404(client, app, store):
    product_id = new_product(app, store, "Gone", slug="gone")
    rename(app, store, product_id, "gone-2")
    assert moved(client.get("/p/gone")) == "/p/gone-2"
    in_store(app, store, lambda: product_service.delete_product(
        product_service.get_product(product_id, include_hidden=True)))
    assert client.get("/p/gone").status_code == 404
    assert client.get("/p/gone-2").status_code == 404


def test_another_stores_retired_slugs_never_redirect(client, app, store, other_store):
    product_id = new_product(app, other_store, "Elsewhere", slug="elsewhere")
    rename(app, other_store, product_id, "elsewhere-2")
    assert moved(client.get("/p/elsewhere", base_url="http://other.example.com")) == "/p/elsewhere-2"
    assert client.get("/p/elsewhere").status_code == 404
    category = in_store(app, other_store, lambda: category_service.create_category(title="Far", slug="far").id)
    in_store(app, other_store, lambda: category_service.update_category(
        category_service.get_category(category), {"slug": "far-2"}))
    assert moved(client.get("/c/far", base_url="http://other.example.com")) == "/c/far-2"
    assert client.get("/c/far").status_code == 404


def test_a_renamed_category_redirects_by_page_and_api(client, app, store, make):
    category = in_store(app, store, lambda: category_service.create_category(title="Gift Cards").id)
    signed_in(client, make, store, "MANAGER")
    saved = client.post(f"/admin/categories/{category}", data={
        "csrf_token": token(client, f"/admin/categories/{category}"), "title": "Gift Cards",
        "slug": "cards", "hex_code": "#6366F1", "sort_order": "0", "is_active": "y", "parent_id": ""})
    assert saved.status_code == 302, saved.data[:500]
    assert moved(client.get("/c/gift-cards?sort=price_asc")) == "/c/cards?sort=price_asc"
    headers = make.headers(make.user(store, role="MANAGER"), store)
    answer = client.put(f"/api/categories/{category}", headers=headers, json={"slug": "vouchers"})
    assert answer.status_code == 200, answer.get_json()
    assert moved(client.get("/c/gift-cards")) == "/c/vouchers"
    assert moved(client.get("/c/cards")) == "/c/vouchers"
    assert client.get("/c/vouchers").status_code == 200
    in_store(app, store, lambda: category_service.delete_category(category_service.get_category(category)))
    assert client.get("/c/cards").status_code == 404


def test_the_hit_path_sends_no_extra_statement(client, app, store):
    """A live slug is answered without looking at the retired ones; a miss costs one lookup."""
    product_id = new_product(app, store, "Counted", slug="counted")
    category_service_id = in_store(app, store, lambda: category_service.create_category(title="Shelf").id)
    client.get("/p/counted")  # warm the store's caches
    client.get("/c/shelf")
    for path in ("/p/counted", "/c/shelf"):
        status, seen = statements_of(app, client, path)
        assert status == 200
        assert not any("slug_redirects" in s for s in seen), (path, seen)
    rename(app, store, product_id, "counted-2")
    in_store(app, store, lambda: category_service.update_category(
        category_service.get_category(category_service_id), {"slug": "shelf-2"}))
    client.get("/p/counted-2")
    for path in ("/p/counted", "/c/shelf"):
        status, seen = statements_of(app, client, path)
        assert status == 301
        assert sum("slug_redirects" in s for s in seen) == 1, (path, seen)
