"""The shopper hears when the store ends their unpaid order: an admin cancelling it (or marking it
failed) on the dashboard or through the API queues one 'Your order #N was cancelled' email after
commit, with the reason given and the order's link (a guest: the link of their first email).
An expiry sends nothing, nor does a refused cancellation. The shopper's page of an ended order
speaks to the shopper, not in the staff's words."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from extensions import db
from models import Order
from services import orders
from tenancy import tenant_scope
from tests.web.test_admin_orders_pages import as_role, page_token
from tests.web.test_auth_pages import login
from tests.web.test_cart_checkout_pages import add, checkout, shop, shopper  # noqa: F401 (fixture)

CANCELLED = "Your order #1 was cancelled"


def order_id(app, store, number: int = 1) -> str:
    with app.app_context(), tenant_scope(store):
        return db.session.scalar(select(Order.id).where(Order.order_number == number))


def manual_order(app, client, make, store, shop, *, guest: bool = False) -> str:  # noqa: F811
    """Order #1, MANUAL, waiting; answers the shopper's order page address."""
    if not guest:
        login(client, shopper(make, store, app).username)
    add(client, shop.steam, 1)
    placed = checkout(client, "MANUAL", **({"email": "guest@example.com"} if guest else {}))
    assert placed.status_code == 303, placed.data[:300]
    return placed.headers["Location"]


def test_cancelling_on_the_page_emails_the_buyer_once_with_the_reason(app, client, make, store, shop, mail_outbox):  # noqa: F811
    page_url = manual_order(app, client, make, store, shop)
    mail_outbox.clear()  # the 'order received' email
    manager, _ = as_role(app, make, store, "MANAGER")
    page = manager.get("/admin/orders/1")
    done = manager.post("/admin/orders/1/status", data={"csrf_token": page_token(page), "status": "CANCELLED",
                                                        "note": "The supplier ran out <b>today</b>"})
    assert done.status_code == 303
    (message,) = mail_outbox
    assert message.to == ["shopper@example.com"] and message.subject == CANCELLED
    assert "Reason: The supplier ran out <b>today</b>" in message.body
    assert "nothing was charged" in message.body and "If you already sent the store a payment" in message.body
    assert "http://" in message.body and message.body.count("/account/orders/1") == 1
    html = message.alternatives[0][0]
    assert "Reason: The supplier ran out &lt;b&gt;today&lt;/b&gt;" in html and "/account/orders/1" in html

    again = manager.post("/admin/orders/1/status", data={"csrf_token": page_token(page), "status": "CANCELLED"})
    assert again.status_code == 422  # refused: it is cancelled already
    assert len(mail_outbox) == 1

    shown = client.get(page_url).data.decode()
    assert "The store cancelled this order: it was not paid, so nothing was charged." in shown
    assert "If you already sent the store a payment, contact them about it." in shown
    assert "went back on sale" not in shown  # the staff's words
    assert "went back on sale" in manager.get("/admin/orders/1").data.decode()


def test_the_api_marking_a_guest_order_failed_points_at_the_first_email(app, client, make, store, shop, mail_outbox):  # noqa: F811
    page_url = manual_order(app, client, make, store, shop, guest=True)
    mail_outbox.clear()
    headers = make.headers(make.user(store, role="ADMIN"), store)
    done = app.test_client().put(f"/api/orders/{order_id(app, store)}/status", headers=headers,
                                 json={"status": "FAILED", "note": "  payment never arrived  "})
    assert done.status_code == 200 and done.get_json()["status"] == "FAILED"
    (message,) = mail_outbox
    assert message.to == ["guest@example.com"] and message.subject == CANCELLED
    assert "Reason: payment never arrived\n" in message.body
    assert "the link in your first email about this order" in message.body and "/orders/guest/" not in message.body

    again = app.test_client().put(f"/api/orders/{order_id(app, store)}/status", headers=headers,
                                  json={"status": "CANCELLED"})
    assert again.status_code == 409
    assert len(mail_outbox) == 1
    assert "The store cancelled this order" in client.get(page_url).data.decode()


def test_no_reason_no_reason_line(app, client, make, store, shop, mail_outbox):  # noqa: F811
    manual_order(app, client, make, store, shop)
    mail_outbox.clear()
    headers = make.headers(make.user(store, role="ADMIN"), store)
    done = app.test_client().put(f"/api/orders/{order_id(app, store)}/status", headers=headers,
                                 json={"status": "CANCELLED"})
    assert done.status_code == 200
    (message,) = mail_outbox
    assert message.subject == CANCELLED and "Reason" not in message.body


def test_a_refused_cancellation_sends_nothing(app, client, make, store, shop, mail_outbox):  # noqa: F811
    manual_order(app, client, make, store, shop)
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/orders/1")
    assert admin.post("/admin/orders/1/approve", data={"csrf_token": page_token(page)}).status_code == 303
    mail_outbox.clear()
    headers = make.headers(make.user(store, role="ADMIN"), store)
    refused = app.test_client().put(f"/api/orders/{order_id(app, store)}/status", headers=headers,
                                    json={"status": "CANCELLED"})
    assert refused.status_code == 409
    on_page = admin.post("/admin/orders/1/status", data={"csrf_token": page_token(page), "status": "CANCELLED"})
    assert on_page.status_code == 422
    assert mail_outbox == []


def test_an_expired_order_sends_no_email_and_its_page_speaks_to_the_shopper(app, client, make, store, shop,  # noqa: F811
                                                                             mail_outbox):
    page_url = manual_order(app, client, make, store, shop)
    mail_outbox.clear()
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(Order).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
        assert orders.expire_due() == 1
        db.session.commit()
    assert mail_outbox == []
    shown = client.get(page_url).data.decode()
    assert "This order expired before it was paid: nothing was charged" in shown
    assert "went back on sale" not in shown and "The store cancelled" not in shown
