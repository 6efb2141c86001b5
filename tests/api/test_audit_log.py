"""The audit log (issue 13, Seed A): one action of each audited kind writes its entry, with actor,
role, IP, store, resource and a compact before/after; secrets never; a rollback leaves nothing;
a shopper's checkout writes nothing; one store never sees another's entries; access levels."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from extensions import db
from models import AuditEntry, PaymentAccount, Store, User
from services import audit
from services import coupons as coupon_service
from services.errors import Conflict
from tenancy import platform_scope, tenant_scope
from tests.statements import statements_of

from .conftest import error_code
from .shop import in_store, shop_fixture  # noqa: F401

LOG = "/api/admin/audit-log"


def entries(app, **where) -> list[AuditEntry]:
    """Every entry (all stores and the platform), oldest first, optionally filtered by columns."""
    with app.app_context():
        stmt = select(AuditEntry).execution_options(all_stores=True).order_by(AuditEntry.created_at, AuditEntry.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditEntry, key) == value)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def one(app, **where) -> AuditEntry:
    rows = entries(app, **where)
    assert len(rows) == 1, [(r.resource_type, r.action, r.changes) for r in rows]
    return rows[0]


def add(client, headers, variant_id, quantity=1):
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def checkout(client, headers, method="BALANCE"):
    response = client.post("/api/orders/checkout", json={"payment_method": method}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def admin(make, store):
    return make.user(store, role="ADMIN", username="alice")


# --- who writes entries ------------------------------------------------------------------------

def test_a_shoppers_checkout_writes_nothing_and_neither_does_staff_shopping(app, client, shop, make, store):
    before = len(entries(app))  # the shop fixture was built by services with no actor: nothing
    assert before == 0
    add(client, shop.headers, shop.digital, 2)
    checkout(client, shop.headers)
    staff = make.user(store, role="STAFF")  # staff keep every USER ability; their own shopping is theirs
    with in_store(shop):
        from services import balance
        balance.credit(staff.id, 5000, "topup", reason="test")
        db.session.commit()
    statements: list[str] = []

    def _seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _seen)
    try:
        add(client, shop.h(staff), shop.digital, 1)
        checkout(client, shop.h(staff))
    finally:
        event.remove(engine, "before_cursor_execute", _seen)
    assert statements and not [s for s in statements if "audit_log" in s]  # not one query more
    assert entries(app) == []


def test_product_create_update_delete(app, client, make, store, admin):
    h = make.headers(admin, store)
    created = client.post("/api/products", json={"title": "Steam Card", "variants": [{"title": "$10", "price": 9.99}]},
                          headers=h, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert created.status_code == 201
    product_id = created.get_json()["id"]
    entry = one(app, resource_type="product", action="create")
    assert (entry.resource_id, entry.store_id, entry.target_store_id) == (product_id, store.id, store.id)
    assert (entry.actor_id, entry.actor_name, entry.actor_role, entry.ip) == (admin.id, "alice", "ADMIN", "203.0.113.7")
    assert entry.changes["after"]["title"] == "Steam Card" and "before" not in entry.changes
    variant = one(app, resource_type="variant", action="create")
    assert variant.changes["after"]["price"] == 999

    assert client.put(f"/api/products/{product_id}", json={"title": "Steam Gift Card"}, headers=h).status_code == 200
    entry = one(app, resource_type="product", action="update")
    assert entry.changes == {"before": {"title": "Steam Card"}, "after": {"title": "Steam Gift Card"}}

    assert client.delete(f"/api/products/{product_id}", headers=h).status_code in (200, 204)
    deleted = one(app, resource_type="product", action="delete")
    assert deleted.resource_id == product_id and deleted.changes["before"]["deleted_at"] is None


def test_stock_import_records_a_summary_never_the_codes(app, client, make, store, admin, catalog):
    variant_id = catalog.product()["variants"][0]["id"]
    codes = ["SECRET-AAA-1", "SECRET-AAA-2", "SECRET-AAA-2", "SECRET-AAA-3"]
    catalog.stock(variant_id, codes, make.headers(admin, store))
    entry = one(app, action="stock.import")
    assert (entry.resource_type, entry.resource_id, entry.actor_id) == ("variant", variant_id, admin.id)
    assert entry.changes["added"] == 3 and entry.changes["duplicate_in_file"] == 1
    assert entry.changes["total_lines"] == 4 and entry.changes["stock_count"] == 3
    everything = json.dumps([e.changes for e in entries(app)])
    assert "SECRET-AAA" not in everything


def test_order_status_approval_gift_refund(app, client, shop, make, store, admin):
    manager = make.user(store, role="MANAGER", username="moe")
    add(client, shop.headers, shop.digital, 1)
    pending = checkout(client, shop.headers, method="MANUAL")
    assert entries(app) == []
    done = client.put(f"/api/orders/{pending['id']}/status", json={"status": "CANCELLED"}, headers=shop.h(manager))
    assert done.status_code == 200
    entry = one(app, action="order.status")
    assert (entry.resource_type, entry.resource_id, entry.actor_name, entry.actor_role) == \
        ("order", pending["id"], "moe", "MANAGER")
    assert entry.changes == {"before": {"status": "PENDING"}, "after": {"status": "CANCELLED"}}

    add(client, shop.headers, shop.digital, 1)
    second = checkout(client, shop.headers, method="MANUAL")
    approved = client.post(f"/api/admin/orders/process/{second['id']}", headers=shop.h(admin))
    assert approved.status_code == 200
    entry = one(app, action="order.approve")
    assert entry.resource_id == second["id"] and entry.actor_id == admin.id
    assert entry.changes["before"] == {"status": "PENDING", "payment_status": "UNPAID"}
    assert entry.changes["after"] == {"status": "COMPLETED", "payment_status": "PAID"}

    gift = client.post("/api/admin/orders/create-and-approve", headers=shop.h(admin),
                       json={"userId": shop.buyer.id, "subcategoryId": shop.digital, "amount": 1})
    assert gift.status_code == 201, gift.get_json()
    entry = one(app, action="order.gift")
    assert entry.resource_id == gift.get_json()["id"]
    assert entry.changes["after"]["is_gift"] is True and entry.changes["after"]["buyer_id"] == shop.buyer.id

    refund = client.post(f"/api/orders/{second['id']}/refund", headers=shop.h(admin),
                         json={"amount": 4, "destination": "balance", "reason": "late"})
    assert refund.status_code == 201, refund.get_json()
    entry = one(app, resource_type="refund", action="create")
    assert entry.changes["after"]["amount"] == 400 and entry.changes["after"]["order_id"] == second["id"]
    assert entry.changes["after"]["reason"] == "late" and entry.actor_id == admin.id
    credit = one(app, action="balance.refund")
    assert credit.changes["after"]["amount"] == 400 and credit.changes["after"]["user_id"] == shop.buyer.id


def test_a_staff_members_replacement_decisions_are_in_the_stores_log(app, client, shop, make, store, admin):
    """Approving and denying a replacement are guarded bulk UPDATEs the listener cannot see: each
    decision is recorded by its service, with the staff member who made it (the buyer's own
    request writes nothing)."""
    with in_store(shop):
        from models import Product
        from services import products as product_service
        product_service.update_product(db.session.get(Product, shop.product),
                                       {"replacement_settings": {"replace_enabled": True,
                                                                 "auto_replace_enabled": False}})
        db.session.commit()
    add(client, shop.headers, shop.digital, 2)
    order = checkout(client, shop.headers)
    first, second = [item["id"] for line in order["lines"] for item in line["items"]]
    requests = [client.post(f"/api/orders/{order['id']}/replace", json={"stock_item_id": item, "reason": "used"},
                            headers=shop.headers).get_json()["id"] for item in (first, second)]
    assert entries(app) == []
    staff = shop.h(make.user(store, role="STAFF", username="stacy"))
    approved = client.post(f"/api/staff/requests/{requests[0]}/resolve", json={"action": "approve"}, headers=staff)
    denied = client.post(f"/api/staff/requests/{requests[1]}/resolve",
                         json={"action": "deny", "reason": "It works: sign out elsewhere"}, headers=staff)
    assert (approved.status_code, denied.status_code) == (200, 200)

    entry = one(app, action="replacement.approve")
    assert (entry.resource_type, entry.resource_id, entry.actor_name, entry.actor_role, entry.store_id) == \
        ("replacement", requests[0], "stacy", "STAFF", store.id)
    assert entry.changes == {"before": {"status": "PENDING"},
                             "after": {"status": "APPROVED", "custom_item": False,
                                       "replacement_item_id": approved.get_json()["replacement_item_id"]}}
    entry = one(app, action="replacement.deny")
    assert entry.resource_id == requests[1] and entry.actor_name == "stacy"
    assert entry.changes["after"] == {"status": "DENIED", "reason_denied": "It works: sign out elsewhere"}
    log = client.get(LOG, headers=shop.h(admin), query_string={"resource_type": "replacement"}).get_json()
    assert [e["action"] for e in log["items"]] == ["replacement.deny", "replacement.approve"]


def test_settings_theme_role_balance_user_delete(app, client, make, store, admin):
    h = make.headers(admin, store)
    assert client.post("/api/admin/config/update", json={"name": "Renamed"}, headers=h).status_code == 200
    entry = one(app, action="settings.update")
    assert (entry.resource_type, entry.resource_id, entry.store_id) == ("store", store.id, store.id)
    assert entry.changes["before"]["name"] != "Renamed" and entry.changes["after"]["name"] == "Renamed"

    themed = client.put("/api/tenants/current/template", json={"slug": "arcade"}, headers=h)
    assert themed.status_code == 200, themed.get_json()
    entry = one(app, action="theme.apply")
    assert entry.changes["before"]["settings"]["theme"] == "clean"
    assert entry.changes["after"]["settings"]["theme"] == "arcade"

    customer = make.user(store, username="carol", email="carol@example.com")
    assert client.put(f"/api/customers/{customer.id}/role", json={"role": "STAFF"}, headers=h).status_code == 200
    entry = one(app, action="user.role")
    assert entry.changes == {"before": {"role": "USER"}, "after": {"role": "STAFF"}}

    adjusted = client.post(f"/api/admin/users/{customer.id}/balance", json={"amount": 12.5, "reason": "goodwill"},
                           headers=h)
    assert adjusted.status_code == 201
    entry = one(app, action="balance.adjust")
    assert entry.changes["after"]["amount"] == 1250 and entry.changes["after"]["reason"] == "goodwill"
    assert entry.changes["after"]["user_id"] == customer.id

    assert client.put(f"/api/customers/{customer.id}/role", json={"role": "USER"}, headers=h).status_code == 200
    assert client.delete(f"/api/admin/user/delete/{customer.id}", headers=h).status_code == 200
    entry = one(app, action="user.delete")
    assert entry.resource_id == customer.id and entry.changes["after"]["erased_at"]
    text = json.dumps(entry.changes)
    assert "carol" not in text  # the erased person's data does not live on in the log


def test_coupon_create_update_delete(app, client, make, store):
    manager = make.user(store, role="MANAGER")
    h = make.headers(manager, store)
    created = client.post("/api/coupons", json={"code": "save10", "kind": "percent", "value": 10}, headers=h)
    assert created.status_code == 201
    coupon_id = created.get_json()["id"]
    assert one(app, resource_type="coupon", action="create").changes["after"]["code"] == "SAVE10"
    assert client.put(f"/api/coupons/{coupon_id}", json={"value": 15}, headers=h).status_code == 200
    assert one(app, resource_type="coupon", action="update").changes == {"before": {"value": 1000},
                                                                          "after": {"value": 1500}}
    assert client.delete(f"/api/coupons/{coupon_id}", headers=h).status_code in (200, 204)
    entry = one(app, resource_type="coupon", action="delete")
    assert entry.resource_id == coupon_id and entry.changes["before"]["code"] == "SAVE10"


def test_tenant_lifecycle_goes_to_the_platform_log(app, make, store):
    sysadmin = make.user(None, role="SYSADMIN", username="root")
    with app.app_context(), platform_scope(), audit.acting(audit.actor_of(sysadmin, "198.51.100.2")):
        row = db.session.get(Store, store.id)
        row.status = "suspended"
        db.session.commit()
    entry = one(app, resource_type="store")
    assert (entry.action, entry.store_id, entry.target_store_id) == ("tenant.status", None, store.id)
    assert (entry.actor_name, entry.actor_role, entry.ip) == ("root", "SYSADMIN", "198.51.100.2")
    assert entry.changes == {"before": {"status": "active"}, "after": {"status": "suspended"}}
    with app.app_context(), platform_scope(), audit.acting(audit.actor_of(sysadmin)):
        assert audit.record("act_as_store", "store", store.id, {"slug": store.slug}, store_id=store.id, platform=True)
        db.session.commit()
    entry = one(app, action="act_as_store")
    assert (entry.store_id, entry.target_store_id, entry.changes) == (None, store.id, {"slug": store.slug})


def test_selling_or_taking_back_an_addon_is_in_the_platform_log(app, client, make, store, other_store, admin):
    """A store's addons are link rows the listener does not see: the sysadmin's change of them (what
    the store pays for) is recorded in the platform's log, never in the store's own."""
    root = make.user(None, role="SYSADMIN", username="root")
    h = make.headers(root, store)
    url = f"/api/sysadmin/tenants/{other_store.id}"
    assert client.put(url, json={"addons": ["wishlist", "moloni"]}, headers=h).status_code == 200
    assert client.put(url, json={"addons": ["moloni", "wishlist"]}, headers=h).status_code == 200  # no change
    assert client.put(url, json={"addons": ["moloni"]}, headers=h).status_code == 200
    sold, taken_back = entries(app, action="tenant.addons")
    assert (sold.store_id, sold.target_store_id, sold.resource_id, sold.actor_name) == \
        (None, other_store.id, other_store.id, "root")
    assert sold.changes == {"before": {"addons": []}, "after": {"addons": ["moloni", "wishlist"]}}
    assert taken_back.changes == {"before": {"addons": ["moloni", "wishlist"]}, "after": {"addons": ["moloni"]}}
    log = client.get("/api/sysadmin/audit-log", headers=h).get_json()["items"]
    assert [e["action"] for e in log if e["action"] == "tenant.addons"] == ["tenant.addons"] * 2
    other_admin = make.user(other_store, role="ADMIN", username="olga")
    own = client.get(LOG, headers=make.headers(other_admin, other_store)).get_json()["items"]
    assert "tenant.addons" not in [e["action"] for e in own]


def test_jobs_write_nothing_unless_they_say_system(app, store):
    with app.app_context(), tenant_scope(store):
        coupon_service.create_coupon({"code": "JOB1", "kind": "fixed", "value": 100})
        assert audit.record("stock.import", "variant", "x") is False
        with audit.system_actor():
            coupon_service.create_coupon({"code": "JOB2", "kind": "fixed", "value": 100})
        db.session.commit()
    entry = one(app)
    assert (entry.actor_id, entry.actor_name, entry.actor_role) == (None, "system", "SYSTEM")
    assert entry.changes["after"]["code"] == "JOB2"


# --- never secrets ----------------------------------------------------------------------------------

def test_secrets_never_reach_the_log(app, client, make, store, admin):
    h = make.headers(admin, store)
    created = client.post("/api/admin/users", json={"username": "dave", "email": "dave@example.com", "password":
                                              "a-very-long-password-1", "role": "USER"}, headers=h)
    assert created.status_code == 201, created.get_json()
    user_entry = one(app, resource_type="user", action="create")
    assert user_entry.changes["after"]["username"] == "dave"
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        account = PaymentAccount(provider="HOODPAY", account_ref="biz-1", secrets="ENCRYPTED-BLOB",
                                 secret_hints={"api_key": "…a1b2"})
        db.session.add(account)
        db.session.flush()
        account.secrets = "ENCRYPTED-BLOB-2"
        account.account_ref = "biz-2"
        db.session.flush()
        user = db.session.get(User, created.get_json()["id"])
        user.password_hash = "$argon2id$new"
        user.token_version += 1
        db.session.commit()
    text = json.dumps([e.changes for e in entries(app)])
    for secret in ("ENCRYPTED-BLOB", "a1b2", "argon2", "password", "token_version", "secret"):
        assert secret not in text, secret
    account_entries = entries(app, resource_type="payment_account")
    assert [e.action for e in account_entries] == ["create", "update"]
    assert account_entries[1].changes == {"before": {"account_ref": "biz-1"}, "after": {"account_ref": "biz-2"}}
    assert not entries(app, resource_type="user", action="update")  # only secrets changed: nothing to say


# --- rollbacks leave nothing ---------------------------------------------------------------------------

def test_a_failed_request_leaves_no_entry(app, client, make, store, admin):
    h = make.headers(admin, store)
    response = client.post("/api/admin/config/update", json={"name": "Half done", "payment_methods": {"STRIPE": True}},
                           headers=h)
    assert response.status_code == 422
    assert entries(app) == []


def test_a_form_errors_savepoint_rollback_leaves_no_entry(app, store, admin):
    from web import form_errors

    class Form:
        errors: dict = {}
        form_errors: list = []

    with app.test_request_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        coupon_service.create_coupon({"code": "KEEP", "kind": "fixed", "value": 100})
        with form_errors(Form()):
            coupon_service.create_coupon({"code": "UNDONE", "kind": "fixed", "value": 100})
            db.session.flush()
            raise Conflict("refused after the flush")
        db.session.commit()
    assert [e.changes["after"]["code"] for e in entries(app)] == ["KEEP"]


# --- reading: isolation, access, filters ---------------------------------------------------------------

def test_each_store_sees_its_own_log_and_only_admins_read_it(app, client, make, store, other_store, admin):
    other_admin = make.user(other_store, role="ADMIN")
    client.post("/api/coupons", json={"code": "MINE", "kind": "fixed", "value": 1}, headers=make.headers(admin, store))
    client.post("/api/coupons", json={"code": "THEIRS", "kind": "fixed", "value": 1},
                headers=make.headers(other_admin, other_store))
    mine = client.get(LOG, headers=make.headers(admin, store)).get_json()
    assert mine["total"] == 1 and mine["items"][0]["changes"]["after"]["code"] == "MINE"
    theirs = client.get(LOG, headers=make.headers(other_admin, other_store)).get_json()
    assert theirs["total"] == 1 and theirs["items"][0]["changes"]["after"]["code"] == "THEIRS"

    assert client.get(LOG).status_code == 401
    for role in ("USER", "STAFF", "MANAGER"):
        refused = client.get(LOG, headers=make.headers(make.user(store, role=role), store))
        assert refused.status_code == 403 and error_code(refused) == "insufficient_role"


def test_filters_paging_and_newest_first(app, client, make, store, admin):
    manager = make.user(store, role="MANAGER", username="mia")
    h, hm = make.headers(admin, store), make.headers(manager, store)
    for code in ("A1", "A2", "A3"):
        assert client.post("/api/coupons", json={"code": code, "kind": "fixed", "value": 1}, headers=h).status_code == 201
    client.post("/api/categories", json={"title": "Cards"}, headers=hm)
    page = client.get(LOG, headers=h, query_string={"page_size": 2}).get_json()
    assert (page["total"], page["pages"], page["page"], page["page_size"]) == (4, 2, 1, 2)
    assert [e["resource_type"] for e in page["items"]] == ["category", "coupon"]
    assert page["items"][1]["changes"]["after"]["code"] == "A3"
    coupons = client.get(LOG, headers=h, query_string={"resource_type": "coupon"}).get_json()
    assert [e["changes"]["after"]["code"] for e in coupons["items"]] == ["A3", "A2", "A1"]
    by_mia = client.get(LOG, headers=h, query_string={"user_id": manager.id}).get_json()
    assert [e["actor_name"] for e in by_mia["items"]] == ["mia"]
    assert client.get(LOG, headers=h, query_string={"action": "delete"}).get_json()["total"] == 0
    today = by_mia["items"][0]["created_at"][:10]
    assert client.get(LOG, headers=h, query_string={"date_from": today, "date_to": today}).get_json()["total"] == 4
    assert client.get(LOG, headers=h, query_string={"date_to": "2000-01-01"}).get_json()["total"] == 0
    bad = client.get(LOG, headers=h, query_string={"date_from": "2026-02-30"})
    assert bad.status_code == 422 and error_code(bad) == "validation_error"
    reversed_dates = client.get(LOG, headers=h, query_string={"date_from": "2026-02-02", "date_to": "2026-02-01"})
    assert reversed_dates.status_code == 422


def test_the_page_size_defaults_to_twenty_as_every_list(app, client, make, store, admin):
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        for n in range(25):
            coupon_service.create_coupon({"code": f"C{n:02}", "kind": "fixed", "value": 100})
        db.session.commit()
    h = make.headers(admin, store)
    first = client.get(LOG, headers=h).get_json()
    assert (first["page_size"], len(first["items"]), first["total"], first["pages"]) == (20, 20, 25, 2)
    second = client.get(LOG, headers=h, query_string={"page": 2}).get_json()
    assert (second["page_size"], len(second["items"])) == (20, 5)
    assert client.get(LOG, headers=h, query_string={"page_size": 100}).get_json()["page_size"] == 100
    assert client.get(LOG, headers=h, query_string={"page_size": 101}).status_code == 422
    platform = client.get("/api/sysadmin/audit-log", headers=make.headers(make.user(None, role="SYSADMIN"), store),
                          query_string={"scope": "all"}).get_json()
    assert (platform["page_size"], len(platform["items"])) == (20, 20)


def logged(client, headers, **query) -> list[dict]:
    return client.get(LOG, headers=headers, query_string={"page_size": 100, **query}).get_json()["items"]


def test_amounts_are_major_units_with_the_currency_and_the_stored_entries_stay_minor(app, client, shop, make,
                                                                                     store, admin):
    h = shop.h(admin)
    created = client.post("/api/products", json={"title": "Gift Card", "variants": [{"title": "5", "price": 5.5}]},
                          headers=h)
    assert created.status_code == 201, created.get_json()
    product = created.get_json()
    variant_id = product["variants"][0]["id"]
    changed = client.put(f"/api/products/{product['id']}/variants/{variant_id}", json={"price": 6}, headers=h)
    assert changed.status_code == 200, changed.get_json()
    entries_ = {e["action"]: e for e in logged(client, h, resource_type="variant")}
    assert entries_["create"]["changes"]["after"]["price"] == 5.5 and entries_["create"]["currency"] == "EUR"
    assert entries_["update"]["changes"] == {"before": {"price": 5.5}, "after": {"price": 6.0}}
    assert entries_["update"]["currency"] == "EUR"

    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers, method="MANUAL")
    assert client.post(f"/api/admin/orders/process/{order['id']}", headers=h).status_code == 200
    refund = client.post(f"/api/orders/{order['id']}/refund", headers=h,
                         json={"amount": 4, "destination": "balance", "reason": "late"})
    assert refund.status_code == 201, refund.get_json()
    [refunded] = logged(client, h, resource_type="refund", action="create")
    assert (refunded["changes"]["after"]["amount"], refunded["currency"]) == (4.0, "EUR")
    [credit] = logged(client, h, action="balance.refund")
    balance_after = client.get("/api/user/balance/history", headers=shop.headers).get_json()["items"][0]
    assert credit["changes"]["after"]["amount"] == 4.0 and credit["currency"] == "EUR"
    assert credit["changes"]["after"]["balance_after"] == balance_after["balance_after"]
    assert isinstance(credit["changes"]["after"]["balance_after"], float)
    [approved] = logged(client, h, action="order.approve")
    assert approved["currency"] is None  # no amounts in it

    assert client.post("/api/admin/config/update", json={"topup_min": 5}, headers=h).status_code == 200
    [settings] = logged(client, h, action="settings.update")
    assert settings["changes"]["before"]["settings"] == {"topup_min": 1.0}
    assert settings["changes"]["after"]["settings"] == {"topup_min": 5.0} and settings["currency"] == "EUR"

    # stored as the database has it: minor units
    assert one(app, resource_type="variant", action="update").changes == {"before": {"price": 550},
                                                                           "after": {"price": 600}}
    assert one(app, resource_type="refund", action="create").changes["after"]["amount"] == 400


def test_a_coupons_value_is_a_percentage_or_money_as_its_kind_was_then(app, client, make, store, admin):
    h = make.headers(admin, store)
    coupon = client.post("/api/coupons", json={"code": "SAVE", "kind": "percent", "value": 10,
                                               "min_subtotal": 20}, headers=h).get_json()
    assert client.put(f"/api/coupons/{coupon['id']}", json={"value": 15}, headers=h).status_code == 200
    assert client.put(f"/api/coupons/{coupon['id']}", json={"kind": "fixed", "value": 5}, headers=h).status_code == 200
    assert client.put(f"/api/coupons/{coupon['id']}", json={"value": 7.5}, headers=h).status_code == 200
    newest_first = logged(client, h, resource_type="coupon")
    assert [e["action"] for e in newest_first] == ["update", "update", "update", "create"]
    fixed_value, to_fixed, percent_value, created = newest_first
    assert created["changes"]["after"]["value"] == 10 and created["changes"]["after"]["min_subtotal"] == 20.0
    assert created["currency"] == "EUR"  # the minimum subtotal
    # written while the coupon was a percent one, though it is a fixed one now
    assert percent_value["changes"] == {"before": {"value": 10}, "after": {"value": 15}}
    assert percent_value["currency"] is None
    assert to_fixed["changes"] == {"before": {"kind": "percent", "value": 15}, "after": {"kind": "fixed", "value": 5.0}}
    assert to_fixed["currency"] == "EUR"
    assert fixed_value["changes"] == {"before": {"value": 5.0}, "after": {"value": 7.5}}
    assert fixed_value["currency"] == "EUR"
    stored = [e.changes for e in entries(app, resource_type="coupon")]
    assert stored[1] == {"before": {"value": 1000}, "after": {"value": 1500}}
    assert stored[3] == {"before": {"value": 500}, "after": {"value": 750}}


def test_a_zero_decimal_store_shows_its_amounts_as_they_are(app, client, make, store):
    yen = make.store("yen", "Yen Shop", domain="yen.example.com")
    with app.app_context():
        db.session.get(Store, yen.id).currency = "JPY"
        db.session.commit()
    admin_jp = make.user(yen, role="ADMIN")
    h = make.headers(admin_jp, yen)
    created = client.post("/api/products", json={"title": "Card", "variants": [{"title": "x", "price": 550}]},
                          headers=h)
    assert created.status_code == 201, created.get_json()
    [entry] = logged(client, h, resource_type="variant")
    assert (entry["changes"]["after"]["price"], entry["currency"]) == (550, "JPY")


def test_a_plans_price_in_the_platform_log_is_in_the_plans_own_currency(app, client, make, store):
    hs = make.headers(make.user(None, role="SYSADMIN"), store)
    made = client.post("/api/sysadmin/plans", headers=hs, json={"slug": "pro", "name": "Pro", "monthly_price": 29.9,
                                                               "currency": "USD"})
    assert made.status_code == 201, made.get_json()
    changed = client.put(f"/api/sysadmin/plans/{made.get_json()['id']}", headers=hs, json={"monthly_price": 39})
    assert changed.status_code == 200, changed.get_json()
    log = client.get("/api/sysadmin/audit-log", headers=hs, query_string={"resource_type": "plan"}).get_json()
    updated, created = log["items"]
    assert (created["changes"]["after"]["monthly_price"], created["currency"]) == (29.9, "USD")
    assert updated["changes"] == {"before": {"monthly_price": 29.9}, "after": {"monthly_price": 39.0}}
    assert updated["currency"] == "USD"  # the plan's, read from the row: the entry does not name it


def test_the_platform_log_is_for_sysadmins(app, client, make, store, admin):
    sysadmin = make.user(None, role="SYSADMIN")
    client.post("/api/coupons", json={"code": "STORE1", "kind": "fixed", "value": 1}, headers=make.headers(admin, store))
    with app.app_context(), platform_scope(), audit.acting(audit.actor_of(sysadmin)):
        db.session.get(Store, store.id).status = "suspended"
        db.session.commit()
    make.set_status(store, "active")
    url = "/api/sysadmin/audit-log"
    hs = make.headers(sysadmin, store)
    platform = client.get(url, headers=hs).get_json()
    assert [(e["resource_type"], e["store_id"]) for e in platform["items"]] == [("store", None)]
    everything = client.get(url, headers=hs, query_string={"scope": "all"}).get_json()
    assert {e["resource_type"] for e in everything["items"]} == {"store", "coupon"}
    about = client.get(url, headers=hs, query_string={"scope": "all", "store_id": store.id}).get_json()
    assert about["total"] == 2
    # a store admin never reads the platform's log, and their own shows none of its entries
    assert client.get(url, headers=make.headers(admin, store)).status_code == 403
    assert client.get(url).status_code == 401
    store_view = client.get(LOG, headers=make.headers(admin, store)).get_json()
    assert [e["resource_type"] for e in store_view["items"]] == ["coupon"]


def test_the_log_is_append_only(app, store, admin):
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        coupon_service.create_coupon({"code": "X1", "kind": "fixed", "value": 100})
        db.session.commit()
    with app.app_context(), tenant_scope(store):
        entry = db.session.scalar(select(AuditEntry))
        entry.action = "forged"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(AuditEntry)))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.flush()
        db.session.rollback()



def test_an_orders_currency_is_read_from_the_order_not_from_the_logs_history(app, client, shop, store, admin):
    """An order's currency never changes: the amounts of an order's entries that do not name it are
    shown in it with one read of the orders, not a search of the log's later entries of those orders."""
    h = shop.h(admin)
    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers, method="MANUAL")
    with app.app_context(), tenant_scope(store), audit.acting(audit.actor_of(admin)):
        for n in range(3):  # an order's money changed without its currency (as a discount edit would log)
            audit.record("update", "order", order["id"], {"before": {"discount_total": 100 * n},
                                                          "after": {"discount_total": 100 * (n + 1)}})
        db.session.commit()
    query = {"resource_type": "order", "action": "update"}
    status, seen = statements_of(app, client, LOG, headers=h, query_string=query)
    assert status == 200
    items = client.get(LOG, headers=h, query_string=query).get_json()["items"]
    assert sorted(e["changes"]["after"]["discount_total"] for e in items) == [1.0, 2.0, 3.0]
    assert {e["currency"] for e in items} == {"EUR"}
    assert [s for s in seen if "FROM audit_log" in s and "resource_id IN" in s] == []
    assert len([s for s in seen if "FROM orders" in s]) == 1
