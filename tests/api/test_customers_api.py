"""Seed A's customers admin: the list with search and segment filter (staff and erased accounts
left out), the detail, updates with the registration's uniqueness rules, the analytics overview
(segments, new customers per month in the store's time zone, top spenders) and the CSV export,
streamed and safe from formula injection. And /api/customers/me is not swallowed."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from extensions import db
from models import Order, Store, User
from services.stores import update_settings
from tenancy import tenant_scope

from .conftest import error_code

_n = iter(range(1, 10_000))


def sale(user_id: str, total: int, *, days_ago: int = 1, refunded: int = 0):
    when = datetime.now(UTC) - timedelta(days=days_ago)
    db.session.add(Order(order_number=next(_n), email="b@example.com", payment_method="BALANCE", currency="EUR",
                         buyer_id=user_id, total=total, subtotal=total, amount_refunded=refunded, status="COMPLETED",
                         payment_status="PAID", paid_at=when, created_at=when))


@pytest.fixture
def people(app, make, store):
    """vera: VIP (600.00); rita: active (bought 10 days ago, registered 200 days ago); olga: at risk;
    nina: new, never bought; a staff member who bought (not a customer)."""
    made = {name: make.user(store, username=name, email=f"{name}@shop.example")
            for name in ("vera", "rita", "olga", "nina")}
    made["staff"] = make.user(store, role="STAFF", username="stan")
    with app.app_context(), tenant_scope(store):
        for name in ("vera", "rita", "olga", "staff"):
            db.session.get(User, made[name].id).created_at = datetime.now(UTC) - timedelta(days=200)
        sale(made["vera"].id, 60_000, days_ago=100)
        sale(made["rita"].id, 1_500, days_ago=10)
        sale(made["rita"].id, 1_000, days_ago=5, refunded=400)
        sale(made["olga"].id, 2_000, days_ago=150)
        sale(made["staff"].id, 9_000)
        db.session.commit()
    return made


@pytest.fixture
def manager_h(make, store):
    return make.headers(make.user(store, role="MANAGER", username="mgr"), store)


def test_the_list_has_customers_only_with_search_and_segment(client, people, manager_h):
    body = client.get("/api/customers", headers=manager_h).get_json()
    assert body["total"] == 4 and {c["username"] for c in body["items"]} == {"vera", "rita", "olga", "nina"}
    by_name = {c["username"]: c for c in body["items"]}
    assert (by_name["rita"]["orders"], by_name["rita"]["spent"], by_name["rita"]["segment"]) == (2, 21.0, "active")
    assert {n: c["segment"] for n, c in by_name.items()} == {"vera": "vip", "rita": "active", "olga": "at_risk",
                                                             "nina": "new"}
    for segment, names in (("vip", ["vera"]), ("at_risk", ["olga"]), ("new", ["nina"]), ("inactive", [])):
        found = client.get(f"/api/customers?segment={segment}", headers=manager_h).get_json()
        assert [c["username"] for c in found["items"]] == names, segment
    assert [c["username"] for c in client.get("/api/customers?search=RI", headers=manager_h).get_json()["items"]] == ["rita"]
    refused = client.get("/api/customers?segment=whales", headers=manager_h)
    assert refused.status_code == 422 and error_code(refused) == "invalid_segment"


def test_detail_and_update_follow_the_registration_rules(client, app, store, make, people, manager_h):
    rita = people["rita"]
    detail = client.get(f"/api/customers/{rita.id}", headers=manager_h).get_json()
    assert (detail["orders"], detail["spent"], detail["segment"], detail["balance"]) == (2, 21.0, "active", 0.0)
    assert detail["first_order_at"] < detail["last_order_at"] and detail["cart"]["items"] == []
    url = f"/api/customers/{rita.id}"
    changed = client.put(url, json={"username": "rita2", "email": "Rita@New.example", "note": "calls often"},
                         headers=manager_h)
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["username"], changed.get_json()["email"]) == ("rita2", "rita@new.example")
    taken = client.put(url, json={"email": "vera@shop.example"}, headers=manager_h)
    assert taken.status_code == 409 and error_code(taken) == "email_taken"
    assert error_code(client.put(url, json={"username": "VERA"}, headers=manager_h)) == "username_taken"
    assert client.put(url, json={"email": "nope"}, headers=manager_h).status_code == 422
    assert client.put(url, json={"username": "x"}, headers=manager_h).status_code == 422
    assert client.put(url, json={"role": "ADMIN"}, headers=manager_h).status_code == 422  # not a field here
    token = make.headers(rita, store)
    assert client.get("/api/user/balance/history", headers=token).status_code == 200
    assert client.put(url, json={"is_active": False}, headers=manager_h).status_code == 200
    assert client.get("/api/user/balance/history", headers=token).status_code == 401
    with app.app_context(), tenant_scope(store):
        fresh = db.session.get(User, rita.id)
        assert (fresh.username, fresh.email, fresh.note, fresh.is_active) == ("rita2", "rita@new.example",
                                                                              "calls often", False)
    admin = make.user(store, role="ADMIN", username="adm")
    above = client.put(f"/api/customers/{admin.id}", json={"email": "mine@example.com"}, headers=manager_h)
    assert above.status_code == 403 and error_code(above) == "role_not_allowed"
    assert client.get("/api/customers/nobody", headers=manager_h).status_code == 404


def test_the_detail_is_for_customers_only_and_staff_accounts_are_not_found(client, app, store, make, people,
                                                                            manager_h):
    """A manager reads customers (USER, RESELLER); the accounts of staff, managers and admins are
    the Admin's /api/admin/user/{id}, and a deleted account is no one's customer."""
    reseller = make.user(store, role="RESELLER", username="rex")
    assert client.get(f"/api/customers/{reseller.id}", headers=manager_h).status_code == 200
    admin = make.user(store, role="ADMIN", username="adm")
    other_manager = make.user(store, role="MANAGER", username="mgr2")
    erased = make.user(store, username="gone")
    with app.app_context(), tenant_scope(store):
        db.session.get(User, erased.id).erased_at = datetime.now(UTC)
        db.session.commit()
    for who in (people["staff"], admin, other_manager, erased):
        refused = client.get(f"/api/customers/{who.id}", headers=manager_h)
        assert refused.status_code == 404, who.username
        assert error_code(refused) == "customer_not_found"
        body = refused.get_json()
        assert "email" not in body and "last_login_ip" not in body and "role" not in body
    admin_h = make.headers(admin, store)
    staff = client.get(f"/api/admin/user/{people['staff'].id}", headers=admin_h)  # the admin's own endpoint
    assert staff.status_code == 200 and staff.get_json()["role"] == "STAFF"
    assert client.get(f"/api/customers/{people['staff'].id}", headers=admin_h).status_code == 404


def test_the_detail_shows_the_customers_saved_addresses_in_one_query(client, app, store, make, people, manager_h):
    rita = people["rita"]
    shopper = make.headers(rita, store)
    saved = [client.post("/api/addresses", headers=shopper, json={
        "name": "Rita Buyer", "line1": f"Rua das Flores {n}", "city": "Lisboa", "postal_code": "1200-195",
        "country": "PT"}) for n in (1, 2, 3)]
    assert all(r.status_code == 201 for r in saved), [r.get_json() for r in saved]
    own = client.get("/api/addresses", headers=shopper).get_json()["items"]

    from extensions import db as _db

    with app.app_context():
        engine = _db.engine
    seen: list[str] = []

    def _record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        detail = client.get(f"/api/customers/{rita.id}", headers=manager_h)
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert detail.status_code == 200, detail.get_json()
    assert detail.get_json()["addresses"] == own  # the address book's own shape and order
    assert [a["line1"] for a in own][0] == "Rua das Flores 1"  # the first is the default
    assert own[0]["is_default_shipping"] is True and len(own) == 3
    assert sum(1 for sql in seen if "FROM addresses" in sql) == 1  # one query, however many addresses
    admin_h = make.headers(make.user(store, role="ADMIN", username="adm"), store)
    assert client.get(f"/api/admin/user/{rita.id}", headers=admin_h).get_json()["addresses"] == own
    assert client.get(f"/api/customers/{people['vera'].id}", headers=manager_h).get_json()["addresses"] == []


def test_customers_me_is_not_swallowed_into_something_wrong(client, people, manager_h, make, store):
    # /api/customers/me is the caller's own account (issue 14), never a customer called "me"
    me = client.get("/api/customers/me", headers=manager_h)
    assert me.status_code == 200 and me.get_json()["role"] == "MANAGER"
    assert client.delete("/api/customers/me", json={}, headers=manager_h).status_code == 422


def test_the_overview_counts_segments_months_and_top_spenders(client, app, store, people, manager_h):
    with app.app_context(), tenant_scope(store):
        update_settings(db.session.get(Store, store.id), {"timezone": "Pacific/Kiritimati"})  # UTC+14
        db.session.commit()
    body = client.get("/api/customers/analytics/overview", headers=manager_h).get_json()
    assert body["segments"] == {"vip": 1, "new": 1, "active": 1, "at_risk": 1, "inactive": 0}
    assert body["total_customers"] == 4
    months = body["new_customers_per_month"]
    assert len(months) == 12 and sum(m["new_customers"] for m in months) == 4
    now_local = datetime.now(UTC) + timedelta(hours=14)
    assert months[-1]["month"] == now_local.strftime("%Y-%m")
    with app.app_context(), tenant_scope(store):
        created = {u.username: u.created_at for u in db.session.scalars(select(User))}
    expected: dict[str, int] = {}
    for name in ("vera", "rita", "olga", "nina"):
        label = (created[name] + timedelta(hours=14)).strftime("%Y-%m")
        expected[label] = expected.get(label, 0) + 1
    assert {m["month"]: m["new_customers"] for m in months if m["new_customers"]} == expected
    assert [(t["username"], t["spent"]) for t in body["top_customers"]] == [("vera", 600.0), ("rita", 21.0),
                                                                           ("olga", 20.0)]


def test_the_export_streams_a_formula_safe_csv(client, app, store, make, people):
    admin_h = make.headers(make.user(store, role="ADMIN", username="adm"), store)
    trick = make.user(store, username="-cmd", email="trick@shop.example")
    with app.app_context(), tenant_scope(store):
        db.session.get(User, trick.id).note = '=HYPERLINK("http://evil.example","click")'
        db.session.commit()
    response = client.get("/api/customers/export", headers=admin_h)
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv" and "customers.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {r["username"] for r in rows} == {"vera", "rita", "olga", "nina", "'-cmd"}
    tricky = next(r for r in rows if r["email"] == "trick@shop.example")
    assert tricky["note"] == '\'=HYPERLINK("http://evil.example","click")'
    vera = next(r for r in rows if r["username"] == "vera")
    assert (vera["segment"], vera["orders"], vera["spent"], vera["currency"], vera["is_active"]) == (
        "vip", "1", "600.00", "EUR", "true")
    manager_h = make.headers(make.user(store, role="MANAGER", username="mgr2"), store)
    assert client.get("/api/customers/export", headers=manager_h).status_code == 403
