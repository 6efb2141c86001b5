"""The dashboard's users pages: the table with its role and segment filters and search (htmx, the
query kept in the URL), a constant number of SQL statements however many users a page shows, a
user's page with their figures, and the actions: promote to reseller, change role (only roles
below yours offered and accepted), edit, disable, delete with a typed confirmation, create a user.
Every refusal shows next to its field with 422 and saves nothing."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from extensions import db
from models import Order, PasswordResetToken, Review, User
from services import addresses as address_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import HX, as_role, page_token, world  # noqa: F401
from tests.web.test_catalog_query_count import count_statements


def fresh(app, store, user_id) -> User:
    with app.app_context(), tenant_scope(store):
        return db.session.get(User, user_id)


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-testid="user-row">(.*?)</tr>', html, re.S)


def names(html: str) -> list[str]:
    return [re.search(r'">([^<]+)</a>', row).group(1) for row in rows(html)]


@pytest.fixture
def admin(app, make, store):
    return as_role(app, make, store, "ADMIN")


def test_the_table_filters_by_role_and_segment_and_searches(app, store, make, world, admin):
    client, _me = admin
    make.user(store, role="STAFF", username="stella")
    with app.app_context(), tenant_scope(store):
        db.session.get(User, world["bob"]).created_at = datetime.now(UTC) - timedelta(days=400)
        db.session.commit()
    html = client.get("/admin/users").data.decode()
    assert 'name="role"' in html and 'name="segment"' in html and 'hx-push-url="true"' in html
    ann = next(r for r in rows(html) if ">ann<" in r)
    # ann: 1 paid order of 20.00, 40.00 left, registered today: segment "New"
    assert re.search(r'data-testid="user-segment">New<', ann) and ">€20.00<" in ann and ">€40.00<" in ann
    assert '<td class="num">1</td>' in ann
    bob = next(r for r in rows(html) if ">bob<" in r)
    assert 'data-testid="user-segment">Inactive<' in bob  # his only order is unpaid
    staff = client.get("/admin/users?role=STAFF", headers=HX)
    assert b"<html" not in staff.data and names(staff.data.decode()) == ["stella"]
    assert names(client.get("/admin/users?segment=inactive").data.decode()) == ["bob"]
    assert names(client.get("/admin/users?segment=new&q=an").data.decode()) == ["ann"]
    page = client.get("/admin/users?role=STAFF&segment=vip").data.decode()
    assert 'value="STAFF" selected' in page and 'value="vip" selected' in page and "No users match." in page
    # unknown filter values are ignored, not an error page
    assert len(rows(client.get("/admin/users?role=GOD&segment=whales").data.decode())) == 4  # ann, bob, stella, me


def test_the_table_costs_the_same_statements_for_3_and_20_users(app, store, make, world, admin):
    client, _me = admin

    def cost() -> tuple[int, int]:
        with count_statements(app) as statements:
            response = client.get("/admin/users")
        assert response.status_code == 200
        return len(statements), len(rows(response.data.decode()))

    few, shown_few = cost()
    for n in range(17):
        make.user(store, username=f"extra{n:02d}")
    many, shown_many = cost()
    assert (shown_few, shown_many) == (3, 20)
    assert few == many


def test_a_users_page_shows_figures_and_only_allowed_roles(app, store, make, world, admin):
    client, me = admin
    with app.app_context(), tenant_scope(store):
        order = db.session.scalar(select(Order).where(Order.buyer_id == world["ann"]))
        db.session.add(Review(order_id=order.id, user_id=world["ann"], reviewed_by="ann", rating=5, product_name="x"))
        db.session.commit()
    html = client.get(f"/admin/users/{world['ann']}").data.decode()
    assert 'data-testid="user-reviews">1<' in html and 'data-testid="user-replacements">0<' in html
    assert 'data-testid="user-segment">New<' in html and 'data-testid="user-spent">€20.00<' in html
    role_select = re.search(r'<select[^>]*name="role".*?</select>', html, re.S).group(0)
    assert re.findall(r'value="([A-Z]+)"', role_select) == ["USER", "RESELLER", "STAFF", "MANAGER"]
    for action in ("reseller", "role", "edit", "active", "delete"):
        assert f'action="/admin/users/{world["ann"]}/{action}"' in html
    own = client.get(f"/admin/users/{me.id}").data.decode()
    assert "/delete" not in own and "You can change only accounts whose role is below yours" in own


def addresses(html: str) -> list[str]:
    """Each saved address card of a user's page, its text squeezed to one line."""
    cards = re.findall(r'<li class="address-card" data-testid="user-address">(.*?)</li>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", card).split()) for card in cards]


def test_a_users_page_lists_their_saved_addresses_in_one_query(app, store, make, world, admin):
    client, _me = admin
    with app.app_context(), tenant_scope(store):
        ann, bob = db.session.get(User, world["ann"]), db.session.get(User, world["bob"])
        for n, company in ((1, ""), (2, "Ann & Co")):  # the first is both defaults
            address_service.create_address(ann, {"name": "Ann Buyer", "company": company, "line1": f"Rua das Flores {n}",
                                                 "city": "Lisboa", "postal_code": "1200-195", "country": "PT"})
        address_service.create_address(bob, {"name": "Bob Other", "line1": "1 Main St", "city": "Springfield",
                                             "region": "IL", "postal_code": "62701", "country": "US"})
        db.session.commit()

    with count_statements(app) as statements:
        response = client.get(f"/admin/users/{world['ann']}")
    assert response.status_code == 200
    html = response.data.decode()
    first, second = addresses(html)
    assert first == "Ann Buyer Rua das Flores 1 1200-195 Lisboa Portugal Default shipping Default billing"
    assert second == "Ann Buyer Ann &amp; Co Rua das Flores 2 1200-195 Lisboa Portugal"
    assert "Bob Other" not in html  # another user's address book stays theirs
    assert sum(1 for sql in statements if "FROM addresses" in sql) == 1  # one query, however many addresses

    with app.app_context(), tenant_scope(store):
        address_service.create_address(db.session.get(User, world["ann"]), {
            "name": "Ann Buyer", "line1": "Rua das Flores 3", "city": "Lisboa", "postal_code": "1200-195",
            "country": "PT", "is_default_billing": True})
        db.session.commit()
    with count_statements(app) as more:
        html = client.get(f"/admin/users/{world['ann']}").data.decode()
    assert len(more) == len(statements)  # no query per address
    shown = addresses(html)
    assert len(shown) == 3 and shown[0].endswith("Default shipping") and shown[1].endswith("Default billing")

    none = client.get(f"/admin/users/{_me.id}").data.decode()
    assert addresses(none) == [] and "No saved addresses." in none


def test_promote_to_reseller_and_change_role(app, store, make, world, admin):
    client, _me = admin
    url = f"/admin/users/{world['ann']}"
    token = page_token(client.get(url))
    for bad, message in (("12.345", "The discount has at most two decimals"), ("150", "The discount is from 0 to 100 %"),
                         ("lots", "The discount is a percentage such as 15 or 12.5")):
        refused = client.post(f"{url}/reseller", data={"csrf_token": token, "discount": bad})
        assert refused.status_code == 422 and message in refused.data.decode(), bad
        assert 'id="discount-err"' in refused.data.decode()
    assert fresh(app, store, world["ann"]).role == "USER"
    ok = client.post(f"{url}/reseller", data={"csrf_token": token, "discount": "20"})
    assert ok.status_code == 303
    ann = fresh(app, store, world["ann"])
    assert (ann.role, ann.discount_bps) == ("RESELLER", 2000)
    assert "Reseller · 20 % discount" in client.get(url).data.decode()
    too_high = client.post(f"{url}/role", data={"csrf_token": token, "role": "ADMIN", "discount": ""})
    assert too_high.status_code == 422 and "You cannot give the ADMIN role" in too_high.data.decode()
    assert fresh(app, store, world["ann"]).role == "RESELLER"
    staff = client.post(f"{url}/role", data={"csrf_token": token, "role": "STAFF", "discount": ""})
    assert staff.status_code == 303
    ann = fresh(app, store, world["ann"])
    assert (ann.role, ann.discount_bps) == ("STAFF", 0)
    peer = make.user(store, role="ADMIN", username="peer")
    refused = client.post(f"/admin/users/{peer.id}/role", data={"csrf_token": token, "role": "USER", "discount": ""})
    assert refused.status_code == 422 and "Only someone above the admin role" in refused.data.decode()
    assert fresh(app, store, peer.id).role == "ADMIN"


def test_edit_disable_and_enable(app, store, make, world, admin):
    client, _me = admin
    url = f"/admin/users/{world['ann']}"
    token = page_token(client.get(url))
    taken = client.post(f"{url}/edit", data={"csrf_token": token, "username": "ann2", "email": "bob@example.com",
                                             "note": ""})
    assert taken.status_code == 422 and "This email is already registered" in taken.data.decode()
    assert fresh(app, store, world["ann"]).username == "ann"  # nothing saved, not even the username
    saved = client.post(f"{url}/edit", data={"csrf_token": token, "username": "ann2", "email": "Ann@New.example",
                                             "note": "VIP, be nice"})
    assert saved.status_code == 303
    ann = fresh(app, store, world["ann"])
    assert (ann.username, ann.email, ann.note) == ("ann2", "ann@new.example", "VIP, be nice")
    assert client.post(f"{url}/active", data={"csrf_token": token, "active": "0"}).status_code == 303
    assert fresh(app, store, world["ann"]).is_active is False
    assert "Enable account" in client.get(url).data.decode()
    assert client.post(f"{url}/active", data={"csrf_token": token, "active": "1"}).status_code == 303
    assert fresh(app, store, world["ann"]).is_active is True


def test_delete_needs_the_typed_username_and_keeps_the_orders(app, store, make, world, admin):
    client, _me = admin
    url = f"/admin/users/{world['ann']}"
    token = page_token(client.get(url))
    wrong = client.post(f"{url}/delete", data={"csrf_token": token, "confirm": "bob"})
    assert wrong.status_code == 422 and "Type ann exactly to delete this account" in wrong.data.decode()
    assert fresh(app, store, world["ann"]).erased_at is None
    pending = client.post(f"/admin/users/{world['bob']}/delete", data={"csrf_token": token, "confirm": "bob"})
    assert pending.status_code == 422 and "This account has a payment on its way" in pending.data.decode()
    assert fresh(app, store, world["bob"]).erased_at is None
    done = client.post(f"{url}/delete", data={"csrf_token": token, "confirm": "ann"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/users")
    gone = fresh(app, store, world["ann"])
    assert gone.erased_at is not None and gone.username.startswith("deleted-")
    assert ">ann<" not in client.get("/admin/users").data.decode()
    page = client.get(url).data.decode()
    assert 'data-testid="user-erased"' in page and 'href="/admin/orders/1"' in page and "/delete" not in page


def test_create_a_user(app, store, make, admin, mail_outbox):
    client, _me = admin
    form = client.get("/admin/users/new")
    html = form.data.decode()
    assert form.status_code == 200 and 'value="ADMIN"' not in html and 'value="MANAGER"' in html
    token = page_token(form)
    data = {"csrf_token": token, "username": "carla", "email": "carla@example.com", "password": "", "role": "RESELLER",
            "discount": "10"}
    made = client.post("/admin/users/new", data=data)
    assert made.status_code == 303
    with app.app_context(), tenant_scope(store):
        carla = db.session.scalar(select(User).where(User.username == "carla"))
        assert (carla.role, carla.discount_bps) == ("RESELLER", 1000)
    # a welcome, not "Someone asked to reset the password ... if you did not ask for this, ignore this email",
    # and a link that lasts days, not the reset's hour
    (welcome,) = [m for m in mail_outbox if "carla@example.com" in m.to]
    assert welcome.subject == "Your account at Main Store: set your password"
    assert "was made for you by the store" in welcome.body and "expires in 7 days" in welcome.body
    assert "Someone asked to reset" not in welcome.body and "/reset-password/" in welcome.body
    with app.app_context(), tenant_scope(store):
        link = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.user_id == carla.id))
        assert link.expires_at - datetime.now(UTC) > timedelta(days=6)
    again = client.post("/admin/users/new", data={**data, "email": "other@example.com"})
    assert again.status_code == 422 and "That username is taken" in again.data.decode()
    weak = client.post("/admin/users/new", data={**data, "username": "dora", "email": "d@example.com", "password": "123"})
    assert weak.status_code == 422 and "Password must be at least 8 characters" in weak.data.decode()
    high = client.post("/admin/users/new", data={**data, "username": "erin", "email": "e@example.com", "role": "ADMIN"})
    assert high.status_code == 422 and "You cannot give the ADMIN role" in high.data.decode()
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.username.in_(("dora", "erin")))) is None


def test_managers_do_not_reach_the_users_pages(app, store, make, world):
    manager, _ = as_role(app, make, store, "MANAGER")
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{world['ann']}"):
        assert manager.get(url).status_code == 403
