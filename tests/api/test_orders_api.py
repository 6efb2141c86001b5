"""Orders API: checkout (users, guests, Seed B), refusals that change nothing, visibility, staff
actions (status, fulfil, timeline, email), Seed B admin (list, gift, approve)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import Order, OrderEvent, OrderLine, StockItem
from services import stores as store_service

from .conftest import error_code
from .shop import ADDRESS, DIGITAL_CODES, counts, in_store, set_price, ship, shop_fixture  # noqa: F401

SESSION = {"X-Session-ID": "guest-tab"}


def add(client, headers, variant_id, quantity=1):
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def checkout(client, headers, method="BALANCE", path="/api/orders/checkout", **body):
    return client.post(path, json={"payment_method": method, **body}, headers=headers)


def test_balance_checkout_answers_the_delivered_order(client, shop):
    add(client, shop.headers, shop.digital, 2)
    response = checkout(client, shop.headers, note="thanks")
    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert (order["status"], order["payment_status"], order["payment_method"]) == ("COMPLETED", "PAID", "BALANCE")
    # absolute, on the host the request went to: a client on another host opens it as it is
    assert order["redirect_url"] == f"http://localhost/account/orders/{order['order_number']}"
    assert "guest_token" not in order
    assert (order["total"], order["subtotal"], order["item_count"], order["amount"]) == (20.0, 20.0, 2, 2)
    assert order["buyer"] == {"id": shop.buyer.id, "username": "buyer"} and order["note"] == "thanks"
    assert len(set(order["deliverables"])) == 2 and set(order["deliverables"]) <= set(DIGITAL_CODES)
    (line,) = order["lines"]
    assert line["delivered_count"] == 2 and [i["deliverable"] for i in line["items"]] == order["deliverables"]
    assert order["cart_snapshot"][0]["unit_price"] == 10.0
    assert order["replacements"] == []  # none asked for yet (tests/api/test_replacements_api.py)
    assert counts(shop)["balance"] == 3000 and counts(shop)["cart_items"] == 0
    # the buyer's first look was logged once
    with in_store(shop) as session:
        kinds = list(session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order["id"])))
        assert kinds.count("revealed") == 1
        assert session.scalar(select(StockItem.first_revealed_ip).where(StockItem.order_id == order["id"])) is not None


def test_an_order_paid_at_checkout_is_not_placed_after_it_was_paid(client, shop, make, store):
    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers).get_json()
    assert order["created_at"] == order["paid_at"] == order["completed_at"], order
    with in_store(shop) as session:
        row = session.get(Order, order["id"])
        assert row.created_at == row.paid_at == row.completed_at
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == row.id)).all()
        assert lines and all(line.created_at == row.paid_at == line.paid_at for line in lines)
    # a gift is created, paid and delivered in one step too
    admin = make.user(store, role="ADMIN")
    gift = client.post("/api/admin/orders/create-and-approve", headers=shop.h(admin),
                       json={"userId": shop.buyer.id, "subcategoryId": shop.digital, "amount": 1}).get_json()
    assert gift["created_at"] == gift["paid_at"] == gift["completed_at"], gift


def test_seed_b_checkout_is_the_same_service(client, shop):
    client.post("/api/user/cart/update", json={"subcategoryId": shop.digital, "amount": 1}, headers=shop.headers)
    response = checkout(client, shop.headers, path="/api/orders/cart/checkout")
    assert response.status_code == 201 and response.get_json()["redirect_url"].startswith("http://localhost/account/orders/")
    assert checkout(client, SESSION, path="/api/orders/cart/checkout").status_code == 401


@pytest.mark.parametrize("method,code", [("BITCOIN", "payment_method_unavailable"),
                                         ("STRIPE", "payment_method_unavailable"), ("", "validation_error")])
def test_unknown_or_disabled_payment_methods_are_refused(client, shop, method, code):
    add(client, shop.headers, shop.digital)
    before = counts(shop)
    response = checkout(client, shop.headers, method=method)
    assert response.status_code == 422 and error_code(response) == code
    assert counts(shop) == before


def test_refusals_change_nothing(client, shop):
    response = checkout(client, shop.headers)
    assert response.status_code == 422 and error_code(response) == "cart_empty"
    add(client, shop.headers, shop.physical, 3)  # 75.00 > 50.00 of balance
    before = counts(shop)
    response = checkout(client, shop.headers)  # physical items: where to?
    assert response.status_code == 422 and error_code(response) == "shipping_address_required"
    assert counts(shop) == before
    response = checkout(client, shop.headers, **ship(shop))
    assert response.status_code == 409 and error_code(response) == "insufficient_balance"
    assert counts(shop) == before
    response = checkout(client, {}, method="MANUAL", email="x@example.com")
    assert response.status_code == 400 and error_code(response) == "no_cart_owner"


def test_guest_checkout_needs_an_email_and_no_balance(client, shop, make, store):
    add(client, SESSION, shop.digital, 1)
    response = checkout(client, SESSION)
    assert response.status_code == 422 and error_code(response) == "balance_needs_account"
    response = checkout(client, SESSION, method="MANUAL")
    assert response.status_code == 422
    response = checkout(client, SESSION, method="MANUAL", email="Guest@Example.com")
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "PENDING" and order["email"] == "guest@example.com" and order["buyer"] is None
    assert order["redirect_url"] == f"http://localhost/orders/guest/{order['guest_token']}"
    assert order["deliverables"] == []
    assert counts(shop)["stock"] == 5  # reserved
    # the admin approves it (Seed B process): paid and delivered; twice is refused
    admin = make.user(store, role="ADMIN")
    approved = client.post(f"/api/admin/orders/process/{order['id']}", headers=shop.h(admin))
    assert approved.status_code == 200 and approved.get_json()["status"] == "COMPLETED"
    assert len(approved.get_json()["deliverables"]) == 1
    again = client.post(f"/api/admin/orders/process/{order['id']}", headers=shop.h(admin))
    assert again.status_code == 409 and error_code(again) == "order_not_pending"


def test_a_changed_price_is_shown_first_then_the_second_checkout_passes(client, shop):
    add(client, shop.headers, shop.digital, 1)
    set_price(shop, shop.digital, 1200)
    response = checkout(client, shop.headers)
    assert response.status_code == 409 and error_code(response) == "price_changed"
    details = response.get_json()["error"]["details"]
    assert details["currency"] == "EUR"  # the prices in major units, as everywhere in the API
    assert details["lines"] == [{"subcategory_id": shop.digital, "seen_price": 10.0, "price": 12.0, "currency": "EUR"}]
    assert counts(shop)["orders"] == 0
    line = client.get("/api/cart", headers=shop.headers).get_json()["items"][0]
    assert not line["price_changed"] and line["seen_price"] == 12.0
    response = checkout(client, shop.headers)
    assert response.status_code == 201 and response.get_json()["total"] == 12.0


def test_sold_out_lines_answer_out_of_stock(client, shop, make, store):
    rival = make.user(store, balance=10000)
    add(client, shop.headers, shop.digital, 4)
    add(client, shop.h(rival), shop.digital, 4)
    assert checkout(client, shop.h(rival)).status_code == 201
    response = checkout(client, shop.headers)
    assert response.status_code == 409 and error_code(response) == "out_of_stock"
    assert response.get_json()["error"]["details"]["lines"][0]["available"] == 2


def test_an_order_is_seen_by_its_buyer_and_staff_only(client, shop, make, store):
    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers).get_json()
    other, staff = make.user(store), make.user(store, role="STAFF")
    mine = client.get(f"/api/orders/{order['id']}", headers=shop.headers)
    assert mine.status_code == 200 and mine.get_json()["deliverables"] == order["deliverables"]
    assert "redirect_url" not in mine.get_json()
    seen = client.get(f"/api/orders/{order['id']}", headers=shop.h(staff)).get_json()
    assert seen["deliverables"] == order["deliverables"]
    for path in (f"/api/orders/{order['id']}", f"/api/orders/by-number/{order['order_number']}"):
        response = client.get(path, headers=shop.h(other))
        assert response.status_code == 404 and error_code(response) == "order_not_found"
        assert client.get(path).status_code == 401
    assert client.get(f"/api/orders/by-number/{order['order_number']}", headers=shop.headers).status_code == 200
    assert client.get(f"/api/orders/by-number/%23{order['order_number']}", headers=shop.h(staff)).status_code == 200
    for number in ("abc", "99999999999999999999999", "0", "-1"):
        assert client.get(f"/api/orders/by-number/{number}", headers=shop.h(staff)).status_code == 404
    assert client.get("/api/orders/" + "x" * 80, headers=shop.h(staff)).status_code == 404


def test_lists_filters_and_my_orders(client, shop, make, store):
    staff, other = make.user(store, role="STAFF"), make.user(store, balance=5000)
    add(client, shop.headers, shop.digital, 1)
    first = checkout(client, shop.headers).get_json()
    add(client, shop.h(other), shop.digital, 1)
    second = checkout(client, shop.h(other), method="MANUAL").get_json()
    listed = client.get("/api/orders", headers=shop.h(staff)).get_json()
    assert listed["total"] == 2 and [o["id"] for o in listed["items"]] == [second["id"], first["id"]]
    assert "deliverables" not in listed["items"][1] and "items" not in listed["items"][1]["lines"][0]
    assert listed["items"][1]["lines"][0]["product_title"] == "Steam Card"
    by_status = client.get("/api/orders?status=pending", headers=shop.h(staff)).get_json()
    assert [o["id"] for o in by_status["items"]] == [second["id"]]
    paid = client.get("/api/orders?payment_status=PAID&sort_by=order_number&sort_dir=asc", headers=shop.h(staff))
    assert [o["id"] for o in paid.get_json()["items"]] == [first["id"]]
    search = client.get(f"/api/orders?search=%23{first['order_number']}", headers=shop.h(staff)).get_json()
    assert [o["id"] for o in search["items"]] == [first["id"]]
    assert client.get("/api/orders?search=" + "9" * 40, headers=shop.h(staff)).get_json()["total"] == 0
    assert client.get("/api/orders?search=buyer", headers=shop.h(staff)).get_json()["total"] == 1
    assert client.get("/api/orders?date_from=2000-01-01&date_to=2999-12-31",
                      headers=shop.h(staff)).get_json()["total"] == 2
    assert client.get("/api/orders?date_to=2000-01-01", headers=shop.h(staff)).get_json()["total"] == 0
    # a day means the whole UTC day; a date-time, even midnight, means that moment
    today = datetime.now(UTC).date().isoformat()
    assert client.get(f"/api/orders?date_from={today}&date_to={today}", headers=shop.h(staff)).get_json()["total"] == 2
    midnight = client.get(f"/api/orders?date_to={today}T00:00:00%2B00:00", headers=shop.h(staff))
    assert midnight.status_code == 200 and midnight.get_json()["total"] == 0
    assert client.get("/api/orders?date_to=soon", headers=shop.h(staff)).status_code == 422
    page = client.get("/api/orders?page=2&page_size=1", headers=shop.h(staff)).get_json()
    assert (page["page"], page["pages"], len(page["items"])) == (2, 2, 1)
    assert client.get("/api/orders?status=LOST", headers=shop.h(staff)).status_code == 422
    assert client.get("/api/orders", headers=shop.headers).status_code == 403
    mine = client.get("/api/orders/my-orders", headers=shop.headers).get_json()
    assert [o["id"] for o in mine["items"]] == [first["id"]] and mine["total"] == 1


def test_status_changes_are_legal_only_and_release_stock(client, shop, make, store):
    manager = make.user(store, role="MANAGER")
    add(client, shop.headers, shop.digital, 2)
    order = checkout(client, shop.headers, method="MANUAL").get_json()
    assert counts(shop)["stock"] == 4
    url = f"/api/orders/{order['id']}/status"
    assert client.put(url, json={"status": "SHIPPED"}, headers=shop.h(manager)).status_code == 422
    bad = client.put(url, json={"status": "COMPLETED"}, headers=shop.h(manager))
    assert bad.status_code == 409 and error_code(bad) == "illegal_transition"
    done = client.put(url, json={"status": "cancelled", "note": "asked by phone"}, headers=shop.h(manager))
    assert done.status_code == 200 and done.get_json()["status"] == "CANCELLED"
    assert counts(shop)["stock"] == 6
    assert client.put(url, json={"status": "CANCELLED"}, headers=shop.h(manager)).status_code == 409


def test_fulfil_ships_physical_orders_and_completes_them(client, shop, make, store):
    admin, staff = make.user(store, role="ADMIN"), make.user(store, role="STAFF")
    add(client, shop.headers, shop.physical, 1)
    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers, method="MANUAL", **ship(shop)).get_json()
    url = f"/api/orders/{order['id']}/fulfill"
    body = {"carrier": "DHL", "tracking_number": "JD0001", "tracking_url": "https://dhl.example/JD0001"}
    unpaid = client.post(url, json=body, headers=shop.h(staff))
    assert unpaid.status_code == 409 and error_code(unpaid) == "order_not_paid"
    paid = client.post(f"/api/admin/orders/process/{order['id']}", headers=shop.h(admin)).get_json()
    assert paid["status"] == "PROCESSING"
    assert client.post(url, json={**body, "tracking_url": "javascript:alert(1)"},
                       headers=shop.h(staff)).status_code == 422
    shipped = client.post(url, json=body, headers=shop.h(staff))
    assert shipped.status_code == 200, shipped.get_json()
    shipped = shipped.get_json()
    assert shipped["status"] == "COMPLETED" and shipped["carrier"] == "DHL" and shipped["fulfilled_at"]
    assert shipped["tracking_url"] == "https://dhl.example/JD0001"
    timeline = client.get(f"/api/orders/{order['id']}/timeline", headers=shop.h(staff)).get_json()
    kinds = [e["kind"] for e in timeline["items"]]
    assert kinds[0] == "created" and "paid" in kinds and "fulfilled" in kinds
    assert next(e for e in timeline["items"] if e["kind"] == "fulfilled")["actor"] == staff.username
    # a digital-only order has nothing to ship
    add(client, shop.headers, shop.digital, 1)
    digital = checkout(client, shop.headers).get_json()
    response = client.post(f"/api/orders/{digital['id']}/fulfill", json=body, headers=shop.h(staff))
    assert response.status_code == 409 and error_code(response) == "nothing_to_ship"


def test_resend_email(client, shop, make, store, mail_outbox):
    staff = make.user(store, role="STAFF")
    add(client, shop.headers, shop.digital, 1)
    order = checkout(client, shop.headers).get_json()
    mail_outbox.clear()
    response = client.post(f"/api/orders/{order['id']}/resend-email", headers=shop.h(staff))
    assert response.status_code == 202
    assert [m.to for m in mail_outbox] == [["buyer@example.com"]]
    assert order["deliverables"][0] in mail_outbox[0].body
    assert client.post("/api/orders/nope/resend-email", headers=shop.h(staff)).status_code == 404
    # an order that ended unpaid has no confirmation: it would say it still waits for payment
    add(client, shop.headers, shop.digital, 1)
    unpaid = checkout(client, shop.headers, method="MANUAL").get_json()
    manager = make.user(store, role="MANAGER")
    cancelled = client.put(f"/api/orders/{unpaid['id']}/status", json={"status": "CANCELLED"}, headers=shop.h(manager))
    assert cancelled.status_code == 200
    mail_outbox.clear()
    refused = client.post(f"/api/orders/{unpaid['id']}/resend-email", headers=shop.h(staff))
    assert refused.status_code == 409 and error_code(refused) == "order_not_confirmable" and mail_outbox == []


def test_seed_b_admin_orders_and_gifts(client, shop, make, store, other_store):
    admin = make.user(store, role="ADMIN")
    stranger = make.user(other_store)
    body = {"userId": shop.buyer.id, "subcategoryId": shop.digital, "amount": 2, "note": "sorry"}
    response = client.post("/api/admin/orders/create-and-approve", json=body, headers=shop.h(admin))
    assert response.status_code == 201, response.get_json()
    gift = response.get_json()
    assert gift["is_gift"] and gift["total"] == 0 and gift["status"] == "COMPLETED" and len(gift["deliverables"]) == 2
    assert gift["adjustments"] == [{"kind": "gift", "label": f"Gift from {admin.username}", "amount": -20.0,
                                    "included": False}]
    assert counts(shop)["balance"] == 5000
    for bad, status in (({**body, "userId": stranger.id}, 404), ({**body, "subcategoryId": "nope"}, 404),
                        ({**body, "amount": 0}, 422), ({**body, "amount": 1.5}, 422), ({**body, "amount": 10}, 409)):
        assert client.post("/api/admin/orders/create-and-approve", json=bad,
                           headers=shop.h(admin)).status_code == status, bad
    listed = client.get("/api/admin/orders?search=buyer", headers=shop.h(admin)).get_json()
    assert [o["id"] for o in listed["items"]] == [gift["id"]]
    mine = client.get("/api/orders/my-orders", headers=shop.headers).get_json()
    assert mine["items"][0]["is_gift"]


def test_a_physical_gift_ships_to_the_recipients_default_address(client, shop, make, store):
    admin, staff = make.user(store, role="ADMIN"), make.user(store, role="STAFF")
    body = {"userId": shop.buyer.id, "subcategoryId": shop.physical, "amount": 1}
    # no address to ship to: refused (it could not be fulfilled), nothing written
    refused = client.post("/api/admin/orders/create-and-approve", json=body, headers=shop.h(admin))
    assert refused.status_code == 422 and error_code(refused) == "shipping_address_required"
    assert "buyer has no default shipping address" in refused.get_json()["error"]["message"]
    assert (counts(shop)["orders"], counts(shop)["physical"]) == (0, 3)
    home = {**ADDRESS, "name": "Home"}
    assert client.post("/api/addresses", json=home, headers=shop.headers).status_code == 201
    response = client.post("/api/admin/orders/create-and-approve", json=body, headers=shop.h(admin))
    assert response.status_code == 201, response.get_json()
    gift = response.get_json()
    assert (gift["status"], gift["is_gift"], gift["total"]) == ("PROCESSING", True, 0)
    assert {k: gift["shipping_address"][k] for k in home} == home
    assert counts(shop)["physical"] == 2
    shipped = client.post(f"/api/orders/{gift['id']}/fulfill", json={"carrier": "CTT", "tracking_number": "RR1PT"},
                          headers=shop.h(staff))
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "COMPLETED"


def test_a_disabled_method_of_the_store_settings_is_refused(client, shop):
    with in_store(shop) as session:
        from models import Store

        store_service.update_settings(session.get(Store, shop.store.id),
                                      {"payment_methods": [{"name": "BALANCE", "enabled": False},
                                                           {"name": "MANUAL", "enabled": True}]})
        session.commit()
    add(client, shop.headers, shop.digital, 1)
    response = checkout(client, shop.headers)
    assert response.status_code == 422 and error_code(response) == "payment_method_unavailable"
    assert checkout(client, shop.headers, method="manual").status_code == 201


def test_a_failed_checkout_keeps_the_merged_guest_cart(client, shop):
    add(client, SESSION, shop.physical, 3)  # 75.00: more than the buyer's 50.00
    response = checkout(client, {**shop.headers, **SESSION}, **ship(shop))
    assert response.status_code == 409 and error_code(response) == "insufficient_balance"
    cart = client.get("/api/cart", headers=shop.headers).get_json()
    assert [(i["subcategory_id"], i["quantity"]) for i in cart["items"]] == [(shop.physical, 3)]
    assert client.get("/api/cart", headers=SESSION).get_json()["id"] is None
    assert counts(shop)["orders"] == 0 and counts(shop)["physical"] == 3


def test_a_method_the_store_enabled_but_that_is_not_configured_is_refused(client, shop):
    """Which methods can be used is one rule (services.payments): enabled AND configured. With no
    Stripe keys on the platform, an order for STRIPE is refused and nothing changes."""
    with in_store(shop) as session:
        from models import Store

        store_service.update_settings(session.get(Store, shop.store.id),
                                      {"payment_methods": [{"name": "BALANCE", "enabled": True},
                                                           {"name": "STRIPE", "enabled": True}]})
        session.commit()
    add(client, shop.headers, shop.digital, 1)
    before = counts(shop)
    response = checkout(client, shop.headers, method="STRIPE")
    assert response.status_code == 422 and error_code(response) == "payment_method_unavailable"
    assert response.get_json()["error"]["message"] == "Card (Stripe) is not available at this store right now"
    assert counts(shop) == before
    config = client.get("/api/public/config").get_json()
    assert {m["name"]: m["available"] for m in config["payment_methods"]} == {"BALANCE": True}
