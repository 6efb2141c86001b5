"""The wishlist pages: the heart on cards and the product page (a form POST, htmx fragment), the
account's Wishlist tab (remove, share, revoke), the public shared page, and the addon's gate on
every page (hearts hidden, the gate's refusal instead of a broken page)."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from extensions import db
from models import WishlistItem
from services import products as product_service
from tenancy import tenant_scope
from tests.api.test_sysadmin_api import _plan, _put_on
from tests.factories import PASSWORD
from tests.web.test_auth_pages import csrf, login


def _product(app, store, title="Dice", price=1250) -> tuple[str, str]:
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": title, "variants": [{"title": "Standard", "price": price}]})
        db.session.commit()
        return product.id, product.slug


def _count(app, store) -> int:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(func.count()).select_from(WishlistItem))


def test_heart_on_cards_and_product_page_saves_without_js_and_with_htmx(app, client, store, make):
    product_id, slug = _product(app, store)
    user = make.user(store)
    login(client, user.email)
    grid = client.get("/search").get_data(as_text=True)
    assert 'data-testid="wishlist-heart"' in grid and 'aria-pressed="false"' in grid
    assert 'aria-label="Save Dice to your wishlist"' in grid
    page = client.get(f"/p/{slug}")
    saved = client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": csrf(page.data), "next": f"/p/{slug}"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/p/{slug}")
    assert _count(app, store) == 1
    assert 'aria-pressed="true"' in client.get(f"/p/{slug}").get_data(as_text=True)
    assert 'aria-pressed="true"' in client.get("/search").get_data(as_text=True)
    fragment = client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": csrf(page.data)},
                           headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'aria-pressed="false"' in body
    assert _count(app, store) == 0


def test_guests_are_sent_to_sign_in(app, client, store):
    product_id, slug = _product(app, store)
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert 'aria-label="Sign in to save Dice to your wishlist"' in page and 'action="/login"' in page
    refused = client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": csrf(client.get("/login").data)})
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert client.get("/account/wishlist").status_code == 302


def test_account_tab_lists_removes_shares_and_revokes(app, client, store, make):
    product_id, _slug = _product(app, store)
    user = make.user(store, username="ann")
    login(client, user.email)
    page = client.get("/account")
    client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": csrf(page.data)})
    listing = client.get("/account/wishlist")
    text = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "Dice" in text and "€12.50" in text and 'aria-current="page">Wishlist' in text
    shared = client.post("/account/wishlist/share", data={"csrf_token": csrf(listing.data)})
    url = re.search(r'value="(http[^"]+/wishlist/shared/([^"]+))"', shared.get_data(as_text=True))
    assert url, shared.get_data(as_text=True)
    token = url.group(2)
    public = app.test_client().get(f"/wishlist/shared/{token}")  # no sign-in
    assert public.status_code == 200 and "ann's wishlist" in public.get_data(as_text=True).replace("&#39;", "'")
    assert "Dice" in public.get_data(as_text=True) and user.email not in public.get_data(as_text=True)
    listing = client.get("/account/wishlist")
    assert client.post("/account/wishlist/revoke", data={"csrf_token": csrf(listing.data)}).status_code == 302
    assert client.get(f"/wishlist/shared/{token}").status_code == 404
    listing = client.get("/account/wishlist")
    client.post(f"/account/wishlist/{product_id}/remove", data={"csrf_token": csrf(listing.data)})
    assert _count(app, store) == 0
    assert "Nothing saved yet" in client.get("/account/wishlist").get_data(as_text=True)


def test_with_the_addon_off_hearts_hide_and_pages_show_the_gate(app, client, store, make):
    product_id, slug = _product(app, store)
    user = make.user(store)
    login(client, user.email)
    _put_on(app, store, _plan(app, "lite", 500, features=["campaigns"]))
    for url in ("/search", f"/p/{slug}", "/account"):
        page = client.get(url)
        assert page.status_code == 200 and 'data-testid="wishlist-heart"' not in page.get_data(as_text=True), url
        assert "/account/wishlist" not in page.get_data(as_text=True), url
    for url in ("/account/wishlist", "/wishlist/shared/whatever"):
        gated = client.get(url)
        text = gated.get_data(as_text=True)
        assert gated.status_code == 403 and "not available in this shop" in text and "Wishlist" in text, url
    token = csrf(client.get("/account").data)
    refused = client.post(f"/wishlist/toggle/{product_id}", data={"csrf_token": token})
    assert refused.status_code == 403 and _count(app, store) == 0
    for url in ("/account/wishlist/share", "/account/wishlist/revoke", f"/account/wishlist/{product_id}/remove"):
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url


def test_grid_hearts_cost_no_extra_query(app, client, store, make):
    from tests.web.test_catalog_query_count import add_products, page_cost

    with app.app_context(), tenant_scope(store):
        from services import categories as category_service
        category_id = category_service.create_category(title="Games").id
        db.session.commit()
    add_products(app, store, category_id, 0, 6)
    anonymous, _, _ = page_cost(app, client, "/search")
    user = make.user(store)
    login(client, user.email)
    signed_in, body, statements = page_cost(app, client, "/search")
    assert body.count(b'data-testid="wishlist-heart"') == 6
    assert anonymous == 3  # the store, the categories, the page (which also answers the gate and the hearts)
    wishlist_reads = [s for s in statements if "wishlist_items" in s]
    assert len(wishlist_reads) == 1 and "FROM products" in wishlist_reads[0], statements
    assert signed_in == anonymous + 2, statements  # + the session's user row and the header's cart badge


def test_a_guest_heart_saves_the_product_once_signed_in(app, client, store, make):
    product_id, slug = _product(app, store)
    user = make.user(store)
    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert f'name="save" value="{product_id}"' in page  # the guest's heart carries the product to sign-in
    sign_in = client.get("/login", query_string={"next": f"/p/{slug}", "save": product_id})
    html = sign_in.get_data(as_text=True)
    assert 'data-testid="pending-save"' in html and "save=" in html  # and on to "Create an account"
    signed = client.post(f"/login?next=/p/{slug}&save={product_id}",
                         data={"csrf_token": csrf(sign_in.data), "login": user.email, "password": PASSWORD})
    assert signed.status_code == 302 and signed.headers["Location"].endswith(f"/p/{slug}")
    assert _count(app, store) == 1
    shown = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "Saved “Dice” to your wishlist." in shown and 'aria-pressed="true"' in shown


def test_a_guest_heart_saves_the_product_once_registered(app, client, store):
    product_id, slug = _product(app, store)
    page = client.get(f"/register?next=/p/{slug}&save={product_id}")
    made = client.post(f"/register?next=/p/{slug}&save={product_id}",
                       data={"csrf_token": csrf(page.data), "username": "newbie", "email": "newbie@example.com",
                             "password": "a-good-password", "confirm": "a-good-password"})
    assert made.status_code == 302 and _count(app, store) == 1
