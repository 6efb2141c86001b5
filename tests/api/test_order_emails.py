"""The buyer's order emails as they arrive: how many, and where their links go (a guest has no
account page: only the secret link of their first email opens their order)."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from extensions import db
from models import Product, Variant
from tests.api.shop import DIGITAL_CODES, in_store, make_coupon, shop_fixture  # noqa: F401 - the shop fixture
from tests.payments import enable_methods, save_hoodpay_keys

SESSION = {"X-Session-ID": "guest-mail-tab"}


def bodies(message) -> tuple[str, str]:
    html = next(content for content, mimetype in message.alternatives if mimetype == "text/html")
    return message.body, html


def add(client, headers, variant_id, quantity=1):
    response = client.post("/api/cart/items", json={"subcategory_id": variant_id, "quantity": quantity},
                           headers=headers)
    assert response.status_code == 200, response.get_json()


def test_a_guests_order_approved_later_is_not_linked_to_an_account_page(client, shop, make, store, mail_outbox):
    add(client, SESSION, shop.digital)
    placed = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", "email": "guest@example.com"},
                         headers=SESSION)
    assert placed.status_code == 201, placed.get_json()
    order = placed.get_json()
    (pending,) = mail_outbox
    assert f"http://127.0.0.1:5000/orders/guest/{order['guest_token']}" in pending.body

    admin = make.user(store, role="ADMIN")
    assert client.post(f"/api/admin/orders/process/{order['id']}", headers=shop.h(admin)).status_code == 200
    assert len(mail_outbox) == 2
    paid = mail_outbox[1]
    assert paid.to == ["guest@example.com"] and paid.subject == f"Your order #{order['order_number']} is ready"
    text, html = bodies(paid)
    for body in (text, html):
        # the codes are in the email; its order page is the guest link of the first email, never a
        # sign-in page the guest has no account for
        assert "/account/orders/" not in body
        assert "link in your first email" in body
    assert any(code in text for code in DIGITAL_CODES)


def test_an_order_with_nothing_to_pay_is_confirmed_once(app, client, shop, store, hoodpay_api, mail_outbox):
    save_hoodpay_keys(app, store, hoodpay_api)
    enable_methods(app, store, "HOODPAY")
    make_coupon(shop, code="FREE", value=10000)  # 100 %
    orders = []
    for headers, body in ((shop.headers, {}), (SESSION, {"email": "guest@example.com"})):
        add(client, headers, shop.digital)
        assert client.post("/api/cart/coupon", json={"code": "FREE"}, headers=headers).status_code == 200
        placed = client.post("/api/orders/checkout", json={"payment_method": "HOODPAY", **body}, headers=headers)
        assert placed.status_code == 201, placed.get_json()
        orders.append(placed.get_json())
        assert (orders[-1]["total"], orders[-1]["status"], orders[-1]["payment_status"]) == (0.0, "COMPLETED", "PAID")
    mine, guests = orders
    # the signed-in buyer: one confirmation, with the codes and their account's order page
    assert [(m.to, m.subject) for m in mail_outbox if m.to == ["buyer@example.com"]] == [
        (["buyer@example.com"], f"Your order #{mine['order_number']} is ready")]
    assert mine["deliverables"][0] in mail_outbox[0].body
    assert f"http://127.0.0.1:5000/account/orders/{mine['order_number']}" in mail_outbox[0].body
    # the guest: one confirmation with the codes, and the 'received' email with their secret link
    to_guest = [m for m in mail_outbox if m.to == ["guest@example.com"]]
    assert sorted(m.subject for m in to_guest) == [f"Order #{guests['order_number']} received",
                                                   f"Your order #{guests['order_number']} is ready"]
    received, = (m for m in to_guest if m.subject.endswith("received"))
    ready, = (m for m in to_guest if m.subject.endswith("ready"))
    assert f"http://127.0.0.1:5000/orders/guest/{guests['guest_token']}" in received.body
    assert "Your payment has arrived" in received.body and "waits for your payment" not in received.body
    assert guests["deliverables"][0] in ready.body
    assert len(mail_outbox) == 3


@pytest.mark.parametrize("name", ['Smith, Jones & Co', 'Keys "R" Us', "Café Über; Ltd."])
def test_a_store_name_with_punctuation_still_sends_its_emails(app, client, shop, store, mail_outbox, name):
    with app.app_context():
        fresh = db.session.merge(store)
        fresh.name = name
        db.session.commit()
    assert client.post("/api/auth/forgot-password", json={"email": "buyer@example.com"}).status_code == 202
    add(client, shop.headers, shop.digital)
    assert client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).status_code == 201
    assert [m.subject for m in mail_outbox] == [f"Reset your {name} password", "Your order #1 is ready"]
    for message in mail_outbox:
        with app.app_context():  # the message as it goes over SMTP (its headers built)
            parsed = message_from_bytes(message.message().as_bytes(), policy=default)
        assert parsed["From"].addresses[0].display_name == name
        assert parsed["From"].addresses[0].addr_spec == "no-reply@localhost"


@pytest.mark.parametrize("name", ["Keys\r\nBcc: everyone@example.com", "Two\nlines"])
def test_a_store_name_on_two_lines_is_refused_and_changes_nothing(client, shop, make, store, name):
    """Its emails could not be sent at all (a line break in From and the subjects)."""
    admin = make.user(store, role="ADMIN")
    before = client.get("/api/admin/config", headers=shop.h(admin)).get_json()
    for key in ("name", "store_name"):
        response = client.post("/api/admin/config/update", json={key: name}, headers=shop.h(admin))
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["details"]["name"] == ["the store name must be 1-120 characters on one line"]
    assert client.get("/api/admin/config", headers=shop.h(admin)).get_json() == before
    sysadmin = make.user(None, role="SYSADMIN")
    response = client.put(f"/api/sysadmin/tenants/{store.id}", json={"name": name}, headers=make.headers(sysadmin, store))
    assert response.status_code == 422 and response.get_json()["error"]["details"] == {"name": ["invalid name"]}
    response = client.post("/api/sysadmin/tenants", headers=make.headers(sysadmin, store),
                           json={"slug": "twolines", "name": name, "admin_email": "owner@example.com"})
    assert response.status_code == 422 and response.get_json()["error"]["details"] == {"name": ["invalid name"]}
    assert client.get("/api/admin/config", headers=shop.h(admin)).get_json()["name"] == before["name"]


def test_a_title_with_a_line_break_still_gets_its_low_stock_alert(client, shop, make, store, mail_outbox):
    admin = make.user(store, role="ADMIN", email="owner@example.com")
    with in_store(shop) as session:
        session.get(Product, shop.product).title = "Steam\nCard"
        session.get(Variant, shop.digital).title = "10\r\nEUR"
        session.commit()
    add(client, shop.headers, shop.digital, 2)  # 6 codes -> 4, under the threshold of 5
    assert client.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).status_code == 201
    alerts = [m for m in mail_outbox if m.to == [admin.email]]
    assert [m.subject for m in alerts] == ["Low stock: Steam Card – 10 EUR"]
    assert "has 4 left" in alerts[0].body
    # absolute, on the store's address: the subcategory's stock page
    page = f"http://127.0.0.1:5000/admin/subcategories/{shop.digital}/stock"
    text, html = bodies(alerts[0])
    assert page in text and f'href="{page}"' in html


def test_the_placed_email_of_an_order_paid_before_it_went_out_is_not_a_second_confirmation(
        app, client, shop, make, store, mail_outbox):
    """A busy or restarted worker sends the 'order received' email of a checkout after the order was
    paid: the buyer is confirmed once (by the payment's email), not twice."""
    from transactions import execute

    add(client, shop.headers, shop.digital)
    order = client.post("/api/orders/checkout", json={"payment_method": "MANUAL"}, headers=shop.headers).get_json()
    admin = make.user(store, role="ADMIN")
    assert client.post(f"/api/admin/orders/process/{order['id']}", headers=shop.h(admin)).status_code == 200
    assert [m.subject for m in mail_outbox] == [f"Order #{order['order_number']} received",
                                               f"Your order #{order['order_number']} is ready"]
    # the checkout's job, as a late worker runs it (its arguments as notify_placed queued them)
    assert execute(app, "jobs.emails.send_order_email", store.id, [order["id"]], {"guest_token": None, "placed": True}) is None
    assert len(mail_outbox) == 2
