"""The buyer's side of replacements on the order page: each item's warranty, the request form, an
automatic replacement shown at once, a refusal shown next to the item, a declined request's reason."""
from __future__ import annotations

import re

from extensions import db
from models import Product
from services import products as product_service
from services import replacements
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf, login
from tests.web.test_cart_checkout_pages import add, checkout, codes, shop, shopper  # noqa: F401 - the `shop` fixture


def _settings(app, store, **replacement):
    with app.app_context(), tenant_scope(store):
        for product in db.session.query(Product).all():
            product_service.update_product(product, {"replacement_settings": replacement})
        db.session.commit()


def _bought(app, client, store, make, shop, quantity=1):
    user = shopper(make, store, app, balance_minor=10_000)
    login(client, user.username)
    add(client, shop.steam, quantity)
    assert checkout(client, "BALANCE").status_code == 303
    return user


def _item_ids(html: str) -> list[str]:
    return re.findall(r'name="stock_item_id" value="([0-9a-f-]{36})"', html)


def test_an_item_within_warranty_offers_a_replacement_served_at_once(app, client, store, make, shop):
    _settings(app, store, replace_enabled=True, auto_replace_enabled=True, warranty_time=7 * 86400)
    _bought(app, client, store, make, shop)
    page = client.get("/account/orders/1").data.decode()
    assert "Warranty: 6 d 23 h left" in page and "Report a problem" in page
    [item_id] = _item_ids(page)
    [old_code] = codes(page)
    sent = client.post("/account/orders/1/replace", data={"csrf_token": csrf(page.encode()), "stock_item_id": item_id,
                                                          "reason": "It says already redeemed"})
    assert sent.status_code == 303
    after = client.get("/account/orders/1").data.decode()
    assert "Your new item is below" in after
    assert 'data-testid="replaced-deliverable">' + old_code in after
    [new_code] = codes(after)
    assert new_code != old_code and 'data-testid="replacement-badge"' in after
    assert "Replaced</span>" in after and "It says already redeemed" in after


def test_a_refusal_stands_next_to_the_item_and_nothing_is_created(app, client, store, make, shop):
    _settings(app, store, replace_enabled=True, auto_replace_enabled=False)
    _bought(app, client, store, make, shop)
    page = client.get("/account/orders/1").data
    [item_id] = _item_ids(page.decode())
    refused = client.post("/account/orders/1/replace", data={"csrf_token": csrf(page), "stock_item_id": item_id,
                                                             "reason": "   "})
    html = refused.data.decode()
    assert refused.status_code == 422 and "<details class=\"replace-item\" open>" in html
    assert 'id="reason-' + item_id + '-err"' in html
    with app.app_context(), tenant_scope(store):
        assert replacements.requests_of(_order_id(app, store)) == []


def _order_id(app, store):
    from models import Order

    with app.app_context(), tenant_scope(store):
        return db.session.query(Order.id).scalar()


def test_a_waiting_request_then_a_declined_one_shows_the_reason(app, client, store, make, shop):
    _settings(app, store, replace_enabled=True, auto_replace_enabled=False)
    buyer = _bought(app, client, store, make, shop)
    page = client.get("/account/orders/1").data
    [item_id] = _item_ids(page.decode())
    client.post("/account/orders/1/replace", data={"csrf_token": csrf(page), "stock_item_id": item_id,
                                                   "reason": "Region locked"})
    waiting = client.get("/account/orders/1").data.decode()
    assert "Your request is sent" in waiting and 'data-testid="replace-pending"' in waiting
    staff = make.user(store, role="STAFF", username="helper", email="helper@example.com")
    with app.app_context(), tenant_scope(store):
        from models import User

        [request] = replacements.requests_of(_order_id(app, store))
        replacements.resolve(request, actor=db.session.get(User, staff.id), approve=False,
                             reason="Activate it on a VPN to the EU")
        db.session.commit()
    assert buyer.username
    after = client.get("/account/orders/1").data.decode()
    assert "Declined" in after and "Activate it on a VPN to the EU" in after and "Report a problem" in after
    # the buyer's own words and the store's answer are told apart
    assert "The store's answer: Activate it on a VPN to the EU" in after


def test_replacements_off_says_so_and_offers_no_form(app, client, store, make, shop):
    _settings(app, store, replace_enabled=False)
    _bought(app, client, store, make, shop)
    page = client.get("/account/orders/1").data.decode()
    assert "Report a problem" not in page and "Warranty:" not in page
