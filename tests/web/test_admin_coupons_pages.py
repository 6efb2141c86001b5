"""Dashboard coupons (Manager+, as the API): the list with each coupon's uses, create, edit,
delete, and service refusals shown next to their field with 422 and nothing saved."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Coupon, Store, User, Variant
from services import balance, checkout, stock
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role, page_token

FIELDS = {"code": "spring-10", "kind": "percent", "value": "10", "min_subtotal": "", "max_uses": "5",
          "max_uses_per_customer": "", "starts_at": "", "ends_at": "", "category_id": "", "description": "Spring sale",
          "is_active": "y"}


def coupons_in(app, store) -> list[Coupon]:
    with app.app_context(), tenant_scope(store):
        return list(db.session.scalars(select(Coupon).order_by(Coupon.code)))


def create(client, **fields):
    page = client.get("/admin/coupons/new")
    assert page.status_code == 200
    return client.post("/admin/coupons/new", data={**FIELDS, **fields, "csrf_token": page_token(page)})


@pytest.fixture
def manager(app, make, store):
    return as_role(app, make, store, "MANAGER")[0]


def test_access_is_manager_and_up(app, make, store, client):
    assert client.get("/admin/coupons").status_code == 302
    for role in ("USER", "STAFF"):
        other, _ = as_role(app, make, store, role)
        assert other.get("/admin/coupons").status_code == 403
        assert other.get("/admin/coupons/new").status_code == 403
    manager, _ = as_role(app, make, store, "MANAGER")
    page = manager.get("/admin/coupons")
    assert page.status_code == 200 and b"No coupons yet" in page.data and b'href="/admin/coupons"' in page.data
    assert as_role(app, make, store, "ADMIN")[0].get("/admin/coupons").status_code == 200
    staff, _ = as_role(app, make, store, "STAFF")
    token = page_token(staff.get("/admin/orders"))
    assert staff.post("/admin/coupons/new", data={**FIELDS, "csrf_token": token}).status_code == 403
    assert coupons_in(app, store) == []


def test_create_then_list_shows_uses_after_a_checkout(app, make, store, manager):
    response = create(manager)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/coupons")
    assert create(manager, code="FIVE-OFF", kind="fixed", value="5.00", max_uses="", min_subtotal="20").status_code == 302
    (five, spring) = coupons_in(app, store)
    assert (spring.code, spring.kind, spring.value, spring.max_uses, spring.description) == ("SPRING-10", "percent", 1000, 5, "Spring sale")
    assert (five.value, five.min_subtotal, five.max_uses) == (500, 2000, None)

    ann = make.user(store, username="ann", email="ann@example.com")
    with make.scope(store):
        balance.credit(ann.id, 6_000, "topup", reason="test")
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Gift", "variants": [{"title": "1 month", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "A\nB\nC")
        buyer = db.session.get(User, ann.id)
        cart = cart_service.get_cart(user=buyer)
        cart_service.add_item(cart, variant.id, 2)
        cart_service.apply_coupon(cart, "spring-10", buyer=buyer, customer_key=buyer.id)
        checkout.place_order(db.session.get(Store, store.id), cart, buyer=buyer, method="BALANCE")
        db.session.commit()

    html = manager.get("/admin/coupons").data.decode()
    assert "2 coupons" in html
    rows = re.findall(r'<tr data-testid="coupon-row">(.*?)</tr>', html, re.S)
    spring_row = next(r for r in rows if "SPRING-10" in r)
    assert "10 %" in spring_row and re.search(r"1 / 5\b", spring_row) and "Active" in spring_row
    five_row = next(r for r in rows if "FIVE-OFF" in r)
    assert "5.00" in five_row and "0 / ∞" in five_row
    # search and the state filter, as a page and as an htmx fragment
    found = manager.get("/admin/coupons?q=five", headers={"HX-Request": "true"}).data.decode()
    assert "FIVE-OFF" in found and "SPRING-10" not in found and "<html" not in found
    assert b"No coupons match" in manager.get("/admin/coupons?active=inactive").data


def test_paging(app, make, store, manager):
    with app.app_context(), tenant_scope(store):
        from services import coupons

        for i in range(23):
            coupons.create_coupon({"code": f"C{i:02d}", "kind": "percent", "value": 500})
        db.session.commit()
    first = manager.get("/admin/coupons").data.decode()
    assert first.count('data-testid="coupon-row"') == 20 and "Page 1 of 2" in first
    second = manager.get("/admin/coupons?page=2").data.decode()
    assert second.count('data-testid="coupon-row"') == 3


@pytest.mark.parametrize("fields, field_id, text", [
    ({"code": "spring-10"}, "code", "already exists"),
    ({"code": "bad code!"}, "code", "A coupon code"),
    ({"value": "150"}, "value", "at most 100"),
    ({"value": "abc"}, "value", "Not a number: enter a percentage such as 15"),
    ({"kind": "fixed", "value": "1.999"}, "value", "decimals"),
    ({"kind": "fixed", "value": "1,5"}, "value", "Not a number: use a dot before the decimals (1.5, not 1,5)"),
    ({"min_subtotal": "abc"}, "min_subtotal", "Not a number: enter an amount such as 5.00"),
    ({"max_uses": "0"}, "max_uses", "A whole number from 1 to 2,147,483,647; empty for no limit"),
    # beyond the INTEGER / BIGINT columns: a message, not a 500 from the database
    ({"max_uses": "99999999999999999999"}, "max_uses", "A whole number from 1 to 2,147,483,647"),
    ({"max_uses_per_customer": "2147483648"}, "max_uses_per_customer", "A whole number from 1 to 2,147,483,647"),
    ({"kind": "fixed", "value": "99999999999999999999"}, "value", "The amount off is too large"),
    ({"min_subtotal": "99999999999999999999"}, "min_subtotal", "The minimum subtotal is too large"),
    ({"starts_at": "2030-01-02T00:00", "ends_at": "2030-01-01T00:00"}, "ends_at", "The coupon must end after it starts"),
])
def test_refusals_are_field_messages_with_422_and_nothing_saved(app, store, manager, fields, field_id, text):
    assert create(manager).status_code == 302
    response = create(manager, **{"code": "OTHER", **fields})
    html = response.data.decode()
    assert response.status_code == 422
    assert re.search(rf'id="{field_id}-err">[^<]*{re.escape(text)}', html), html[html.find("error"):][:400]
    assert [c.code for c in coupons_in(app, store)] == ["SPRING-10"]


def test_edit_and_delete(app, store, manager):
    assert create(manager).status_code == 302
    assert create(manager, code="TAKEN").status_code == 302
    coupon = next(c for c in coupons_in(app, store) if c.code == "SPRING-10")
    page = manager.get(f"/admin/coupons/{coupon.id}")
    html = page.data.decode()
    assert page.status_code == 200 and 'value="SPRING-10"' in html and 'value="10"' in html
    token = page_token(page)
    changed = {**FIELDS, "code": "summer-20", "value": "12.5", "max_uses": "", "ends_at": "2999-01-01T00:00",
               "csrf_token": token}
    assert manager.post(f"/admin/coupons/{coupon.id}", data=changed).status_code == 302
    saved = next(c for c in coupons_in(app, store) if c.id == coupon.id)
    assert (saved.code, saved.value, saved.max_uses, saved.ends_at.year) == ("SUMMER-20", 1250, None, 2999)
    refused = manager.post(f"/admin/coupons/{coupon.id}", data={**changed, "code": "taken", "value": "30"})
    assert refused.status_code == 422 and b"already exists" in refused.data
    saved = next(c for c in coupons_in(app, store) if c.id == coupon.id)
    assert (saved.code, saved.value) == ("SUMMER-20", 1250)
    with app.app_context(), tenant_scope(store):  # used three times: a limit of two says so, in words
        db.session.get(Coupon, coupon.id).uses_count = 3
        db.session.commit()
    below = manager.post(f"/admin/coupons/{coupon.id}", data={**changed, "max_uses": "2"})
    assert below.status_code == 422
    assert re.search(r'id="max_uses-err">The limit of uses cannot be below the 3 already made<', below.data.decode())
    assert manager.post(f"/admin/coupons/{coupon.id}/delete", data={"csrf_token": token}).status_code == 302
    assert [c.code for c in coupons_in(app, store)] == ["TAKEN"]
    assert manager.get(f"/admin/coupons/{coupon.id}").status_code == 404


def test_a_coupons_description_and_minimum_sit_under_its_code_and_value(app, store, manager):
    assert create(manager, code="FIVE-OFF", kind="fixed", value="5.00", min_subtotal="20",
                  description="Five off").status_code == 302
    html = manager.get("/admin/coupons").data.decode()
    assert 'FIVE-OFF</a><br><small class="muted">Five off</small>' in html
    assert '<br><small class="muted">from €20.00</small>' in html
