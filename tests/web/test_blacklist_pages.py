"""The blacklist page (Admin): add an IP address, email or username with a reason (htmx answers
the panel in place), refusals next to the value with 422 and nothing saved, the kind filter, and
the remove button. What is listed is then refused at sign-in by the existing check."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from extensions import db
from models import Blacklist
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import HX, as_role, new_client, page_token
from tests.web.test_auth_pages import login


def entries(app, store) -> list[tuple[str, str, str]]:
    with app.app_context(), tenant_scope(store):
        return [(e.kind, e.value, e.reason) for e in db.session.scalars(select(Blacklist).order_by(Blacklist.value))]


def values(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="blacklist-row">.*?<strong>([^<]+)</strong>', html, re.S)


def test_only_admins_reach_the_blacklist(app, make, store, client):
    assert client.get("/admin/blacklist").status_code == 302
    manager, _ = as_role(app, make, store, "MANAGER")
    assert manager.get("/admin/blacklist").status_code == 403
    token = page_token(manager.get("/admin/orders"))
    assert manager.post("/admin/blacklist", data={"csrf_token": token, "kind": "ip", "value": "10.1.1.1"}).status_code == 403
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/blacklist")
    assert page.status_code == 200 and "Nobody is blocked." in page.data.decode()
    assert 'href="/admin/blacklist" aria-current="page"' in page.data.decode()
    assert entries(app, store) == []


def test_add_filter_and_remove(app, make, store):
    admin, me = as_role(app, make, store, "ADMIN")
    token = page_token(admin.get("/admin/blacklist"))
    added = admin.post("/admin/blacklist", headers=HX,
                       data={"csrf_token": token, "kind": "email", "value": "Spam@Example.COM", "reason": "chargebacks"})
    html = added.data.decode()
    assert added.status_code == 200 and b"<html" not in added.data
    assert values(html) == ["spam@example.com"] and "chargebacks" in html and f"by {me.username}" in html
    assert "spam@example.com is blocked." in html
    assert admin.post("/admin/blacklist", data={"csrf_token": token, "kind": "ip", "value": "192.168.0.7",
                                                "reason": ""}).status_code == 303
    for value, message in (("spam@example.com", "spam@example.com is on the blacklist already"),
                           ("not-an-email", "That is not an email address")):
        refused = admin.post("/admin/blacklist", headers=HX, data={"csrf_token": token, "kind": "email", "value": value})
        assert refused.status_code == 422 and message in refused.data.decode()
        assert 'id="value-err"' in refused.data.decode()
    for value, message in (("10.0.0.0/8", "networks are not supported"), ("300.1.2.3", "That is not an IP address")):
        refused = admin.post("/admin/blacklist", headers=HX, data={"csrf_token": token, "kind": "ip", "value": value})
        assert refused.status_code == 422 and message in refused.data.decode()
    empty = admin.post("/admin/blacklist", headers=HX, data={"csrf_token": token, "kind": "username", "value": ""})
    assert empty.status_code == 422 and "Enter the address, email or username to block" in empty.data.decode()
    assert entries(app, store) == [("ip", "192.168.0.7", ""), ("email", "spam@example.com", "chargebacks")]
    assert values(admin.get("/admin/blacklist?kind=ip", headers=HX).data.decode()) == ["192.168.0.7"]
    assert values(admin.get("/admin/blacklist?q=spam").data.decode()) == ["spam@example.com"]
    with app.app_context(), tenant_scope(store):
        ip_id = db.session.scalar(select(Blacklist.id).where(Blacklist.kind == "ip"))
    removed = admin.post(f"/admin/blacklist/{ip_id}/delete", headers=HX, data={"csrf_token": token})
    assert removed.status_code == 200 and values(removed.data.decode()) == ["spam@example.com"]
    assert "192.168.0.7 is no longer blocked." in removed.data.decode()
    assert admin.post(f"/admin/blacklist/{ip_id}/delete", headers=HX, data={"csrf_token": token}).status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Blacklist)) == 1


def test_a_listed_username_can_no_longer_sign_in(app, make, store):
    admin, _ = as_role(app, make, store, "ADMIN")
    make.user(store, username="Mallory")
    token = page_token(admin.get("/admin/blacklist"))
    assert admin.post("/admin/blacklist", data={"csrf_token": token, "kind": "username", "value": "Mallory",
                                                "reason": "fraud"}).status_code == 303
    refused = login(new_client(app), "Mallory")
    assert refused.status_code != 302 and "blocked from this store" in refused.data.decode()


def test_an_admin_cannot_block_themself(app, make, store):
    admin, me = as_role(app, make, store, "ADMIN")
    token = page_token(admin.get("/admin/blacklist"))
    mine = (("ip", admin.environ_base.get("REMOTE_ADDR", "127.0.0.1"), "IP address"), ("email", me.email, "email"),
            ("username", me.username.upper(), "username"))
    for kind, value, own in mine:
        refused = admin.post("/admin/blacklist", headers=HX, data={"csrf_token": token, "kind": kind, "value": value})
        assert refused.status_code == 422 and f"You cannot block your own {own}" in refused.data.decode()
        assert 'id="value-err"' in refused.data.decode()
    assert entries(app, store) == []
    assert admin.get("/admin/orders").status_code == 200  # still signed in, still let in
