"""The wishlist API: list, add (idempotent), remove, check, share (replace, revoke), the shared list,
the ``wishlist`` addon's gate, and the user's erasure and export."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Product, User, WishlistItem, WishlistShare
from services import products as product_service
from services import users as user_service
from services import wishlist as wishlist_service
from tenancy import tenant_scope
from tests.api.test_sysadmin_api import _plan, _put_on, root, sys_headers  # noqa: F401 (fixtures)


def _product(app, store, title="Dice", price=1250, *, stock=True) -> str:
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": title, "variants": [{"title": "Standard", "price": price}]})
        if stock:
            product.stock_total = 3
        db.session.commit()
        return product.id


def _rows(app, store, model=WishlistItem) -> int:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(func.count()).select_from(model))


def test_add_list_check_remove(app, client, store, make):
    user = make.user(store)
    headers = make.headers(user, store)
    dice = _product(app, store)
    first = client.post("/api/wishlist", json={"product_id": dice}, headers=headers)
    assert first.status_code == 201 and first.get_json()["created"] is True
    again = client.post("/api/wishlist", json={"productId": dice}, headers=headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert _rows(app, store) == 1
    body = client.get("/api/wishlist", headers=headers).get_json()
    assert body["total"] == 1
    product = body["items"][0]["product"]
    assert product["title"] == "Dice" and product["starting_at"] == 12.5 and product["currency"] == "EUR"
    assert product["in_stock"] is True
    assert client.get(f"/api/wishlist/check/{dice}", headers=headers).get_json()["in_wishlist"] is True
    assert client.delete(f"/api/wishlist/{dice}", headers=headers).status_code == 204
    assert client.delete(f"/api/wishlist/{dice}", headers=headers).status_code == 204  # idempotent
    assert client.get(f"/api/wishlist/check/{dice}", headers=headers).get_json()["in_wishlist"] is False
    assert client.get("/api/wishlist", headers=headers).get_json() == {"items": [], "page": 1, "page_size": 20,
                                                                         "total": 0, "pages": 0}


def test_unknown_or_hidden_products_are_refused_and_left_out(app, client, store, other_store, make):
    user = make.user(store)
    headers = make.headers(user, store)
    missing = client.post("/api/wishlist", json={"product_id": "nope"}, headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "product_not_found"
    elsewhere = _product(app, other_store, "Other")
    assert client.post("/api/wishlist", json={"product_id": elsewhere}, headers=headers).status_code == 404
    dice = _product(app, store)
    client.post("/api/wishlist", json={"product_id": dice}, headers=headers)
    with app.app_context(), tenant_scope(store):
        db.session.get(Product, dice).is_enabled = False
        db.session.commit()
    assert client.get("/api/wishlist", headers=headers).get_json()["total"] == 0


def test_signed_in_only_and_each_user_sees_their_own(app, client, store, make):
    dice = _product(app, store)
    assert client.get("/api/wishlist").status_code == 401
    assert client.post("/api/wishlist", json={"product_id": dice}).status_code == 401
    ann, bob = make.user(store), make.user(store)
    client.post("/api/wishlist", json={"product_id": dice}, headers=make.headers(ann, store))
    assert client.get("/api/wishlist", headers=make.headers(bob, store)).get_json()["total"] == 0


def test_share_link_shows_the_list_and_only_a_display_name_until_replaced_or_revoked(app, client, store, make):
    user = make.user(store, username="ann", email="ann-private@example.com")
    headers = make.headers(user, store)
    dice = _product(app, store)
    client.post("/api/wishlist", json={"product_id": dice}, headers=headers)
    shared = client.post("/api/wishlist/share", headers=headers).get_json()
    assert shared["shared"] is True and shared["url"].endswith(f"/wishlist/shared/{shared['token']}")
    with app.app_context(), tenant_scope(store):  # only the hash is kept
        row = db.session.scalar(select(WishlistShare))
        assert row.token_hash != shared["token"] and len(row.token_hash) == 64
    public = client.get(f"/api/wishlist/shared/{shared['token']}")  # no sign-in
    assert public.status_code == 200
    body = public.get_json()
    assert body["display_name"] == "ann" and body["total"] == 1 and body["items"][0]["product"]["title"] == "Dice"
    assert "ann-private" not in public.get_data(as_text=True) and user.id not in public.get_data(as_text=True)
    replaced = client.post("/api/wishlist/share", json={}, headers=headers).get_json()
    assert client.get(f"/api/wishlist/shared/{shared['token']}").status_code == 404
    assert client.get(f"/api/wishlist/shared/{replaced['token']}").status_code == 200
    assert _rows(app, store, WishlistShare) == 1
    revoked = client.post("/api/wishlist/share", json={"revoke": True}, headers=headers)
    assert revoked.status_code == 200 and revoked.get_json() == {"shared": False, "token": None, "url": None}
    gone = client.get(f"/api/wishlist/shared/{replaced['token']}")
    assert gone.status_code == 404 and gone.get_json()["error"]["code"] == "wishlist_not_found"
    assert client.get("/api/wishlist/shared/made-up-token").status_code == 404


def test_every_wishlist_route_answers_the_gate_when_the_addon_is_off(app, client, store, make, sys_headers):
    user = make.user(store)
    headers = make.headers(user, store)
    dice = _product(app, store)
    token = client.post("/api/wishlist/share", headers=headers).get_json()["token"]
    calls = [("GET", "/api/wishlist", None), ("POST", "/api/wishlist", {"product_id": dice}),
             ("DELETE", f"/api/wishlist/{dice}", None), ("GET", f"/api/wishlist/check/{dice}", None),
             ("GET", f"/api/wishlist/shared/{token}", None), ("POST", "/api/wishlist/share", {})]
    _put_on(app, store, _plan(app, "lite", 500, features=["campaigns"]))
    for method, url, body in calls:
        refused = client.open(url, method=method, json=body, headers=headers)
        assert refused.status_code == 403, (method, url)
        error = refused.get_json()["error"]
        assert error["code"] == "feature_not_enabled" and error["details"]["addon"] == "wishlist", (method, url)
        assert "Wishlist" in error["message"]
    assert _rows(app, store) == 0
    client.put(f"/api/sysadmin/tenants/{store.id}", json={"addons": ["wishlist"]}, headers=sys_headers)
    for method, url, body in calls:
        assert client.open(url, method=method, json=body, headers=headers).status_code < 300, (method, url)


def test_a_fresh_store_has_the_wishlist(app, client, store, make):
    user = make.user(store)
    assert client.get("/api/wishlist", headers=make.headers(user, store)).status_code == 200


def test_erasing_a_user_deletes_their_wishlist_and_link_and_export_lists_them(app, client, store, make):
    user = make.user(store)
    headers = make.headers(user, store)
    dice = _product(app, store)
    client.post("/api/wishlist", json={"product_id": dice}, headers=headers)
    client.post("/api/wishlist/share", headers=headers)
    with app.app_context(), tenant_scope(store):
        exported = wishlist_service.export_for(db.session.get(User, user.id))
        assert [e["type"] for e in exported] == ["wishlist_item", "wishlist_share_link"]
        assert exported[0]["product_id"] == dice and exported[0]["product_title"] == "Dice"
        user_service.erase_user(db.session.get(User, user.id))
        db.session.commit()
    assert _rows(app, store) == 0 and _rows(app, store, WishlistShare) == 0


def test_check_agrees_with_the_list_for_a_hidden_or_deleted_product(app, client, store, make):
    user = make.user(store)
    headers = make.headers(user, store)
    dice, cards = _product(app, store), _product(app, store, "Cards")
    for product_id in (dice, cards):
        assert client.post("/api/wishlist", json={"product_id": product_id}, headers=headers).status_code == 201
    with app.app_context(), tenant_scope(store):
        db.session.get(Product, dice).is_enabled = False
        product_service.delete_product(db.session.get(Product, cards))
        db.session.commit()
    assert client.get("/api/wishlist", headers=headers).get_json()["total"] == 0
    for product_id in (dice, cards):
        check = client.get(f"/api/wishlist/check/{product_id}", headers=headers).get_json()
        assert check["in_wishlist"] is False, product_id
