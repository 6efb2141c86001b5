"""Where people see a review reward taken back by a refund: the admin's message after refunding on
the order page and the order's timeline; the shopper's balance history."""
from __future__ import annotations

from models import Store
from services import stores as store_service
from tests.api.shop import in_store, shop_fixture  # noqa: F401 - the shop fixture
from tests.web.test_admin_orders_pages import page_token
from tests.web.test_admin_payments_pages import admin_client, text
from tests.web.test_auth_pages import login


def test_the_admin_and_the_shopper_see_the_reward_taken_back(app, client, store, make, shop):
    with in_store(shop) as session:
        store_service.update_settings(session.get(Store, store.id), {"review_reward": 10})
        session.commit()
    api = app.test_client()
    assert api.post("/api/cart/items", json={"subcategory_id": shop.digital, "quantity": 1},
                    headers=shop.headers).status_code == 200
    order = api.post("/api/orders/checkout", json={"payment_method": "BALANCE"}, headers=shop.headers).get_json()
    assert api.post(f"/api/orders/{order['id']}/create-review", json={"rating": 5},
                    headers=shop.headers).status_code == 201
    admin = admin_client(app, make, store)
    number = order["order_number"]
    page = admin.get(f"/admin/orders/{number}")

    done = admin.post(f"/admin/orders/{number}/refund", data={"csrf_token": page_token(page), "amount": "",
                                                               "destination": "original"})

    assert done.status_code == 303
    words = text(admin.get(f"/admin/orders/{number}"))
    assert ("Refunded €10.00 to the buyer's balance. The review reward paid for this order loses the refunded "
            "share: €1.00 taken back from the buyer's balance.") in words
    assert "Review reward taken back: 1.00 EUR" in words  # the timeline
    login(client, "buyer")
    history = text(client.get("/account/balance"))
    assert f"Review reward taken back · #{number}" in history
    assert f"Review reward · #{number}" in history  # the reward itself, still listed
