"""The blacklist holds at checkout too (issue 11): a listed email, username or address cannot
place an order, through the API or the shop; nothing is sold and the cart stays."""
from __future__ import annotations

from extensions import db
from models import Blacklist
from tenancy import tenant_scope
from tests.api.shop import counts, shop_fixture  # noqa: F401
from tests.api.test_orders_api import add, checkout


def _block(shop, kind: str, value: str) -> None:
    with shop.app.app_context(), tenant_scope(shop.store):
        db.session.add(Blacklist(kind=kind, value=value, reason="fraud"))
        db.session.commit()


def test_a_blacklisted_buyer_cannot_check_out_and_keeps_the_cart(client, shop):
    add(client, shop.headers, shop.digital, 2)
    _block(shop, "email", "buyer@example.com")
    before = counts(shop)
    refused = checkout(client, shop.headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "blacklisted"
    assert counts(shop) == before
    assert len(client.get("/api/cart", headers=shop.headers).get_json()["items"]) == 1


def test_a_blacklisted_address_blocks_a_guest(client, shop):
    guest = {"X-Session-ID": "guest-session-blacklist-0001"}
    add(client, guest, shop.digital, 1)
    _block(shop, "ip", "203.0.113.7")
    refused = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", "email": "someone@example.com"},
                          headers=guest, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "blacklisted"
