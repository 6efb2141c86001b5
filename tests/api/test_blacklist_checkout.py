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


def test_with_caches_on_a_store_that_blocks_nobody_skips_the_lookup_until_an_admin_adds_an_entry(
        app, client, shop, make):
    """Caches as deployed: a store with no entry at all is remembered so (no blacklist lookup on each
    order); an admin's new entry clears that at once, so the very next checkout is refused, and its
    removal lets the buyer through again."""
    from sqlalchemy import event

    app.config["STORE_CACHE_SECONDS"] = 5
    app.extensions.pop("read_caches", None)
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        admin = make.headers(make.user(shop.store, username="boss", email="boss@example.com", role="ADMIN"),
                             shop.store)
        add(client, shop.headers, shop.digital, 1)
        assert checkout(client, shop.headers).status_code == 201  # the first learns there is no entry
        add(client, shop.headers, shop.digital, 1)
        seen.clear()
        assert checkout(client, shop.headers).status_code == 201
        assert not any("FROM blacklist" in s for s in seen)  # nothing to look up
        listed = client.post("/api/admin/blacklist", json={"kind": "email", "value": "Buyer@Example.com"},
                             headers=admin)
        assert listed.status_code == 201, listed.get_json()
        add(client, shop.headers, shop.digital, 1)
        before_counts = counts(shop)
        refused = checkout(client, shop.headers)
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "blacklisted"
        assert counts(shop) == before_counts
        assert client.delete(f"/api/admin/blacklist/{listed.get_json()['id']}", headers=admin).status_code == 204
        assert checkout(client, shop.headers).status_code == 201  # the cart was kept
    finally:
        event.remove(engine, "before_cursor_execute", before)
        app.config["STORE_CACHE_SECONDS"] = 0
        app.extensions.pop("read_caches", None)
