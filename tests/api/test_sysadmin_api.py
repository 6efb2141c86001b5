"""The platform floor (issue 13): tenants, the platform dashboard, plans, addons, gates and limits.
Every sysadmin route is walked: SYSADMIN passes, ADMIN, MANAGER and anonymous callers are refused."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from extensions import db
from models import Addon, Order, OrderLine, Plan, Product, Store, User, store_addons
from services import orders, tenants
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf, login

NOW = datetime.now(UTC)


def _order(number: int, *, total: int, paid_at: datetime | None, refunded: int = 0, gift: bool = False) -> Order:
    order = Order(order_number=number, email=f"b{number}@example.com", payment_method="BALANCE", currency="EUR",
                  total=total, subtotal=total, item_count=1, amount_refunded=refunded, is_gift=gift,
                  status="COMPLETED" if paid_at else "PENDING", payment_status="PAID" if paid_at else "UNPAID",
                  paid_at=paid_at, created_at=paid_at or NOW)
    db.session.add(order)
    db.session.flush()
    db.session.add(OrderLine(order_id=order.id, product_title="Card", variant_title="v", quantity=1,
                             unit_price=total, line_subtotal=total))
    orders.record_sale(order)
    return order


@pytest.fixture
def root(make):
    return make.user(None, role="SYSADMIN", username="root", email="root@platform.example")


@pytest.fixture
def sys_headers(make, root, store):
    return make.headers(root, store)


def _plan(app, slug, price, *, features=(), max_products=None, max_staff=None, domain=True) -> str:
    with app.app_context():
        plan = Plan(slug=slug, name=slug.title(), monthly_price=price, currency="EUR", max_products=max_products,
                    max_staff=max_staff, custom_domain_allowed=domain, features=list(features))
        db.session.add(plan)
        db.session.commit()
        return plan.id


def _put_on(app, store, plan_id, addons=()) -> None:
    with app.app_context():
        db.session.get(Store, store.id).plan_id = plan_id
        ids = db.session.scalars(select(Addon.id).where(Addon.slug.in_(addons))).all()
        if ids:
            db.session.execute(store_addons.insert(), [{"store_id": store.id, "addon_id": i} for i in ids])
        db.session.commit()


# --- every sysadmin route --------------------------------------------------------------------------

def _sysadmin_calls(app, tenant_id: str, plan_id: str, addon_id: str):
    """(method, url, body) for every rule under /api/sysadmin, bodies that a SYSADMIN gets 2xx with."""
    bodies = {
        ("POST", "/api/sysadmin/tenants"): {"slug": "walked", "name": "Walked", "admin_email": "w@example.com"},
        ("PUT", "/api/sysadmin/tenants/<tenant_id>"): {"name": "Renamed"},
        ("POST", "/api/sysadmin/plans"): {"slug": "walk-plan", "name": "Walk", "monthly_price": 5},
        ("PUT", "/api/sysadmin/plans/<plan_id>"): {"name": "Walk 2"},
        ("POST", "/api/sysadmin/addons"): {"slug": "walk-addon", "name": "Walk", "monthly_price": 1},
        ("PUT", "/api/sysadmin/addons/<addon_id>"): {"name": "Walk 2"},
    }
    order = {"GET": 0, "PUT": 1, "POST": 2, "DELETE": 4}
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/sysadmin"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule.replace("<tenant_id>", tenant_id).replace("<plan_id>", plan_id)
            url = url.replace("<addon_id>", addon_id)
            body = bodies.get((method, rule.rule), {})
            # restore needs a deleted store: it runs after DELETE; activate after suspend
            rank = order[method] + (5 if rule.rule.endswith("/restore") else 0)
            calls.append((rank, method, url, body))
    return [c[1:] for c in sorted(calls, key=lambda c: c[0])]


def test_every_sysadmin_route_is_for_sysadmins_only(app, client, store, make, root, sys_headers):
    tenant = make.store("walk-target", "Walk Target")
    with app.app_context():
        plan_id = db.session.scalar(select(Plan.id).where(Plan.slug == "everything"))
        addon_id = db.session.scalar(select(Addon.id).where(Addon.slug == "wishlist"))
    calls = _sysadmin_calls(app, tenant.id, plan_id, addon_id)
    assert len(calls) == 20  # the 13 tenant and dashboard routes, 6 of plans and addons, the platform audit log
    admin, manager = make.user(store, role="ADMIN"), make.user(store, role="MANAGER")
    for method, url, body in calls:
        assert client.open(url, method=method, json=body).status_code == 401, (method, url)
        for weak in (admin, manager):
            refused = client.open(url, method=method, json=body, headers=make.headers(weak, store))
            assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "insufficient_role"
    for method, url, body in calls:
        ok = client.open(url, method=method, json=body, headers=sys_headers)
        assert 200 <= ok.status_code < 300, (method, url, ok.get_json())


def test_cross_store_lists_are_sysadmin_only_and_see_every_store(app, client, store, other_store, make,
                                                                   sys_headers):
    admin = make.user(store, role="ADMIN")
    assert client.get("/api/sysadmin/tenants", headers=make.headers(admin, store)).status_code == 403
    body = client.get("/api/sysadmin/tenants?sort_by=name&sort_order=asc", headers=sys_headers).get_json()
    assert [t["slug"] for t in body["items"]] == ["main", "other"] and body["total"] == 2


# --- creating a store ------------------------------------------------------------------------------

def test_create_tenant_makes_store_and_admin_and_emails_a_set_password_link(app, client, store, sys_headers,
                                                                           mail_outbox):
    response = client.post("/api/sysadmin/tenants", headers=sys_headers, json={
        "slug": "lisbon", "name": "Lisbon Keys", "admin_email": "Owner@Lisbon.example", "plan": "everything",
        "currency": "eur", "locale": "pt-PT", "timezone": "Europe/Lisbon", "custom_domain": "keys.example.org",
        "addons": ["moloni"]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["tenant"]["slug"] == "lisbon" and body["tenant"]["currency"] == "EUR"
    assert body["tenant"]["plan_name"] == "Everything"
    assert body["admin"]["role"] == "ADMIN" and body["admin"]["email"] == "owner@lisbon.example"
    with app.app_context():
        new = db.session.scalar(select(Store).where(Store.slug == "lisbon"))
        assert new.custom_domain == "keys.example.org" and new.settings["locale"] == "pt_PT"
        assert new.settings["timezone"] == "Europe/Lisbon"
        admin = db.session.scalar(select(User).where(User.email == "owner@lisbon.example")
                                  .execution_options(all_stores=True))
        assert admin.store_id == new.id and admin.role == "ADMIN"
    [mail] = [m for m in mail_outbox if "owner@lisbon.example" in m.to]
    assert "set your password" in mail.subject.lower() and "Lisbon Keys" in mail.subject
    token = re.search(r"https?://keys\.example\.org/reset-password/(\S+)", mail.body).group(1)
    shop = "http://keys.example.org"
    reset = client.post("/api/auth/reset-password", json={"token": token, "password": "a-new-owner-pass"},
                        base_url=shop)
    assert reset.status_code == 200, reset.get_json()
    login = client.post("/api/auth/login", json={"email": "owner@lisbon.example", "password": "a-new-owner-pass"},
                        base_url=shop)
    assert login.status_code == 200 and login.get_json()["user"]["role"] == "ADMIN"
    detail = client.get(f"/api/sysadmin/tenants/{new.id}/detail", headers=sys_headers).get_json()
    assert detail["features"] == ["campaigns", "custom_theme", "moloni", "wishlist"]
    assert [a["slug"] for a in detail["addons"]] == ["moloni"] and detail["users_by_role"] == {"ADMIN": 1}


@pytest.mark.parametrize("body,code,status", [
    ({"slug": "main", "name": "Dup", "admin_email": "x@example.com"}, "slug_taken", 409),
    ({"slug": "ok-slug", "name": "X", "admin_email": "not-an-email"}, "validation_error", 422),
    ({"slug": "ok-slug", "name": "X", "admin_email": "x@example.com", "locale": "xx_QQ_zz"}, "validation_error", 422),
    ({"slug": "ok-slug", "name": "X", "admin_email": "x@example.com", "timezone": "Mars/Olympus"}, "validation_error", 422),
    ({"slug": "ok-slug", "name": "X", "admin_email": "x@example.com", "plan": "nope"}, "unknown_plan", 422),
    ({"slug": "ok-slug", "name": "X", "admin_email": "x@example.com", "addons": ["nope"]}, "unknown_addon", 422),
    ({"slug": "ok-slug", "name": "X", "admin_email": "x@example.com", "role": "SYSADMIN"}, "validation_error", 422),
])
def test_create_tenant_refuses_bad_input_and_leaves_nothing_behind(app, client, store, sys_headers, body, code,
                                                                    status):
    response = client.post("/api/sysadmin/tenants", headers=sys_headers, json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Store)) == 1


def test_cli_create_store_uses_the_same_service(app, store):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-store", "cli-shop", "--name", "CLI Shop", "--admin-email",
                                 "cli@example.com", "--locale", "de_DE"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        shop = db.session.scalar(select(Store).where(Store.slug == "cli-shop"))
        admin = db.session.scalar(select(User).where(User.store_id == shop.id).execution_options(all_stores=True))
        assert admin.role == "ADMIN" and shop.settings["locale"] == "de_DE" and shop.plan_id is not None


# --- listing with numbers ------------------------------------------------------------------------

def test_list_stats_search_plan_filter_and_sort(app, client, store, other_store, make, sys_headers):
    with app.app_context(), tenant_scope(store):
        _order(1, total=1000, paid_at=NOW - timedelta(days=1))
        _order(2, total=2500, paid_at=NOW - timedelta(days=2), refunded=500)
        _order(3, total=9900, paid_at=NOW - timedelta(days=40))  # outside 30 days
        _order(4, total=800, paid_at=None)  # unpaid
        _order(5, total=0, paid_at=NOW - timedelta(days=1), gift=True)  # a gift: not a sale
        db.session.add(Product(title="P", slug="p"))
        db.session.commit()
    with app.app_context(), tenant_scope(other_store):
        _order(1, total=5000, paid_at=NOW - timedelta(days=3))
        db.session.commit()
    make.user(store, role="USER")
    make.user(store, role="RESELLER")
    make.user(store, role="STAFF")  # not a customer
    pro = _plan(app, "pro", 2900)
    _put_on(app, other_store, pro)
    body = client.get("/api/sysadmin/tenants?sort_by=revenue&sort_order=desc", headers=sys_headers).get_json()
    stats = {t["slug"]: t["stats"] for t in body["items"]}
    assert stats["main"] == {"days": 30, "orders": 2, "revenue": 30.0, "currency": "EUR", "products": 1,
                             "customers": 2}
    assert stats["other"]["orders"] == 1 and stats["other"]["revenue"] == 50.0
    assert [t["slug"] for t in body["items"]] == ["other", "main"]
    by_orders = client.get("/api/sysadmin/tenants?sort_by=orders&sort_order=desc", headers=sys_headers).get_json()
    assert [t["slug"] for t in by_orders["items"]] == ["main", "other"]
    assert [t["slug"] for t in client.get("/api/sysadmin/tenants?plan=pro", headers=sys_headers)
            .get_json()["items"]] == ["other"]
    assert [t["slug"] for t in client.get("/api/sysadmin/tenants?search=OTHER.EXAMPLE", headers=sys_headers)
            .get_json()["items"]] == ["other"]
    paged = client.get("/api/sysadmin/tenants?page_size=1&page=2&sort_by=name&sort_order=asc",
                       headers=sys_headers).get_json()
    assert [t["slug"] for t in paged["items"]] == ["other"] and paged["pages"] == 2
    assert client.get("/api/sysadmin/tenants?sort_by=nope", headers=sys_headers).status_code == 422
    users = client.get(f"/api/sysadmin/tenants/{store.id}/users", headers=sys_headers).get_json()
    assert users["total"] == 3 and users["items"][0]["role"] == "STAFF"
    assert client.get("/api/sysadmin/tenants/00000000-0000-4000-8000-000000000000",
                      headers=sys_headers).status_code == 404


def test_list_runs_a_constant_number_of_queries(app, store, make):
    from sqlalchemy import event

    for n in range(4):
        make.store(f"many{n}", f"Many {n}")
    counted = []
    with app.app_context():
        engine = db.session.get_bind()

        def count(_conn, _cursor, statement, *_args):
            if statement.lstrip().upper().startswith("SELECT"):
                counted.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            page = tenants.list_tenants(page_size=50)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert page["total"] == 5 and len(counted) == 1


# --- suspend, delete, restore, purge ---------------------------------------------------------------

def test_suspend_then_activate_through_both_spellings(app, client, store, other_store, make, sys_headers):
    shop = "http://other.example.com"
    assert client.get("/api/public/config", base_url=shop).status_code == 200
    for method in ("PUT", "POST"):
        r = client.open(f"/api/sysadmin/tenants/{other_store.id}/suspend", method=method, headers=sys_headers)
        assert r.status_code == 200 and r.get_json()["status"] == "suspended"
        blocked = client.get("/api/public/config", base_url=shop)
        assert blocked.status_code == 503 and blocked.get_json()["error"]["code"] == "store_suspended"
        r = client.open(f"/api/sysadmin/tenants/{other_store.id}/activate", method=method, headers=sys_headers)
        assert r.get_json()["status"] == "active"
        assert client.get("/api/public/config", base_url=shop).status_code == 200
    assert client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"status": "suspended"},
                      headers=sys_headers).get_json()["status"] == "suspended"


def test_soft_delete_hides_the_store_everywhere_and_restore_brings_it_back(app, client, store, other_store,
                                                                          make, sys_headers):
    with app.app_context(), tenant_scope(other_store):
        db.session.add(Product(title="Kept", slug="kept"))
        db.session.commit()
    shop = "http://other.example.com"
    gone = client.delete(f"/api/sysadmin/tenants/{other_store.id}", headers=sys_headers)
    assert gone.status_code == 200 and gone.get_json()["status"] == "deleted" and gone.get_json()["deleted_at"]
    assert client.get("/api/public/config", base_url=shop).status_code == 404
    assert client.get("/", base_url=shop).status_code == 404
    assert client.get(f"/api/plans/tenant/{other_store.id}/features").status_code == 404
    listed = client.get("/api/sysadmin/tenants", headers=sys_headers).get_json()
    assert [t["slug"] for t in listed["items"]] == ["main"]
    assert [t["slug"] for t in client.get("/api/sysadmin/tenants?status=deleted", headers=sys_headers)
            .get_json()["items"]] == ["other"]
    assert client.post(f"/api/sysadmin/tenants/{other_store.id}/activate", headers=sys_headers).status_code == 409
    back = client.post(f"/api/sysadmin/tenants/{other_store.id}/restore", headers=sys_headers)
    assert back.status_code == 200 and back.get_json()["status"] == "suspended" and back.get_json()["deleted_at"] is None
    client.post(f"/api/sysadmin/tenants/{other_store.id}/activate", headers=sys_headers)
    assert client.get("/api/public/config", base_url=shop).status_code == 200
    with app.app_context(), tenant_scope(other_store):
        assert db.session.scalar(select(Product.title)) == "Kept"
    assert client.post(f"/api/sysadmin/tenants/{other_store.id}/restore", headers=sys_headers).status_code == 409


def test_deleting_the_default_store_hands_the_default_on(app, client, store, other_store, sys_headers):
    client.delete(f"/api/sysadmin/tenants/{store.id}", headers=sys_headers)
    with app.app_context():
        assert db.session.get(Store, other_store.id).is_default is True
    assert client.get("/api/public/config").get_json()["store_name"] == "Other Store"


def test_a_stores_images_are_not_served_at_another_stores_address_nor_once_it_is_deleted(
        app, client, store, other_store, sys_headers):
    folder = Path(app.config["UPLOAD_FOLDER"])
    for owner in (store, other_store):
        (folder / owner.id / "products").mkdir(parents=True, exist_ok=True)
        (folder / owner.id / "products" / "p.webp").write_bytes(b"RIFF....WEBP")
    main, other = f"/uploads/{store.id}/products/p.webp", f"/uploads/{other_store.id}/products/p.webp"
    at_other = {"Host": "other.example.com"}  # other_store's custom domain
    assert client.get(other, headers=at_other).status_code == 200  # its own
    assert client.get(main, headers=at_other).status_code == 404  # never another store's
    # the platform's address (the default store's shop, a sysadmin acting as any store): any store's
    assert (client.get(main).status_code, client.get(other).status_code) == (200, 200)
    assert client.get(f"/uploads/{'0' * 8}-0000-4000-8000-{'0' * 12}/products/p.webp").status_code == 404

    assert client.delete(f"/api/sysadmin/tenants/{other_store.id}", headers=sys_headers).status_code in (200, 204)
    assert client.get(other).status_code == 404  # gone from every address, its images too
    assert client.get(other, headers=at_other).status_code == 404
    assert client.get(main).status_code == 200
    assert client.post(f"/api/sysadmin/tenants/{other_store.id}/restore", headers=sys_headers).status_code == 200
    assert client.get(other).status_code == 200  # restored (suspended): its files are there again


def test_purge_removes_stores_past_the_grace_period_with_their_rows_and_uploads(app, client, store, make,
                                                                              sys_headers):
    doomed = make.store("doomed", "Doomed")
    recent = make.store("recent", "Recent")
    make.user(doomed, role="ADMIN")
    with app.app_context(), tenant_scope(doomed):
        db.session.add(Product(title="Gone", slug="gone"))
        _order(1, total=100, paid_at=NOW - timedelta(days=50))
        db.session.commit()
    uploads = Path(app.config["UPLOAD_FOLDER"]) / doomed.id
    (uploads / "products").mkdir(parents=True, exist_ok=True)
    (uploads / "products" / "x.webp").write_bytes(b"x")
    for s in (doomed, recent):
        client.delete(f"/api/sysadmin/tenants/{s.id}", headers=sys_headers)
    with app.app_context():
        db.session.get(Store, doomed.id).deleted_at = NOW - timedelta(days=31)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["purge-stores"])
    assert result.exit_code == 0, result.output
    assert "doomed" in result.output and "recent" not in result.output
    with app.app_context():
        assert db.session.get(Store, doomed.id) is None and db.session.get(Store, recent.id) is not None
        for model in (Product, Order, OrderLine, User):
            left = db.session.scalar(select(func.count()).select_from(model).where(model.store_id == doomed.id)
                                     .execution_options(all_stores=True))
            assert left == 0, model
    assert not uploads.exists()
    shorter = app.test_cli_runner().invoke(args=["purge-stores", "--older-than-days", "0"])
    assert "recent" in shorter.output


# --- the dashboard: MRR and growth against a hand-computed fixture ---------------------------------

def test_dashboard_mrr_growth_counts_and_newest(app, client, store, other_store, make, sys_headers):
    pro = _plan(app, "pro", 2900, features=["campaigns"])
    basic = _plan(app, "basic", 900)
    third = make.store("third", "Third")
    fourth = make.store("fourth", "Fourth", status="suspended")
    _put_on(app, store, pro, addons=["wishlist", "moloni"])  # 29.00 + 3.00 + 12.00
    _put_on(app, other_store, basic, addons=["custom_theme"])  # 9.00 + 5.00
    _put_on(app, third, basic)  # 9.00
    _put_on(app, fourth, pro, addons=["moloni"])  # suspended: not recurring revenue
    # GMV per month: two months back 100.00, last month 150.00 (+50 %), this month 20.00
    first_of_month = NOW.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    last_month = (first_of_month - timedelta(days=1)).replace(day=10)
    two_back = (last_month.replace(day=1) - timedelta(days=1)).replace(day=10)
    with app.app_context(), tenant_scope(store):
        _order(1, total=6000, paid_at=two_back)
        _order(2, total=10000, paid_at=last_month, refunded=2000)
        _order(3, total=2000, paid_at=first_of_month)
        _order(4, total=5000, paid_at=last_month, gift=True)
        db.session.commit()
    with app.app_context(), tenant_scope(other_store):
        _order(1, total=4000, paid_at=two_back)
        _order(2, total=7000, paid_at=last_month)
        db.session.commit()
    body = client.get("/api/sysadmin/dashboard", headers=sys_headers).get_json()
    assert body["mrr"] == [{"currency": "EUR", "plans": 47.0, "addons": 20.0, "total": 67.0}]
    [eur] = body["revenue"]
    points = {p["month"]: p for p in eur["points"]}
    assert points[two_back.strftime("%Y-%m")]["gmv"] == 100.0
    assert points[last_month.strftime("%Y-%m")]["gmv"] == 150.0
    assert points[last_month.strftime("%Y-%m")]["change_pct"] == 50.0
    assert points[first_of_month.strftime("%Y-%m")]["orders"] == 1
    assert eur["growth_pct"] == 50.0 and eur["this_month_gmv"] == 20.0 and len(eur["points"]) == 12
    assert body["stores"]["by_status"] == {"active": 3, "suspended": 1, "deleted": 0}
    assert {p["slug"]: p["stores"] for p in body["stores"]["by_plan"]} == {"pro": 2, "basic": 2}
    assert body["newest_stores"][0]["slug"] == "fourth" and body["newest_stores"][0]["plan_name"]


# --- plans, addons, features, gates and limits -----------------------------------------------------

def test_public_plans_addons_and_a_tenants_features_leak_nothing_private(app, client, store):
    _plan(app, "starter", 1500, features=["wishlist"], max_products=100)
    plans = client.get("/api/plans").get_json()
    assert [p["slug"] for p in plans["items"]] == ["starter"]  # "everything" is not offered
    assert plans["items"][0]["monthly_price"] == 15.0 and plans["items"][0]["max_products"] == 100
    addons = client.get("/api/plans/addons").get_json()
    assert {a["slug"] for a in addons["items"]} == {"wishlist", "campaigns", "moloni", "custom_theme"}
    features = client.get(f"/api/plans/tenant/{store.id}/features").get_json()
    assert features == {"tenant_id": store.id, "plan": "everything",
                        "features": ["campaigns", "custom_theme", "moloni", "wishlist"]}
    assert client.get("/api/plans/tenant/nope/features").status_code == 404


def test_campaigns_are_gated_by_their_addon_in_the_api_and_the_pages(app, client, store, make, sys_headers):
    admin = make.user(store, role="ADMIN")
    headers = make.headers(admin, store)
    assert client.get("/api/admin/campaigns", headers=headers).status_code == 200
    _put_on(app, store, _plan(app, "lite", 500, features=["wishlist"]))
    refused = client.get("/api/admin/campaigns", headers=headers)
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "feature_not_enabled" and error["details"]["feature"] == "campaigns"
    assert "Email campaigns" in error["message"]
    assert client.get("/api/admin/campaigns").status_code == 401  # the role check comes first
    login(client, admin.email)
    page = client.get("/admin/campaigns")
    assert page.status_code == 403 and "not part of your plan" in page.get_data(as_text=True)
    client.put(f"/api/sysadmin/tenants/{store.id}", json={"addons": ["campaigns"]}, headers=sys_headers)
    assert client.get("/api/admin/campaigns", headers=headers).status_code == 200
    assert client.get("/admin/campaigns").status_code == 200


def test_the_dashboard_menu_links_only_what_the_plan_includes(app, client, store, make, sys_headers):
    login(client, make.user(store, role="ADMIN").email)

    def links() -> set[str]:
        page = client.get("/admin/")
        assert page.status_code == 200
        return set(re.findall(r'href="/admin/(campaigns|integrations)"', page.get_data(as_text=True)))

    assert links() == {"campaigns", "integrations"}  # the plan "Everything"
    _put_on(app, store, _plan(app, "lite", 500, features=["wishlist"]))
    assert links() == set()
    client.put(f"/api/sysadmin/tenants/{store.id}", json={"addons": ["campaigns"]}, headers=sys_headers)
    assert links() == {"campaigns"} and client.get("/admin/campaigns").status_code == 200
    client.put(f"/api/sysadmin/tenants/{store.id}", json={"addons": ["moloni"]}, headers=sys_headers)
    assert links() == {"integrations"} and client.get("/admin/campaigns").status_code == 403


def test_plan_limits_products_staff_and_custom_domain(app, client, store, make, sys_headers):
    admin = make.user(store, role="ADMIN")
    headers = make.headers(admin, store)
    _put_on(app, store, _plan(app, "tiny", 100, max_products=2, max_staff=2, domain=False))
    for n in range(2):
        assert client.post("/api/products", json={"title": f"P{n}"}, headers=headers).status_code == 201
    third = client.post("/api/products", json={"title": "P3"}, headers=headers)
    assert third.status_code == 403 and third.get_json()["error"]["code"] == "plan_limit_reached"
    assert "allows 2 products" in third.get_json()["error"]["message"]
    staff = client.post("/api/admin/users", json={"username": "staffer", "email": "s@example.com",
                                                  "password": "long-enough-pw", "role": "STAFF"}, headers=headers)
    assert staff.status_code == 201, staff.get_json()
    over = client.post("/api/admin/users", json={"username": "staffer2", "email": "s2@example.com",
                                                 "password": "long-enough-pw", "role": "MANAGER"}, headers=headers)
    assert over.status_code == 403 and over.get_json()["error"]["code"] == "plan_limit_reached"
    # a disabled staff account frees its seat; enabling it again needs a free one
    staffer = staff.get_json()["id"]
    assert client.put(f"/api/customers/{staffer}", json={"is_active": False}, headers=headers).status_code == 200
    second = client.post("/api/admin/users", json={"username": "staffer2", "email": "s2@example.com",
                                                   "password": "long-enough-pw", "role": "MANAGER"}, headers=headers)
    assert second.status_code == 201, second.get_json()
    back = client.put(f"/api/customers/{staffer}", json={"is_active": True}, headers=headers)
    assert back.status_code == 403 and back.get_json()["error"]["code"] == "plan_limit_reached"
    with app.app_context(), tenant_scope(store):
        assert db.session.get(User, staffer).is_active is False
    customer = client.post("/api/admin/users", json={"username": "buyer", "email": "b@example.com",
                                                     "password": "long-enough-pw", "role": "USER"}, headers=headers)
    assert customer.status_code == 201
    domain = client.put(f"/api/sysadmin/tenants/{store.id}", json={"custom_domain": "shop.example.net"},
                        headers=sys_headers)
    assert domain.status_code == 403 and domain.get_json()["error"]["code"] == "plan_limit_reached"


def test_sysadmin_manages_plans_and_addons(app, client, store, sys_headers):
    made = client.post("/api/sysadmin/plans", headers=sys_headers, json={
        "slug": "growth", "name": "Growth", "monthly_price": 49.5, "max_products": 500, "features": ["campaigns"]})
    assert made.status_code == 201 and made.get_json()["monthly_price"] == 49.5
    with app.app_context():
        assert db.session.scalar(select(Plan.monthly_price).where(Plan.slug == "growth")) == 4950
    assert client.post("/api/sysadmin/plans", headers=sys_headers, json={
        "slug": "growth", "name": "Again", "monthly_price": 1}).status_code == 409
    assert client.post("/api/sysadmin/plans", headers=sys_headers, json={
        "slug": "bad", "name": "Bad", "monthly_price": 1, "features": ["teleport"]}).status_code == 422
    changed = client.put(f"/api/sysadmin/plans/{made.get_json()['id']}", headers=sys_headers,
                         json={"max_products": None})
    assert changed.get_json()["max_products"] is None


def test_a_custom_look_is_the_custom_theme_addon_in_the_api_and_the_page(app, client, store, make, sys_headers):
    """Without ``custom_theme`` a store picks any theme, logo and tagline, but colours or a font of
    its own are refused with the gate's 403, and the Appearance page says why instead of failing."""
    admin = make.user(store, role="ADMIN")
    headers = make.headers(admin, store)
    _put_on(app, store, _plan(app, "lite", 500, features=["wishlist"]))
    refused = client.put("/api/branding", headers=headers, json={"colors": {"primary": "#0f766e"}})
    assert refused.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "feature_not_enabled" and error["details"]["feature"] == "custom_theme"
    assert "Custom branding" in error["message"]
    for other in (client.put("/api/tenants/current/branding", headers=headers, json={"font_family": "Georgia, serif"}),
                  client.put("/api/tenant/settings", headers=headers, json={"branding": {"text_color": "#111111"}})):
        assert other.status_code == 403 and other.get_json()["error"]["code"] == "feature_not_enabled"
    assert client.put("/api/branding", headers=headers, json={"tagline": "Keys in seconds"}).status_code == 200
    themed = client.put("/api/tenants/current/template", headers=headers, json={"slug": "arcade"})
    assert themed.status_code == 200, themed.get_json()
    body = client.get("/api/branding", headers=headers).get_json()
    assert body["theme"] == "arcade" and body["tagline"] == "Keys in seconds" and body["colors"]["primary"] != "#4f46e5"
    # going back to a theme's own colour is not a custom look
    same = client.put("/api/branding", headers=headers, json={"colors": {"primary": body["colors"]["primary"]}})
    assert same.status_code == 200
    # nor is keeping the colours when they are the new theme's; arcade's on minimal's layout is
    kept = client.put("/api/tenants/current/template", headers=headers, json={"slug": "minimal", "keep_colors": True})
    assert kept.status_code == 403 and kept.get_json()["error"]["details"]["feature"] == "custom_theme"
    assert client.get("/api/branding", headers=headers).get_json()["theme"] == "arcade"

    login(client, admin.email)
    page = client.get("/admin/appearance")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Custom branding" in text and 'data-testid="custom-look-hint"' in text
    assert 'name="primary_color"' in text and "readonly" in text
    token = csrf(page.data)
    posted = client.post("/admin/appearance/branding", data={
        "csrf_token": token, "name": "Neon Keys", "tagline": "Keys in seconds", "primary_color": "#0f766e",
        "accent_color": body["colors"]["accent"], "background_color": body["colors"]["background"],
        "text_color": body["colors"]["text"], "font_family": body["font"]})
    assert posted.status_code == 403 and "Custom branding is not part of this store&#39;s plan" in posted.get_data(as_text=True)
    assert client.get("/api/branding", headers=headers).get_json()["colors"]["primary"] == body["colors"]["primary"]

    client.put(f"/api/sysadmin/tenants/{store.id}", json={"addons": ["custom_theme"]}, headers=sys_headers)
    assert client.put("/api/branding", headers=headers, json={"colors": {"primary": "#0f766e"}}).status_code == 200
    assert 'data-testid="custom-look-hint"' not in client.get("/admin/appearance").get_data(as_text=True)


# --- one change checked as a whole; what is on offer; prices and currencies ------------------------

def test_a_store_moves_to_a_plan_without_domains_and_drops_its_domain_in_one_change(app, client, other_store,
                                                                                    sys_headers):
    small = _plan(app, "small", 900, domain=False)
    kept = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"plan": "small"}, headers=sys_headers)
    assert kept.status_code == 422 and "remove the store's domain first" in kept.get_json()["error"]["message"]
    moved = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"custom_domain": None, "plan": "small"},
                       headers=sys_headers)
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["custom_domain"], moved.get_json()["plan_id"]) == (None, small)
    # adding a domain on a plan without domains is still refused, in the same change as the plan or not
    for body in ({"custom_domain": "shop.example.net", "plan": "small"}, {"custom_domain": "shop.example.net"}):
        refused = client.put(f"/api/sysadmin/tenants/{other_store.id}", json=body, headers=sys_headers)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "plan_limit_reached"
    with app.app_context():
        assert db.session.get(Store, other_store.id).custom_domain is None
    # and a move up with a domain in the same change is one change too
    back = client.put(f"/api/sysadmin/tenants/{other_store.id}",
                      json={"custom_domain": "shop.example.net", "plan": "everything"}, headers=sys_headers)
    assert back.status_code == 200 and back.get_json()["custom_domain"] == "shop.example.net"


def test_new_stores_moves_and_addons_take_only_what_is_offered(app, client, store, other_store, sys_headers):
    small = _plan(app, "small", 900)
    with app.app_context():
        wishlist = db.session.scalar(select(Addon.id).where(Addon.slug == "wishlist"))
    _put_on(app, store, small, addons=["wishlist"])  # on them before they were withdrawn
    assert client.put(f"/api/sysadmin/plans/{small}", json={"is_active": False}, headers=sys_headers).status_code == 200
    assert client.put(f"/api/sysadmin/addons/{wishlist}", json={"is_active": False},
                      headers=sys_headers).status_code == 200
    new = {"slug": "late", "name": "Late", "admin_email": "late@example.com"}
    for body, code, field in (({**new, "plan": "small"}, "plan_not_offered", "plan"),
                              ({**new, "addons": ["wishlist"]}, "addon_not_offered", "addons")):
        refused = client.post("/api/sysadmin/tenants", json=body, headers=sys_headers)
        assert refused.status_code == 422, refused.get_json()
        error = refused.get_json()["error"]
        assert error["code"] == code and field in error["details"] and "not offered" in error["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Store)) == 2
    moved = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"plan": "small"}, headers=sys_headers)
    assert moved.status_code == 422 and moved.get_json()["error"]["code"] == "plan_not_offered"
    added = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"addons": ["wishlist"]}, headers=sys_headers)
    assert added.status_code == 422 and added.get_json()["error"]["code"] == "addon_not_offered"
    # a store on them keeps them, and its other settings still change
    renamed = client.put(f"/api/sysadmin/tenants/{store.id}",
                         json={"name": "Renamed", "plan": "small", "addons": ["wishlist", "moloni"]}, headers=sys_headers)
    assert renamed.status_code == 200 and renamed.get_json()["plan_id"] == small, renamed.get_json()
    detail = client.get(f"/api/sysadmin/tenants/{store.id}/detail", headers=sys_headers).get_json()
    assert [a["slug"] for a in detail["addons"]] == ["moloni", "wishlist"]
    # the default plan is never on sale and always allowed: a store created without a choice gets it
    made = client.post("/api/sysadmin/tenants", json={**new, "plan": "everything"}, headers=sys_headers)
    assert made.status_code == 201 and made.get_json()["tenant"]["plan_name"] == "Everything"


@pytest.mark.parametrize("path,body", [
    ("/api/sysadmin/plans", {"slug": "zplan", "name": "Z", "monthly_price": 10}),
    ("/api/sysadmin/addons", {"slug": "zaddon", "name": "Z", "monthly_price": 10}),
])
def test_a_plan_or_addon_currency_is_an_iso_4217_code(app, client, store, sys_headers, path, body):
    refused = client.post(path, json={**body, "currency": "ZZZ"}, headers=sys_headers)
    assert refused.status_code == 422, refused.get_json()
    assert "currency" in refused.get_json()["error"]["details"] and "ISO 4217" in refused.get_json()["error"]["message"]
    made = client.post(path, json={**body, "currency": "usd"}, headers=sys_headers)
    assert made.status_code == 201 and made.get_json()["currency"] == "USD"
    changed = client.put(f"{path}/{made.get_json()['id']}", json={"currency": "ZZZ"}, headers=sys_headers)
    assert changed.status_code == 422 and "currency" in changed.get_json()["error"]["details"]
    with app.app_context():
        model = Plan if "plans" in path else Addon
        assert db.session.scalar(select(model.currency).where(model.id == made.get_json()["id"])) == "USD"


def test_a_store_currency_is_an_iso_4217_code(app, client, store, other_store, sys_headers):
    body = {"slug": "zzz-shop", "name": "Z", "admin_email": "z@example.com", "currency": "ZZZ"}
    refused = client.post("/api/sysadmin/tenants", json=body, headers=sys_headers)
    assert refused.status_code == 422 and "currency" in refused.get_json()["error"]["details"]
    changed = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"currency": "ZZZ"}, headers=sys_headers)
    assert changed.status_code == 422 and "currency" in changed.get_json()["error"]["details"]
    ok = client.put(f"/api/sysadmin/tenants/{other_store.id}", json={"currency": "gbp"}, headers=sys_headers)
    assert ok.status_code == 200 and ok.get_json()["currency"] == "GBP"


def test_a_price_change_is_in_the_plans_own_currency_when_none_is_sent(app, client, store, sys_headers):
    made = client.post("/api/sysadmin/plans", headers=sys_headers, json={
        "slug": "tokyo", "name": "Tokyo", "monthly_price": 1500, "currency": "JPY"})
    assert made.status_code == 201 and made.get_json()["monthly_price"] == 1500
    plan_id = made.get_json()["id"]
    changed = client.put(f"/api/sysadmin/plans/{plan_id}", headers=sys_headers, json={"monthly_price": 2000})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["monthly_price"], changed.get_json()["currency"]) == (2000, "JPY")
    with app.app_context():
        assert db.session.scalar(select(Plan.monthly_price).where(Plan.id == plan_id)) == 2000  # whole yen
    assert client.put(f"/api/sysadmin/plans/{plan_id}", headers=sys_headers,
                      json={"monthly_price": 2500, "currency": None}).get_json()["currency"] == "JPY"
    addon = client.post("/api/sysadmin/addons", headers=sys_headers, json={
        "slug": "yen-extra", "name": "Yen extra", "monthly_price": 300, "currency": "JPY"}).get_json()
    moved = client.put(f"/api/sysadmin/addons/{addon['id']}", headers=sys_headers, json={"monthly_price": 400})
    assert (moved.get_json()["monthly_price"], moved.get_json()["currency"]) == (400, "JPY")
