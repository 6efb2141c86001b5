"""The sysadmin area's pages: SYSADMIN only; create a store; act as a store; suspended admins see why."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Plan, Store
from tests.web.test_auth_pages import csrf, login


def _pages(app, store_id, plan_id, addon_id):
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("sysadmin.") and "GET" in rule.methods and "<job_id>" not in rule.rule:
            url = rule.rule.replace("<store_id>", store_id).replace("<plan_id>", plan_id)
            urls.append(url.replace("<addon_id>", addon_id))
    return urls


def _posts(app, store_id):
    return [rule.rule.replace("<store_id>", store_id).replace("<action>", "suspend").replace("<queue>", "emails")
            .replace("<job_id>", "x") for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("sysadmin.") and "POST" in rule.methods and "GET" not in rule.methods]


def test_every_sysadmin_page_is_for_sysadmins_only(app, client, store, other_store, make):
    with app.app_context():
        plan_id = db.session.scalar(select(Plan.id).where(Plan.slug == "everything"))
        from models import Addon

        addon_id = db.session.scalar(select(Addon.id))
    pages = _pages(app, other_store.id, plan_id, addon_id)
    assert len(pages) == 12, pages  # (the platform audit log is the 11th, migrations the 12th)
    for url in pages:
        assert client.get(url).status_code == 302, url  # anonymous: to the sign-in page
    for role in ("ADMIN", "MANAGER"):
        user = make.user(store, role=role)
        login(client, user.email)
        for url in pages + _posts(app, other_store.id):
            method = client.get if url in pages else client.post
            assert method(url).status_code in (400, 403), url  # (a POST without CSRF token is 400 first)
        for url in _posts(app, other_store.id):
            token = csrf(client.get("/account").data)
            assert client.post(url, data={"csrf_token": token}).status_code == 403, url
        client.post("/logout", data={"csrf_token": csrf(client.get("/account").data)})
    root = make.user(None, role="SYSADMIN")
    login(client, root.email)
    for url in pages:
        assert client.get(url).status_code == 200, url
    with app.app_context():
        assert db.session.get(Store, other_store.id).status == "active"  # nobody weaker suspended it


def test_sysadmin_lands_on_the_platform_and_creates_a_store(app, client, store, make, mail_outbox):
    root = make.user(None, role="SYSADMIN")
    signed_in = login(client, root.email)
    assert signed_in.headers["Location"].endswith("/sysadmin/")
    assert client.get("/admin/").headers["Location"].endswith("/sysadmin/")
    page = client.get("/sysadmin/stores/new")
    made = client.post("/sysadmin/stores/new", data={
        "csrf_token": csrf(page.data), "name": "Porto Codes", "slug": "porto", "admin_email": "ana@porto.example",
        "plan": "everything", "currency": "EUR", "locale": "pt_PT", "timezone": "Europe/Lisbon"})
    assert made.status_code == 302, made.get_data(as_text=True)
    detail = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Porto Codes" in detail and "ana@porto.example" in detail
    assert any("ana@porto.example" in m.to for m in mail_outbox)
    taken = client.post("/sysadmin/stores/new", data={
        "csrf_token": csrf(page.data), "name": "Again", "slug": "porto", "admin_email": "b@porto.example",
        "plan": "everything", "currency": "EUR", "locale": "en", "timezone": "UTC"})
    assert taken.status_code == 409 or taken.status_code == 422
    assert "already exists" in taken.get_data(as_text=True)
    dashboard = client.get("/sysadmin/").get_data(as_text=True)
    assert "Porto Codes" in dashboard


def test_act_as_store_binds_it_for_the_sysadmins_session_only(app, client, store, other_store, make):
    root = make.user(None, role="SYSADMIN")
    login(client, root.email)
    page = client.get(f"/sysadmin/stores/{other_store.id}")
    acting = client.post(f"/sysadmin/stores/{other_store.id}/act-as", data={"csrf_token": csrf(page.data)})
    assert acting.headers["Location"].endswith("/admin/")
    overview = client.get("/admin/").get_data(as_text=True)
    assert "Acting as <strong>Other Store</strong>" in overview
    with app.app_context():  # the platform log records it
        from sqlalchemy import select

        from models import AuditEntry
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "act_as_store")
                                  .execution_options(all_stores=True))
        assert entry.store_id is None and entry.target_store_id == other_store.id and entry.actor_id == root.id
    log = client.get("/sysadmin/audit-log").get_data(as_text=True)
    assert "act_as_store" in log and 'data-testid="audit-row"' in log
    # the shop on the platform host is still the default store: only the dashboard is bound
    assert "Main Store" in client.get("/").get_data(as_text=True)
    client.post("/sysadmin/act-as/stop", data={"csrf_token": csrf(page.data)})
    assert client.get("/admin/").headers["Location"].endswith("/sysadmin/")
    # a forged marker binds nothing
    with client.session_transaction() as s:
        s["act_as"] = "forged.marker"
    assert client.get("/admin/").status_code == 302


def test_a_suspended_stores_admin_sees_why_when_signing_in(app, client, store, make):
    admin = make.user(store, role="ADMIN")
    make.set_status(store, "suspended")
    assert client.get("/").status_code == 503
    signed_in = login(client, admin.email)
    assert signed_in.status_code == 302
    page = client.get(signed_in.headers["Location"])
    assert page.status_code == 503 and "is suspended" in page.get_data(as_text=True)
    assert "Main Store is suspended" in client.get("/admin/products").get_data(as_text=True)


def test_page_buttons_suspend_delete_restore_and_plan_forms(app, client, store, other_store, make):
    root = make.user(None, role="SYSADMIN")
    login(client, root.email)
    token = csrf(client.get(f"/sysadmin/stores/{other_store.id}").data)
    for action, status in (("suspend", "suspended"), ("activate", "active"), ("delete", "deleted"),
                           ("restore", "suspended")):
        client.post(f"/sysadmin/stores/{other_store.id}/{action}", data={"csrf_token": token})
        with app.app_context():
            assert db.session.get(Store, other_store.id).status == status, action
    made = client.post("/sysadmin/plans/new", data={
        "csrf_token": token, "slug": "starter", "name": "Starter", "monthly_price": "19.90", "currency": "EUR",
        "max_products": "100", "features": ["wishlist"], "custom_domain_allowed": "y", "is_active": "y"})
    assert made.status_code == 302
    with app.app_context():
        plan = db.session.scalar(select(Plan).where(Plan.slug == "starter"))
        assert (plan.monthly_price, plan.max_products, plan.max_staff, plan.features) == (1990, 100, None, ["wishlist"])
    bad = client.post("/sysadmin/plans/new", data={"csrf_token": token, "slug": "starter", "name": "Again",
                                                   "monthly_price": "abc", "currency": "EUR"})
    assert bad.status_code == 422 and "A price such as 29" in bad.get_data(as_text=True)
    listed = client.get("/sysadmin/plans").get_data(as_text=True)
    assert "Starter" in listed and "€19.90" in listed
