"""Seed B's admin user routes and the role rules: the list (search, role, segment), a user's
profile with their orders, set_reseller (GET as documented and POST) and what the discount does to
prices, role changes within the actor's reach, and deleting a user: personal data erased, the order
kept with its totals, no more sign-in, old tokens refused. The blacklist API is here too."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from extensions import db
from models import BalanceTransaction, Blacklist, Cart, Order, ReplacementRequest, Review, StockItem, User
from tenancy import tenant_scope
from tests.factories import PASSWORD

from .conftest import error_code
from .shop import shop_fixture  # noqa: F401
from .test_orders_api import add, checkout


def get_user(app, store, user_id) -> User:
    with app.app_context(), tenant_scope(store):
        return db.session.get(User, user_id)


@pytest.fixture
def admin(make, store):
    return make.user(store, role="ADMIN", username="boss")


def test_a_manager_cannot_call_the_admin_rows(client, make, store):
    manager = make.user(store, role="MANAGER")
    victim = make.user(store, username="victim")
    h = make.headers(manager, store)
    for method, path in (("GET", "/api/admin/users"), ("GET", f"/api/admin/user/{victim.id}"),
                         ("GET", f"/api/admin/users/set_reseller/{victim.id}?discount=10"),
                         ("POST", f"/api/admin/users/set_reseller/{victim.id}"),
                         ("DELETE", f"/api/admin/user/delete/{victim.id}"), ("POST", "/api/admin/users"),
                         ("PUT", f"/api/customers/{victim.id}/role"), ("GET", "/api/customers/export"),
                         ("GET", "/api/admin/blacklist"), ("POST", "/api/admin/blacklist")):
        response = client.open(path, method=method, headers=h, json={} if method in ("POST", "PUT") else None)
        assert response.status_code == 403 and error_code(response) == "insufficient_role", (method, path)
    fresh = get_user(client.application, store, victim.id)
    assert (fresh.role, fresh.erased_at) == ("USER", None)


def test_role_changes_stay_below_the_actors_own_role(client, make, store, admin):
    h = make.headers(admin, store)
    user = make.user(store, username="ann")
    other_admin = make.user(store, role="ADMIN", username="peer")

    def put(target, role, **extra):
        return client.put(f"/api/customers/{target.id}/role", json={"role": role, **extra}, headers=h)

    staff = put(user, "STAFF")
    assert staff.status_code == 200 and staff.get_json()["role"] == "STAFF"
    for role in ("ADMIN", "SYSADMIN"):
        refused = put(user, role)
        assert refused.status_code == 403 and error_code(refused) == "role_not_allowed", role
    assert error_code(put(other_admin, "USER")) == "role_not_allowed"
    assert error_code(put(admin, "USER")) == "own_account"
    assert put(user, "OWNER").status_code == 422 and error_code(put(user, "OWNER")) == "invalid_role"
    assert get_user(client.application, store, user.id).role == "STAFF"
    assert get_user(client.application, store, other_admin.id).role == "ADMIN"
    # a manager may give USER/RESELLER/STAFF to users below them, not MANAGER, and not touch a manager
    manager = make.user(store, role="MANAGER", username="mgr")
    mh = make.headers(manager, store)
    assert client.put(f"/api/customers/{user.id}/role", json={"role": "MANAGER"}, headers=mh).status_code == 403
    # (the role route itself is Admin: the rule holds in the service, the dashboard shows it)
    reseller = put(user, "RESELLER", discount=7.5)
    assert reseller.status_code == 200 and reseller.get_json()["discount"] == 7.5
    back = put(user, "USER")
    assert back.get_json()["discount"] == 0 and get_user(client.application, store, user.id).discount_bps == 0


def test_set_reseller_works_as_a_get_and_as_a_post_and_lowers_prices(client, make, store, admin, shop):
    h = make.headers(admin, store)
    buyer = shop.buyer
    got = client.get(f"/api/admin/users/set_reseller/{buyer.id}?discount=15", headers=h)
    assert got.status_code == 200, got.get_json()
    assert (got.get_json()["role"], got.get_json()["discount"]) == ("RESELLER", 15.0)
    assert get_user(client.application, store, buyer.id).discount_bps == 1500
    posted = client.post(f"/api/admin/users/set_reseller/{buyer.id}", json={"discount": 12.5}, headers=h)
    assert posted.status_code == 200 and get_user(client.application, store, buyer.id).discount_bps == 1250
    by_query = client.post(f"/api/admin/users/set_reseller/{buyer.id}?discount=20", headers=h)
    assert by_query.status_code == 200 and get_user(client.application, store, buyer.id).discount_bps == 2000
    for bad in ("12.345", "101", "-1", "ten", ""):
        refused = client.get(f"/api/admin/users/set_reseller/{buyer.id}?discount={bad}", headers=h)
        assert refused.status_code == 422, bad
    assert error_code(client.get(f"/api/admin/users/set_reseller/{buyer.id}", headers=h)) == "invalid_discount"
    assert get_user(client.application, store, buyer.id).discount_bps == 2000
    assert client.get("/api/admin/users/set_reseller/nobody?discount=5", headers=h).status_code == 404
    # 20 % off 2 x 10.00 in the reseller's cart and order
    add(client, shop.headers, shop.digital, 2)
    cart = client.get("/api/cart", headers=shop.headers).get_json()
    assert (cart["subtotal"], cart["reseller_discount"], cart["total"]) == (20.0, 4.0, 16.0)
    order = checkout(client, shop.headers).get_json()
    assert order["total"] == 16.0


def test_the_list_searches_and_filters_by_role_and_segment(client, make, store, admin, other_store):
    h = make.headers(admin, store)
    ann = make.user(store, username="ann", email="ann@shop.example")
    make.user(store, username="bob", email="bob@shop.example")
    make.user(store, role="STAFF", username="stella")
    make.user(other_store, username="annette")
    with client.application.app_context(), tenant_scope(store):
        db.session.get(User, ann.id).created_at = datetime.now(UTC) - timedelta(days=400)
        db.session.add(Order(order_number=1, email="ann@shop.example", payment_method="BALANCE", currency="EUR",
                             buyer_id=ann.id, total=60_000, subtotal=60_000, status="COMPLETED", payment_status="PAID",
                             paid_at=datetime.now(UTC) - timedelta(days=3)))
        db.session.commit()
    everyone = client.get("/api/admin/users", headers=h).get_json()
    assert everyone["total"] == 4 and {u["username"] for u in everyone["items"]} == {"boss", "ann", "bob", "stella"}
    row = next(u for u in everyone["items"] if u["username"] == "ann")
    assert (row["orders"], row["spent"], row["segment"], row["currency"]) == (1, 600.0, "vip", "EUR")
    assert next(u for u in everyone["items"] if u["username"] == "stella")["segment"] is None
    assert [u["username"] for u in client.get("/api/admin/users?search=ANN", headers=h).get_json()["items"]] == ["ann"]
    assert [u["username"] for u in client.get("/api/admin/users?role=staff", headers=h).get_json()["items"]] == ["stella"]
    vip = client.get("/api/admin/users?segment=vip", headers=h).get_json()
    assert [u["username"] for u in vip["items"]] == ["ann"]
    assert [u["username"] for u in client.get("/api/admin/users?segment=new", headers=h).get_json()["items"]] == ["bob"]
    paged = client.get("/api/admin/users?page=2&page_size=3", headers=h).get_json()
    assert (paged["total"], paged["pages"], len(paged["items"])) == (4, 2, 1)
    assert error_code(client.get("/api/admin/users?segment=whales", headers=h)) == "invalid_segment"
    assert error_code(client.get("/api/admin/users?role=GOD", headers=h)) == "invalid_role"


def test_a_users_profile_has_figures_cart_and_order_history(client, make, store, admin, shop):
    h = make.headers(admin, store)
    add(client, shop.headers, shop.digital, 2)
    order = checkout(client, shop.headers).get_json()
    add(client, shop.headers, shop.physical, 1)  # left in the cart
    with client.application.app_context(), tenant_scope(store):
        item = db.session.scalar(select(StockItem).where(StockItem.order_id == order["id"]).limit(1))
        db.session.add(Review(order_id=order["id"], user_id=shop.buyer.id, reviewed_by="buyer", rating=5,
                              product_name="Steam Card"))
        db.session.add(ReplacementRequest(order_id=order["id"], stock_item_id=item.id, user_id=shop.buyer.id,
                                          reason="broken", status="DENIED"))
        db.session.commit()
    body = client.get(f"/api/admin/user/{shop.buyer.id}", headers=h).get_json()
    assert (body["balance"], body["spent"], body["orders"], body["orders_total"]) == (30.0, 20.0, 1, 1)
    assert (body["review_count"], body["replacement_count"], body["segment"]) == (1, 1, "new")
    assert body["addresses"] == [] and body["first_order_at"] is not None
    assert [i["product_title"] for i in body["cart"]["items"]] == ["T-Shirt"] and body["cart"]["total"] == 25.0
    history = body["order_history"]
    assert history["total"] == 1 and history["items"][0]["order_number"] == order["order_number"]
    assert "deliverables" not in history["items"][0]  # a summary, as in lists
    same = client.get(f"/api/customers/{shop.buyer.id}", headers=make.headers(make.user(store, role="MANAGER"), store))
    assert same.status_code == 200 and same.get_json()["review_count"] == 1
    assert client.get("/api/admin/user/nobody", headers=h).status_code == 404


def test_create_user_below_your_role(client, make, store, admin, mail_outbox):
    h = make.headers(admin, store)
    made = client.post("/api/admin/users", json={"username": "newbie", "email": "New@Example.com",
                                                 "password": "long-enough-pw", "role": "STAFF"}, headers=h)
    assert made.status_code == 201 and (made.get_json()["email"], made.get_json()["role"]) == ("new@example.com", "STAFF")
    login = client.post("/api/auth/login", json={"login": "newbie", "password": "long-enough-pw"})
    assert login.status_code == 200, login.get_json()
    linked = client.post("/api/admin/users", json={"username": "linky", "email": "linky@example.com"}, headers=h)
    assert linked.status_code == 201
    assert any("reset-password" in (m.body or "") and "linky@example.com" in m.to for m in mail_outbox)
    clash = client.post("/api/admin/users", json={"username": "NEWBIE", "email": "x2@example.com",
                                                  "password": "long-enough-pw"}, headers=h)
    assert clash.status_code == 409 and error_code(clash) == "username_taken"
    taken = client.post("/api/admin/users", json={"username": "other1", "email": "new@example.com",
                                                  "password": "long-enough-pw"}, headers=h)
    assert taken.status_code == 409 and error_code(taken) == "email_taken"
    too_high = client.post("/api/admin/users", json={"username": "boss2", "email": "b2@example.com",
                                                     "password": "long-enough-pw", "role": "ADMIN"}, headers=h)
    assert too_high.status_code == 403 and error_code(too_high) == "role_not_allowed"
    with client.application.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "boss2")) == 0


def test_delete_erases_personal_data_and_keeps_the_order(client, make, store, admin, shop):
    h = make.headers(admin, store)
    add(client, shop.headers, shop.digital, 2)
    order = checkout(client, shop.headers).get_json()
    with client.application.app_context(), tenant_scope(store):
        db.session.add(Review(order_id=order["id"], user_id=shop.buyer.id, reviewed_by="buyer", rating=4,
                              product_name="Steam Card"))
        db.session.commit()
    add(client, shop.headers, shop.digital, 1)
    tokens = make.tokens(shop.buyer, store)
    response = client.delete(f"/api/admin/user/delete/{shop.buyer.id}", headers=h)
    assert response.status_code == 200, response.get_json()
    with client.application.app_context(), tenant_scope(store):
        kept = db.session.get(Order, order["id"])
        user = db.session.get(User, shop.buyer.id)
        assert (kept.total, kept.buyer_id, kept.status) == (2000, shop.buyer.id, "COMPLETED")
        assert kept.email == user.email and user.email.endswith("@deleted.invalid") and "buyer" not in user.email
        assert user.username.startswith("deleted-") and not user.is_active and user.erased_at is not None
        ledger = db.session.scalars(select(BalanceTransaction.amount).where(BalanceTransaction.user_id == user.id)).all()
        assert sorted(ledger) == [-2000, 5000] and user.balance == 3000
        assert db.session.scalar(select(Review.reviewed_by).where(Review.order_id == order["id"])) == "deleted user"
        assert db.session.scalar(select(func.count()).select_from(Cart).where(Cart.user_id == user.id)) == 0
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/api/user/balance/history", headers=bearer).status_code == 401
    assert client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    for login in ("buyer", "buyer@example.com"):
        assert client.post("/api/auth/login", json={"login": login, "password": PASSWORD}).status_code == 401
    listing = client.get("/api/admin/users", headers=h).get_json()
    assert shop.buyer.id not in {u["id"] for u in listing["items"]}
    shown = client.get(f"/api/admin/user/{shop.buyer.id}", headers=h).get_json()
    assert shown["erased_at"] and shown["order_history"]["items"][0]["total"] == 20.0
    again = client.delete(f"/api/admin/user/delete/{shop.buyer.id}", headers=h)
    assert again.status_code == 409 and error_code(again) == "user_erased"
    # the name is free again: someone may register with it
    assert client.post("/api/auth/register", json={"username": "buyer", "email": "buyer@example.com",
                                                   "password": "another-long-pw"}).status_code == 201


def test_delete_refusals(client, make, store, admin, shop):
    h = make.headers(admin, store)
    peer = make.user(store, role="ADMIN", username="peer")
    assert error_code(client.delete(f"/api/admin/user/delete/{admin.id}", headers=h)) == "own_account"
    assert error_code(client.delete(f"/api/admin/user/delete/{peer.id}", headers=h)) == "role_not_allowed"
    add(client, shop.headers, shop.digital, 1)
    pending = checkout(client, shop.headers, method="MANUAL")
    assert pending.status_code == 201 and pending.get_json()["status"] == "PENDING"
    refused = client.delete(f"/api/admin/user/delete/{shop.buyer.id}", headers=h)
    assert refused.status_code == 409 and error_code(refused) == "payment_pending"
    assert refused.get_json()["error"]["details"] == {"orders": 1, "top_ups": 0}
    fresh = get_user(client.application, store, shop.buyer.id)
    assert (fresh.username, fresh.erased_at, fresh.is_active) == ("buyer", None, True)
    assert client.delete("/api/admin/user/delete/nobody", headers=h).status_code == 404


def test_the_blacklist_api(client, make, store, admin, other_store):
    h = make.headers(admin, store)
    entries = [("ip", " 2001:DB8::1 ", "2001:db8::1"), ("email", "Spam@Example.COM", "spam@example.com"),
               ("username", "Troll_1", "troll_1")]
    for kind, value, stored in entries:
        response = client.post("/api/admin/blacklist", json={"kind": kind, "value": value, "reason": "abuse"}, headers=h)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert (body["kind"], body["value"], body["reason"], body["created_by"]["username"]) == (kind, stored, "abuse", "boss")
    dup = client.post("/api/admin/blacklist", json={"kind": "email", "value": "spam@example.com"}, headers=h)
    assert dup.status_code == 409 and error_code(dup) == "blacklist_exists"
    for kind, value in (("ip", "10.0.0.0/8"), ("ip", "999.1.1.1"), ("email", "not-an-email"), ("username", "a b"),
                        ("phone", "123")):
        assert client.post("/api/admin/blacklist", json={"kind": kind, "value": value}, headers=h).status_code == 422
    listing = client.get("/api/admin/blacklist?kind=email", headers=h).get_json()
    assert [e["value"] for e in listing["items"]] == ["spam@example.com"] and listing["total"] == 1
    assert client.get("/api/admin/blacklist", headers=h).get_json()["total"] == 3
    # the existing checks now refuse them
    blocked = client.post("/api/auth/register", json={"username": "troll_1", "email": "t@example.com",
                                                      "password": "long-enough-pw"})
    assert blocked.status_code == 403 and error_code(blocked) == "blacklisted"
    # the other store is not affected
    elsewhere = client.post("/api/auth/register", json={"username": "troll_1", "email": "t@example.com",
                                                        "password": "long-enough-pw"},
                            headers={"Host": "other.example.com"})
    assert elsewhere.status_code == 201
    entry_id = next(e["id"] for e in client.get("/api/admin/blacklist", headers=h).get_json()["items"]
                    if e["kind"] == "username")
    assert client.delete(f"/api/admin/blacklist/{entry_id}", headers=h).status_code == 204
    assert client.delete(f"/api/admin/blacklist/{entry_id}", headers=h).status_code == 404
    assert client.post("/api/auth/register", json={"username": "troll_1", "email": "t@example.com",
                                                   "password": "long-enough-pw"}).status_code == 201
    with client.application.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Blacklist)) == 2


def test_an_admin_cannot_blacklist_their_own_address_email_or_username(client, make, store, admin):
    h = make.headers(admin, store)
    for kind, value, own in (("ip", client.environ_base["REMOTE_ADDR"], "IP address"), ("email", admin.email.upper(), "email"),
                             ("username", "BOSS", "username")):
        refused = client.post("/api/admin/blacklist", json={"kind": kind, "value": value}, headers=h)
        assert refused.status_code == 403 and error_code(refused) == "own_account", refused.get_json()
        assert f"your own {own}" in refused.get_json()["error"]["message"]
    assert client.get("/api/admin/blacklist", headers=h).get_json()["total"] == 0
    signed_in = client.post("/api/auth/login", json={"login": "boss", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.get_json()
    # someone else's address and name are listed as before
    for kind, value in (("ip", "192.0.2.77"), ("username", "bossy")):
        assert client.post("/api/admin/blacklist", json={"kind": kind, "value": value}, headers=h).status_code == 201
