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



def test_the_new_admins_emailed_link_reaches_the_store_on_the_platforms_port(app, client, store, make,
                                                                              mail_outbox, monkeypatch):
    """A store on a subdomain of PLATFORM_DOMAIN is served where the platform is: the welcome link
    keeps PUBLIC_BASE_URL's port (scripts/run serves on :5000; a link without it leads nowhere)."""
    import re

    monkeypatch.setitem(app.config, "PLATFORM_DOMAIN", "localhost")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "http://127.0.0.1:5103")
    login(client, make.user(None, role="SYSADMIN").email)
    page = client.get("/sysadmin/stores/new")
    made = client.post("/sysadmin/stores/new", data={
        "csrf_token": csrf(page.data), "name": "Porto Codes", "slug": "porto", "admin_email": "ana@porto.example",
        "plan": "everything", "currency": "EUR", "locale": "en", "timezone": "UTC"})
    assert made.status_code == 302, made.get_data(as_text=True)
    [welcome] = [m for m in mail_outbox if "ana@porto.example" in m.to]
    link = re.search(r"(\S+)/reset-password/(\S+)", welcome.body)
    assert link.group(1) == "http://porto.localhost:5103", welcome.body
    assert "http://porto.localhost:5103/admin/" in welcome.body
    opened = client.get(f"/reset-password/{link.group(2)}", headers={"Host": "porto.localhost:5103"})
    assert opened.status_code == 200 and 'name="password"' in opened.get_data(as_text=True)

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


def test_a_stores_page_links_its_shop_and_view_shop_while_acting_opens_it(app, client, store, other_store, make):
    """The platform host's shop is the default store: "View shop" on another store's dashboard
    must lead to that store's address, not to the default store's shop."""
    root = make.user(None, role="SYSADMIN")
    login(client, root.email)
    page = client.get(f"/sysadmin/stores/{other_store.id}")
    assert '://other.example.com/" data-testid="shop-address"' in page.get_data(as_text=True)  # its address
    client.post(f"/sysadmin/stores/{other_store.id}/act-as", data={"csrf_token": csrf(page.data)})
    for url in ("/admin/", "/admin/appearance"):
        html = client.get(url).get_data(as_text=True)
        assert "Acting as <strong>Other Store</strong>" in html
        assert '://other.example.com/">View' in html, url
        assert 'href="/">View' not in html, url
    client.post("/sysadmin/act-as/stop", data={"csrf_token": csrf(page.data)})
    admin = make.user(store, role="ADMIN")  # a store's own admin: the shop of the host they are on
    client.post("/logout", data={"csrf_token": csrf(client.get("/account").data)})
    login(client, admin.email)
    assert 'href="/">View shop' in client.get("/admin/").get_data(as_text=True)


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


def _plan_row(app, slug, *, domain=True, active=True, price=900):
    with app.app_context():
        plan = Plan(slug=slug, name=slug.title(), monthly_price=price, currency="EUR", custom_domain_allowed=domain,
                    features=[], is_active=active)
        db.session.add(plan)
        db.session.commit()
        return plan.id


def _field_error(html: str, field: str) -> str:
    import re

    found = re.search(rf'id="{field}-err">([^<]*)<', html)
    return found.group(1) if found else ""


def test_one_save_moves_a_store_down_and_drops_its_domain(app, client, store, other_store, make):
    small = _plan_row(app, "small", domain=False)
    login(client, make.user(None, role="SYSADMIN").email)
    page = client.get(f"/sysadmin/stores/{other_store.id}")
    form = {"csrf_token": csrf(page.data), "name": "Other Store", "plan": "small"}
    kept = client.post(f"/sysadmin/stores/{other_store.id}", data={**form, "custom_domain": "other.example.com"})
    assert kept.status_code == 422 and "remove the store&#39;s domain first" in kept.get_data(as_text=True)
    saved = client.post(f"/sysadmin/stores/{other_store.id}", data={**form, "custom_domain": ""})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Store, other_store.id)
        assert (row.custom_domain, row.plan_id) == (None, small)
    added = client.post(f"/sysadmin/stores/{other_store.id}", data={**form, "custom_domain": "new.example.net"})
    assert added.status_code == 422 and "does not include a custom domain" in added.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Store, other_store.id).custom_domain is None


def test_only_offered_plans_and_addons_are_listed_for_new_stores_and_a_store_keeps_a_withdrawn_one(
        app, client, store, other_store, make):
    from models import Addon

    _plan_row(app, "small", active=False)
    with app.app_context():
        db.session.get(Store, other_store.id).plan_id = db.session.scalar(select(Plan.id).where(Plan.slug == "small"))
        db.session.scalar(select(Addon).where(Addon.slug == "moloni")).is_active = False
        db.session.commit()
    login(client, make.user(None, role="SYSADMIN").email)
    page = client.get("/sysadmin/stores/new")
    html = page.get_data(as_text=True)
    assert 'value="small"' not in html and 'value="moloni"' not in html
    assert 'value="everything"' in html and 'value="wishlist"' in html
    new = {"csrf_token": csrf(page.data), "name": "Late", "slug": "late", "admin_email": "late@example.com",
           "currency": "EUR", "locale": "en", "timezone": "UTC"}
    for extra in ({"plan": "small"}, {"plan": "everything", "addons": ["moloni"]}):
        refused = client.post("/sysadmin/stores/new", data={**new, **extra})
        assert refused.status_code == 422, extra
    with app.app_context():
        assert db.session.scalar(select(Store.id).where(Store.slug == "late")) is None
    # a store on the withdrawn plan keeps it: its form lists it, and other changes save
    detail = client.get(f"/sysadmin/stores/{other_store.id}")
    assert '<option selected value="small">' in detail.get_data(as_text=True)
    saved = client.post(f"/sysadmin/stores/{other_store.id}", data={
        "csrf_token": csrf(detail.data), "name": "Other Renamed", "custom_domain": "other.example.com",
        "plan": "small"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Store, other_store.id)
        assert row.name == "Other Renamed" and row.plan_id == db.session.scalar(select(Plan.id).where(Plan.slug == "small"))
    # a store not on it cannot move to it
    moved = client.post(f"/sysadmin/stores/{store.id}", data={"csrf_token": csrf(detail.data), "name": "Main Store",
                                                               "plan": "small"})
    assert moved.status_code == 422


def test_a_huge_plan_or_addon_price_is_refused_next_to_the_field(app, client, store, make):
    login(client, make.user(None, role="SYSADMIN").email)
    token = csrf(client.get("/sysadmin/plans/new").data)
    for price in ("99999999999999999999", "9e99999", "-5"):
        for url, slug in (("/sysadmin/plans/new", "huge-plan"), ("/sysadmin/addons/new", "huge-addon")):
            refused = client.post(url, data={"csrf_token": token, "slug": slug, "name": "Huge", "monthly_price": price,
                                             "currency": "EUR", "is_active": "y"})
            assert refused.status_code == 422, (url, price)
            expected = "monthly_price cannot be negative" if price == "-5" else "monthly_price is too large"
            assert _field_error(refused.get_data(as_text=True), "monthly_price") == expected, (url, price)
    # the API says the same
    api = client.post("/api/sysadmin/plans", headers=make.headers(make.user(None, role="SYSADMIN"), store),
                      json={"slug": "huge-plan", "name": "Huge", "monthly_price": 99999999999999999999})
    assert api.status_code == 422 and api.get_json()["error"]["message"] == "monthly_price is too large"
    with app.app_context():
        assert db.session.scalar(select(Plan.id).where(Plan.slug == "huge-plan")) is None


def test_a_plan_or_addon_currency_must_be_a_real_one(app, client, store, make):
    from models import Addon

    login(client, make.user(None, role="SYSADMIN").email)
    token = csrf(client.get("/sysadmin/plans/new").data)
    for url, slug in (("/sysadmin/plans/new", "zplan"), ("/sysadmin/addons/new", "zaddon")):
        refused = client.post(url, data={"csrf_token": token, "slug": slug, "name": "Z", "monthly_price": "10",
                                         "currency": "ZZZ", "is_active": "y"})
        assert refused.status_code == 422, url
        assert "ISO 4217" in _field_error(refused.get_data(as_text=True), "currency"), url
    with app.app_context():
        assert db.session.scalar(select(Plan.id).where(Plan.slug == "zplan")) is None
        assert db.session.scalar(select(Addon.id).where(Addon.slug == "zaddon")) is None
    made = client.post("/sysadmin/plans/new", data={"csrf_token": token, "slug": "uplan", "name": "U",
                                                    "monthly_price": "10", "currency": "usd", "is_active": "y"})
    assert made.status_code == 302
    assert "$10.00" in client.get("/sysadmin/plans").get_data(as_text=True)


def test_the_store_list_puts_the_address_under_the_name(app, client, store, other_store, make):
    login(client, make.user(None, role="SYSADMIN").email)
    html = client.get("/sysadmin/stores").get_data(as_text=True)
    assert 'Other Store</a><br><small class="muted">other.example.com</small>' in html
    assert 'Main Store</a><br><small class="muted">main</small>' in html


def test_plans_and_addons_are_listed_by_currency_then_price(app, client, store, make):
    """A price is only cheaper than another in the same currency: the table groups each currency's
    plans (and addons), cheapest first, instead of putting 9 USD between 5 EUR and 10 EUR."""
    import re

    from models import Addon

    with app.app_context():
        for slug, price, currency in (("eur-ten", 1000, "EUR"), ("usd-nine", 900, "USD"), ("eur-five", 500, "EUR"),
                                      ("gbp-seven", 700, "GBP"), ("usd-twenty", 2000, "USD")):
            db.session.add(Plan(slug=slug, name=slug.title(), monthly_price=price, currency=currency, features=[],
                                is_active=True))
            db.session.add(Addon(slug=f"{slug}-addon", name=f"{slug.title()} Addon", monthly_price=price,
                                 currency=currency, is_active=True))
        db.session.commit()
    root = make.user(None, role="SYSADMIN")
    login(client, root.email)
    html = client.get("/sysadmin/plans").get_data(as_text=True)
    mine = ("Eur-Five", "Eur-Ten", "Gbp-Seven", "Usd-Nine", "Usd-Twenty")
    plans = [name for name in re.findall(r'data-testid="plan-row">\s*<td><a href="[^"]+">([^<]+)</a>', html)
             if name in mine]
    addons = [name.removesuffix(" Addon") for name in
              re.findall(r'data-testid="addon-row"><td><a href="[^"]+">([^<]+)</a>', html) if name.endswith(" Addon")]
    assert plans == list(mine)
    assert addons == list(mine)
    # the API lists them in the same order
    listed = client.get("/api/sysadmin/plans", headers=make.headers(root, store)).get_json()["items"]
    assert [p["name"] for p in listed if p["name"] in mine] == list(mine)


def test_every_stores_log_names_the_store_of_each_entry_in_one_query_whatever_the_rows(
        app, client, store, other_store, make):
    """``scope=all``: a Store column names the store each entry is about and links to its page
    (the platform's own entries about no store say so; a purged store's id stays); the names come
    with the entries, so more rows cost no more statements."""
    import re

    from services import audit
    from services import coupons as coupon_service
    from tenancy import platform_scope, tenant_scope
    from tests.statements import statements_of

    def coupons(where, count, start=0):
        admin = make.user(where, role="ADMIN")
        with app.app_context(), tenant_scope(where), audit.acting(audit.actor_of(admin)):
            for n in range(start, start + count):
                coupon_service.create_coupon({"code": f"{where.slug.upper()}{n}", "kind": "fixed", "value": 100})
            db.session.commit()

    root = make.user(None, role="SYSADMIN")
    coupons(store, 1)
    coupons(other_store, 1)
    with app.app_context(), platform_scope(), audit.acting(audit.actor_of(root)):
        audit.record("plan.note", "plan", "p1", {"note": "about no store"}, store_id=None, platform=True)
        audit.record("tenant.purge", "store", "gone", {}, store_id="0f0f0f0f-0000-4000-8000-000000000000", platform=True)
        db.session.commit()
    login(client, root.email)

    status, few = statements_of(app, client, "/sysadmin/audit-log?scope=all")
    assert status == 200
    html = client.get("/sysadmin/audit-log?scope=all").get_data(as_text=True)
    assert '<th scope="col">Store</th>' in html
    cells = re.findall(r'<td data-testid="audit-store">(.*?)</td>', html, re.S)
    assert len(cells) == html.count('data-testid="audit-row"') == 4
    assert f'<a href="/sysadmin/stores/{store.id}">Main Store</a>' in cells
    assert f'<a href="/sysadmin/stores/{other_store.id}">Other Store</a>' in cells
    assert any("The platform" in cell for cell in cells)
    assert any("A purged store" in cell and "0f0f0f0f-0000-4000-8000-000000000000" in cell for cell in cells)
    # the platform's own log has no such column (all its entries are the platform's)
    assert '<th scope="col">Store</th>' not in client.get("/sysadmin/audit-log").get_data(as_text=True)

    third = make.store("third", "Third Store", domain="third.example.com")
    coupons(store, 5, start=1)
    coupons(other_store, 5, start=1)
    coupons(third, 5)
    status, many = statements_of(app, client, "/sysadmin/audit-log?scope=all")
    assert status == 200
    assert client.get("/sysadmin/audit-log?scope=all").get_data(as_text=True).count('data-testid="audit-row"') > 15
    assert len(many) == len(few), many


def test_the_platform_logs_pager_swaps_the_next_page_into_its_table(app, client, store, make):
    """More than a page of entries: the pager's "Next" asks htmx for ``#audit-table``, which the
    page has, and that request answers the table alone (not a whole page inside the card)."""
    import re

    from services import audit
    from tenancy import platform_scope

    root = make.user(None, role="SYSADMIN")
    with app.app_context(), platform_scope(), audit.acting(audit.actor_of(root)):
        for n in range(55):
            audit.record("plan.note", "plan", f"p{n}", {"note": n}, store_id=None, platform=True)
        db.session.commit()
    login(client, root.email)

    html = client.get("/sysadmin/audit-log").get_data(as_text=True)
    nxt = re.search(r'<a [^>]*rel="next" href="([^"]+)"[^>]*hx-target="([^"]+)"', html)
    assert nxt is not None, "no htmx Next link"
    href, target = nxt.group(1).replace("&amp;", "&"), nxt.group(2)
    assert target == "#audit-table" and 'id="audit-table"' in html
    fragment = client.get(href, headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "<html" not in body and "Page 2 of 2" in body
    assert html.count('data-testid="audit-row"') == 50 and body.count('data-testid="audit-row"') >= 5
