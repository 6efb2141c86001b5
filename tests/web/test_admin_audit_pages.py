"""The audit log page (Admin): the store's entries newest first, filters through HTMX, each entry
opening to its before/after; other roles are refused and another store's entries never show."""
from __future__ import annotations

import pytest

from extensions import db
from services import audit
from services import coupons as coupon_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import HX, as_role
from tests.web.test_admin_payments_pages import text


def _coupon(app, store, user, code, value=100):
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(user, "192.0.2.9")):
        coupon = coupon_service.create_coupon({"code": code, "kind": "fixed", "value": value})
        db.session.commit()
        return coupon.id


@pytest.mark.parametrize("role", ["STAFF", "MANAGER"])
def test_only_admins_see_the_audit_log(app, make, store, role):
    client, _ = as_role(app, make, store, role)
    assert client.get("/admin/audit-log").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, store):
    response = client.get("/admin/audit-log")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_page_lists_entries_with_their_changes_and_filters(app, make, store, other_store):
    client, admin = as_role(app, make, store, "ADMIN")
    manager = make.user(store, role="MANAGER", username="marta")
    coupon_id = _coupon(app, store, admin, "FIRST")
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(manager)):
        coupon_service.update_coupon(coupon_service.get_coupon(coupon_id), {"value": 250})
        db.session.commit()
    _coupon(app, other_store, make.user(other_store, role="ADMIN"), "THEIRS")

    page = client.get("/admin/audit-log")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/admin/audit-log"' in html and "Audit log" in text(page)
    assert html.count('data-testid="audit-row"') == 2
    assert "THEIRS" not in html
    # newest first: the manager's update, then the admin's create with its IP
    table = html[html.index('<table class="audit-table"'):]
    assert table.index("marta") < table.index(admin.username)
    assert "192.0.2.9" in html and "<code>update</code>" in html and "<code>create</code>" in html
    assert '<details data-testid="audit-changes">' in html
    # before and after of the update: a fixed coupon's value is money, in the store's format
    assert "<code>€1.00</code>" in html and "<code>€2.50</code>" in html
    assert '<label for="resource_type">' in html and '<label for="date_from">' in html
    assert f'<option value="{manager.id}"' in html

    fragment = client.get("/admin/audit-log", query_string={"user_id": manager.id}, headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert body.count('data-testid="audit-row"') == 1 and "marta" in body
    created = client.get("/admin/audit-log", query_string={"action": "create"}, headers=HX).get_data(as_text=True)
    assert created.count('data-testid="audit-row"') == 1 and "FIRST" in created
    none = client.get("/admin/audit-log", query_string={"date_to": "2000-01-01"}, headers=HX).get_data(as_text=True)
    assert "No entries match." in none
    bad = client.get("/admin/audit-log", query_string={"date_from": "2026-13-01"}, headers=HX).get_data(as_text=True)
    assert "is not a date" in bad


def test_who_and_what_show_their_details_on_a_line_of_their_own(app, make, store):
    client, admin = as_role(app, make, store, "ADMIN")
    coupon_id = _coupon(app, store, admin, "FIRST")
    html = client.get("/admin/audit-log").get_data(as_text=True)
    assert f'{admin.username}<br><small class="muted">admin · 192.0.2.9</small>' in html
    assert f'coupon<br><small class="muted audit-id">{coupon_id}</small>' in html


def test_amounts_show_in_the_stores_money_format_and_percentages_as_percent(app, make, store):
    from models import Store
    from services.stores import update_settings

    client, admin = as_role(app, make, store, "ADMIN")
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        coupon_service.create_coupon({"code": "TENOFF", "kind": "percent", "value": 1000, "min_subtotal": 123456})
        with audit.system_actor():  # the store's locale: not the change under test
            update_settings(db.session.get(Store, store.id), {"locale": "pt_PT"})
        db.session.commit()
    html = client.get("/admin/audit-log", query_string={"resource_type": "coupon"}).get_data(as_text=True)
    assert "<code>10%</code>" in html  # the percent coupon's value (1000 basis points)
    assert "<code>1\xa0234,56\xa0€</code>" in html  # the minimum subtotal, as pt_PT writes euros
