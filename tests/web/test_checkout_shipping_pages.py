"""The checkout page with physical goods: a signed-in buyer picks a saved address, the htmx
refresh answers the options and totals, the order keeps the address; a guest types one and is
told precisely what is missing; the order pages show the delivery."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Order, Variant
from services import addresses, balance, shipping, taxes
from services import products as product_service
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf, login
from tests.web.test_cart_checkout_pages import HX, add, new_client

LISBON = {"name": "Ana Silva", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048", "country": "PT"}


@pytest.fixture
def mug(app, store):
    """A physical "Mug" (12.50, 3 in stock); VAT PT 23 %; to Portugal "Post" 3.90 and "Pickup" free."""
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Mug", "kind": "physical", "variants": [
            {"title": "White", "price": 1250, "stock_count": 3, "weight_grams": 350}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        taxes.create_rule({"name": "VAT", "country": "PT", "rate_bps": 2300})
        zone = shipping.create_zone({"name": "Portugal", "countries": ["PT"]})
        post = shipping.add_method(zone, {"name": "Post", "kind": "flat", "price": 390})
        shipping.add_method(zone, {"name": "Pickup", "kind": "flat", "price": 0, "position": 1})
        db.session.commit()
        return {"variant": variant.id, "post": post.id}


def test_a_buyer_ships_to_a_saved_address(app, store, make, client, mug):
    user = make.user(store, username="ana", email="ana@example.com")
    with make.scope(store):
        balance.credit(user.id, 5000, "topup", reason="test")
        saved = addresses.create_address(user, LISBON).id
    login(client, "ana")
    add(client, mug["variant"])
    page = client.get("/checkout").data.decode()
    assert f'value="{saved}" checked' in page and "Post" in page and "Pickup" in page
    # 12.50 + 3.90 = 16.40, VAT 23 % = 3.772 -> 3.77: 20.17
    assert "€20.17" in page and "VAT 23% (PT)" in page
    fragment = client.post("/checkout/shipping", headers=HX, data={
        "csrf_token": csrf(client.get("/checkout").data), "address_id": saved,
        "shipping_method_id": next(iter(re.findall(r'name="shipping_method_id" value="([^"]+)"', page)[1:]))})
    assert fragment.status_code == 200 and 'hx-swap-oob="true"' in fragment.data.decode()
    assert "€15.38" in fragment.data.decode()  # Pickup: 12.50 + 2.88 of VAT
    placed = client.post("/checkout", data={"csrf_token": csrf(client.get("/checkout").data), "payment_method": "BALANCE",
                                            "address_id": saved, "shipping_method_id": mug["post"]})
    assert placed.status_code == 303, placed.data.decode()[:2000]
    order_page = client.get(placed.headers["Location"]).data.decode()
    assert "Rua Augusta 1" in order_page and "Shipping: Post" in order_page and "Not shipped yet" in order_page
    with app.app_context(), tenant_scope(store):
        order = db.session.scalar(select(Order))
        assert (order.total, order.shipping_method_name, order.shipping_address["city"]) == (2017, "Post", "Lisboa")


def test_a_guest_types_the_address_and_hears_what_is_wrong(app, store, mug):
    guest = new_client(app)
    add(guest, mug["variant"])
    page = guest.get("/checkout").data.decode()
    assert 'name="ship_line1"' in page and 'name="address_id" value="new"' in page
    form = {"csrf_token": csrf(guest.get("/checkout").data), "payment_method": "MANUAL", "email": "g@example.com"}
    refused = guest.post("/checkout", data=form)
    assert refused.status_code == 422 and "give a shipping address" in refused.data.decode()
    typed = {f"ship_{k}": v for k, v in LISBON.items()}
    refused = guest.post("/checkout", data={**form, **typed, "ship_postal_code": "11"})
    html = refused.data.decode()
    assert refused.status_code == 422 and 'id="ship_postal_code-err"' in html
    placed = guest.post("/checkout", data={**form, **typed, "shipping_method_id": mug["post"]})
    assert placed.status_code == 303 and "/orders/guest/" in placed.headers["Location"]
    assert "Rua Augusta 1" in guest.get(placed.headers["Location"]).data.decode()


def test_a_guest_hears_about_the_email_and_the_address_in_one_answer(app, store, mug):
    """A wrong email used to hide the missing address until the next try: both show at once, and
    what was typed stays."""
    guest = new_client(app)
    add(guest, mug["variant"])
    form = {"csrf_token": csrf(guest.get("/checkout").data), "payment_method": "MANUAL", "email": "not-an-email",
            "note": "ring twice"}
    refused = guest.post("/checkout", data=form)
    html = refused.data.decode()
    assert refused.status_code == 422
    assert "That email address is not valid" in html and "give a shipping address" in html
    assert 'value="not-an-email"' in html and "ring twice" in html
    typed = {f"ship_{k}": v for k, v in LISBON.items()}
    refused = guest.post("/checkout", data={**form, **typed, "ship_postal_code": "11"})
    html = refused.data.decode()
    assert "That email address is not valid" in html and 'id="ship_postal_code-err"' in html
    assert 'value="Rua Augusta 1"' in html


def test_a_typed_address_shows_the_tax_of_its_region_as_the_order_will_charge(app, store, mug):
    """A region's rule (US/CA 7.25 %, no country-wide rule) chooses the tax once the typed address
    is whole: the htmx refresh shows what placing the order then charges."""
    with app.app_context(), tenant_scope(store):
        taxes.create_rule({"name": "Sales tax", "country": "US", "region": "CA", "rate_bps": 725})
        zone = shipping.create_zone({"name": "USA", "countries": ["US"]})
        method = shipping.add_method(zone, {"name": "USPS", "kind": "flat", "price": 1000}).id
        db.session.commit()
    guest = new_client(app)
    add(guest, mug["variant"])
    typed = {"ship_name": "Sam Lee", "ship_line1": "1 Market St", "ship_city": "San Francisco", "ship_region": "CA",
             "ship_postal_code": "94105", "ship_country": "US", "address_id": "new"}
    token = csrf(guest.get("/checkout").data)
    fragment = guest.post("/checkout/shipping", headers=HX, data={"csrf_token": token, **typed,
                                                                  "shipping_method_id": method}).data.decode()
    # 12.50 + 10.00 = 22.50, 7.25 % = 1.63125 -> 1.63: 24.13
    assert "Sales tax" in fragment and "€24.13" in fragment
    placed = guest.post("/checkout", data={"csrf_token": token, "payment_method": "MANUAL", "email": "g@example.com",
                                           **typed, "shipping_method_id": method})
    assert placed.status_code == 303, placed.data.decode()[:2000]
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Order.total)) == 2413
