"""Shop pages of the cart, checkout, orders and the account: add to cart (htmx and plain), the
cart's quantity/remove/coupon/price-change flows, checkout with BALANCE, MANUAL and as a guest,
order pages with their deliverables and .txt download, the session cart merge on sign-in, and
the account's order/balance history and email change."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from extensions import db
from models import BalanceTransaction, Order, User, Variant
from services import balance, coupons, stock
from services import products as product_service
from services import variants as variant_service
from tenancy import tenant_scope
from tests.conftest import next_ip
from tests.factories import PASSWORD
from tests.web.test_auth_pages import csrf, login

HX = {"HX-Request": "true"}


def new_client(app):
    """Another browser, with its own IP address (rate limits are per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = next_ip()
    return client


@dataclass
class Shop:
    steam: str  # variant ids
    big: str
    limited: str


@pytest.fixture
def shop(app, store):
    """Steam Wallet $10 (10.00, 5 codes, max 3 per order), $50 (50.00, 1 code) and a
    "Bundle" (5.00, 4 codes, min 2)."""
    with app.app_context(), tenant_scope(store):
        wallet = product_service.create_product({"title": "Steam Wallet", "variants": [
            {"title": "$10", "price": 1000, "max_quantity": 3}, {"title": "$50", "price": 5000}]})
        bundle = product_service.create_product({"title": "Bundle", "variants": [{"title": "Pack", "price": 500, "min_quantity": 2}]})
        variants = {v.title: v for v in db.session.scalars(select(Variant))}
        stock.import_stock(variants["$10"], "\n".join(f"STEAM-{i:03d}" for i in range(5)))
        stock.import_stock(variants["$50"], "BIG-001")
        stock.import_stock(variants["Pack"], "\n".join(f"PACK-{i}" for i in range(4)))
        db.session.commit()
        assert wallet.id and bundle.id
        return Shop(variants["$10"].id, variants["$50"].id, variants["Pack"].id)


def shopper(make, store, app, *, balance_minor: int = 0, username: str = "shopper"):
    user = make.user(store, username=username, email=f"{username}@example.com")
    if balance_minor:
        with make.scope(store):
            balance.credit(user.id, balance_minor, "topup", reason="test top-up")
    return user


def token(client, url="/") -> str:
    """The page's CSRF token (every page carries it in <body hx-headers>)."""
    return re.search(rb'"X-CSRFToken": "([^"]+)"', client.get(url).data).group(1).decode()


def add(client, variant_id, quantity=1, *, htmx=False):
    return client.post("/cart/add", data={"csrf_token": token(client, "/cart"), "variant_id": variant_id,
                                          "quantity": quantity}, headers=HX if htmx else {})


def item_id(client) -> str:
    return re.search(r'id="line-([0-9a-f-]{36})"', client.get("/cart").data.decode()).group(1)


def checkout(client, method, **extra):
    page = client.get("/checkout")
    assert page.status_code == 200, page.data[:300]
    return client.post("/checkout", data={"csrf_token": csrf(page.data), "payment_method": method, **extra})


def codes(html: str) -> list[str]:
    return re.findall(r'data-testid="deliverable">([^<]+)<', html)


# --- add to cart --------------------------------------------------------------------------

def test_product_page_has_a_real_add_to_cart_form(client, shop):
    html = client.get("/p/steam-wallet").data.decode()
    assert "Cart opens soon" not in html
    assert 'action="/cart/add"' in html and 'hx-post="/cart/add"' in html and "Add to cart" in html
    assert 'data-testid="mini-cart-count">0<' in html


def test_add_to_cart_with_htmx_updates_the_panel_and_the_mini_cart(client, shop):
    response = add(client, shop.steam, 2, htmx=True)
    html = response.data.decode()
    assert response.status_code == 200
    assert 'id="buy-panel"' in html and "Added 2 × Steam Wallet – $10 to your cart." in html
    assert 'id="mini-cart"' in html and 'hx-swap-oob="true"' in html and 'data-testid="mini-cart-count">2<' in html
    assert client.get("/").data.decode().count('data-testid="mini-cart-count">2<') == 1


def test_add_to_cart_without_javascript_redirects_to_the_cart(client, shop):
    response = add(client, shop.steam, 1)
    assert response.status_code == 303 and response.headers["Location"] == "/cart"
    cart = client.get("/cart").data.decode()
    assert "Steam Wallet" in cart and "€10.00" in cart and "Added 1 × Steam Wallet" in cart


def test_add_to_cart_refuses_quantities_outside_the_limits_with_422(client, shop):
    above = add(client, shop.steam, 4, htmx=True)
    assert above.status_code == 422 and "At most 3 of $10 per order" in above.data.decode()
    below = add(client, shop.limited, 1, htmx=True)
    assert below.status_code == 422 and "At least 2 of Pack per order" in below.data.decode()
    stockless = add(client, shop.big, 2)  # plain form: the product page again, with the message
    assert stockless.status_code == 422 and "Only 1 of $50 left" in stockless.data.decode()
    assert 'data-testid="cart-empty"' in client.get("/cart").data.decode()


# --- the cart -----------------------------------------------------------------------------

def test_a_quantity_that_is_not_a_whole_number_gets_one_plain_message(client, shop):
    """``1.5`` or ``abc``: "Enter a whole number", alone, in the cart and on the product page (not
    "Not a valid integer value.; Enter a quantity of 0 or more"); an empty one asks for a quantity."""
    add(client, shop.steam, 1)
    line = item_id(client)
    for typed in ("1.5", "abc"):
        refused = client.post(f"/cart/items/{line}", data={"csrf_token": token(client, "/cart"), "quantity": typed},
                              headers=HX)
        errors = re.findall(r'data-testid="line-error">([^<]*)<', refused.data.decode())
        assert refused.status_code == 422 and errors == ["Enter a whole number"], typed
        added = add(client, shop.steam, typed, htmx=True).data.decode()
        assert "Enter a whole number" in added and "Not a valid integer" not in added and "1 or more" not in added
    empty = client.post(f"/cart/items/{line}", data={"csrf_token": token(client, "/cart"), "quantity": ""}, headers=HX)
    assert re.findall(r'data-testid="line-error">([^<]*)<', empty.data.decode()) == ["Enter a quantity"]



def test_cart_quantity_update_in_place_and_removal(client, shop):
    add(client, shop.steam, 1)
    line = item_id(client)
    updated = client.post(f"/cart/items/{line}", data={"csrf_token": token(client, "/cart"), "quantity": 3}, headers=HX)
    html = updated.data.decode()
    assert updated.status_code == 200 and 'id="cart-panel"' in html and "€30.00" in html
    assert 'data-testid="mini-cart-count">3<' in html
    too_many = client.post(f"/cart/items/{line}", data={"csrf_token": token(client, "/cart"), "quantity": 4}, headers=HX)
    assert too_many.status_code == 422 and "At most 3 of $10 per order" in too_many.data.decode()
    removed = client.post(f"/cart/items/{line}", data={"csrf_token": token(client, "/cart"), "quantity": 0}, headers=HX)
    assert removed.status_code == 200 and 'data-testid="cart-empty"' in removed.data.decode()
    add(client, shop.steam, 1)
    gone = client.post(f"/cart/items/{item_id(client)}/remove", data={"csrf_token": token(client, "/cart")})
    assert gone.status_code == 303 and 'data-testid="cart-empty"' in client.get("/cart").data.decode()


def test_coupon_apply_and_remove_with_precise_errors(app, client, store, shop):
    with app.app_context(), tenant_scope(store):
        coupons.create_coupon({"code": "TEN", "kind": "percent", "value": 1000})
        coupons.create_coupon({"code": "BIGSPEND", "kind": "fixed", "value": 500, "min_subtotal": 10000})
        coupons.create_coupon({"code": "OFF", "kind": "fixed", "value": 100, "is_active": False})
        db.session.commit()
    add(client, shop.steam, 2)
    unknown = client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "NOPE"}, headers=HX)
    assert unknown.status_code == 422 and "This coupon code does not exist" in unknown.data.decode()
    minimum = client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "bigspend"}, headers=HX)
    assert minimum.status_code == 422 and "This coupon needs a cart of at least €100.00" in minimum.data.decode()
    inactive = client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "OFF"})
    assert inactive.status_code == 422 and "This coupon is not active" in inactive.data.decode()
    applied = client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "ten"}, headers=HX)
    html = applied.data.decode()
    assert applied.status_code == 200 and 'data-testid="coupon-code">TEN<' in html
    assert 'data-testid="coupon-discount">-€2.00<' in html and 'data-testid="total">€18.00<' in html
    removed = client.post("/cart/coupon/remove", data={"csrf_token": token(client, "/cart")}, headers=HX)
    assert 'data-testid="total">€20.00<' in removed.data.decode() and "coupon-code" not in removed.data.decode()


def test_a_coupon_that_stops_applying_sends_the_shopper_to_the_cart_to_fix_it(app, client, store, shop):
    """The cart lost the coupon's minimum: the cart says so and offers no checkout; the checkout
    page says so too; placing the order anyway goes back to the cart (where the coupon can be
    removed) instead of a refusal on a checkout page that shows no coupon to remove."""
    with app.app_context(), tenant_scope(store):
        coupons.create_coupon({"code": "MIN15", "kind": "fixed", "value": 100, "min_subtotal": 1500})
        db.session.commit()
    add(client, shop.steam, 2)
    client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "min15"})
    client.post(f"/cart/items/{item_id(client)}", data={"csrf_token": token(client, "/cart"), "quantity": 1})
    cart = client.get("/cart").data.decode()
    assert "This coupon needs a cart of at least €15.00" in cart
    assert 'data-testid="checkout-link"' not in cart and 'data-testid="coupon-blocks-checkout"' in cart
    page = client.get("/checkout").data.decode()
    assert 'data-testid="checkout-coupon-error"' in page and "Coupon MIN15 does not apply" in page
    placed = checkout(client, "MANUAL", email="guest@example.com")
    assert placed.status_code == 303 and placed.headers["Location"] == "/cart"
    back = client.get("/cart").data.decode()
    assert "remove the coupon or change your cart" in back and "Remove coupon" in back
    assert "at least €15.00: remove the coupon" in back  # the page's money, not "15.00 EUR"
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Order)) is None
    client.post("/cart/coupon/remove", data={"csrf_token": token(client, "/cart")})
    assert 'data-testid="checkout-link"' in client.get("/cart").data.decode()
    assert checkout(client, "MANUAL", email="guest@example.com").headers["Location"].startswith("/orders/guest/")


def test_stock_sold_meanwhile_sends_the_shopper_to_the_cart_with_the_line_marked(app, client, store, shop):
    """Another shopper took the last item between the cart and the order: the refusal goes back to
    the cart, which marks the line (the checkout page has no per-line marks or quantities to fix)."""
    add(client, shop.big, 1)
    other = new_client(app)
    add(other, shop.big, 1)
    assert checkout(other, "MANUAL", email="other@example.com").status_code == 303  # reserves the last one
    placed = checkout(client, "MANUAL", email="guest@example.com")
    assert placed.status_code == 303 and placed.headers["Location"] == "/cart"
    cart = client.get("/cart").data.decode()
    assert "Not enough stock left for some items in your cart" in cart
    assert 'data-problem="out_of_stock"' in cart and 'data-testid="checkout-link"' not in cart


def test_cart_flags_problems_and_the_price_change_got_it_flow(app, client, store, shop):
    add(client, shop.steam, 2)
    add(client, shop.limited, 2)
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(Variant).where(Variant.id == shop.steam).values(price=1200))
        db.session.execute(update(Variant).where(Variant.id == shop.limited).values(min_quantity=3, max_quantity=3))
        db.session.commit()
    html = client.get("/cart").data.decode()
    assert "Price changed from €10.00 to €12.00" in html
    assert 'data-problem="below_min_quantity"' in html and "Below the minimum of 3 per order" in html
    assert 'data-testid="checkout-link"' not in html
    got_it = client.post("/cart/reprice", data={"csrf_token": token(client, "/cart")}, headers=HX)
    assert got_it.status_code == 200 and "Price changed from" not in got_it.data.decode()
    with app.app_context(), tenant_scope(store):
        variant_service.update_variant(db.session.get(Variant, shop.limited), {"is_active": False})
        db.session.commit()
    assert "No longer for sale" in client.get("/cart").data.decode()


def test_checkout_after_a_price_change_reprices_and_shows_the_change(app, client, store, shop, make):
    user = shopper(make, store, app, balance_minor=10_000)
    login(client, user.username)
    add(client, shop.steam, 1)
    page = client.get("/checkout")
    with app.app_context(), tenant_scope(store):
        db.session.execute(update(Variant).where(Variant.id == shop.steam).values(price=1500))
        db.session.commit()
    refused = client.post("/checkout", data={"csrf_token": csrf(page.data), "payment_method": "BALANCE"})
    assert refused.status_code == 303 and refused.headers["Location"] == "/cart"
    cart = client.get("/cart").data.decode()
    assert "Some prices changed" in cart and "Price changed from €10.00 to €15.00" in cart
    assert 'data-testid="checkout-link"' in cart  # repriced: checkout works now
    assert "Price changed from" not in client.get("/cart").data.decode()  # highlighted once
    assert checkout(client, "BALANCE").status_code == 303


# --- checkout and order pages --------------------------------------------------------------

def test_checkout_with_balance_completes_and_shows_the_codes(app, client, store, shop, make):
    user = shopper(make, store, app, balance_minor=5_000)
    login(client, user.username)
    add(client, shop.steam, 2)
    page = client.get("/checkout").data.decode()
    assert "€50.00" in page and 'data-testid="checkout-balance"' in page
    assert re.search(r'value="STRIPE"[^>]*disabled', page) or "STRIPE" not in page
    placed = checkout(client, "BALANCE")
    assert placed.status_code == 303 and placed.headers["Location"] == "/account/orders/1"
    order_page = client.get("/account/orders/1")
    html = order_page.data.decode()
    assert order_page.status_code == 200 and order_page.headers["Cache-Control"] == "no-store"
    assert "Order #1" in html and ">Completed<" in html and ">Paid<" in html
    delivered = codes(html)
    assert len(delivered) == 2 and all(c.startswith("STEAM-") for c in delivered) and len(set(delivered)) == 2
    assert 'data-copy="d-' in html and "Download .txt" in html
    txt = client.get("/account/orders/1/items.txt")
    assert txt.mimetype == "text/plain" and "attachment" in txt.headers["Content-Disposition"]
    assert txt.data.decode().splitlines() == delivered
    assert 'data-testid="mini-cart-count">0<' in html
    with app.app_context(), tenant_scope(store):
        assert db.session.get(User, user.id).balance == 3_000


def test_insufficient_balance_is_a_message_on_the_checkout_form(app, client, store, shop, make):
    user = shopper(make, store, app, balance_minor=500)
    login(client, user.username)
    add(client, shop.steam, 1)
    refused = checkout(client, "BALANCE")
    assert refused.status_code == 422 and "The balance is too low: this needs" in refused.data.decode()
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Order.id)) is None


def test_checkout_refuses_methods_that_are_not_ready(client, shop, make, store, app):
    user = shopper(make, store, app, balance_minor=5_000)
    login(client, user.username)
    add(client, shop.steam, 1)
    refused = checkout(client, "STRIPE")
    assert refused.status_code == 422 and "is not offered by this store" in refused.data.decode()


def test_manual_checkout_waits_then_admin_approval_delivers(app, client, store, shop, make):
    user = shopper(make, store, app)
    login(client, user.username)
    add(client, shop.steam, 1)
    assert checkout(client, "MANUAL").headers["Location"] == "/account/orders/1"
    waiting = client.get("/account/orders/1").data.decode()
    assert "Waiting for the store to confirm your payment" in waiting and codes(waiting) == []
    assert ">Pending<" in waiting and ">Unpaid<" in waiting
    admin = make.user(store, role="ADMIN")
    admin_client = new_client(client.application)
    login(admin_client, admin.username)
    page = admin_client.get("/admin/orders/1")
    assert page.status_code == 200 and "Approve payment" in page.data.decode()
    approved = admin_client.post("/admin/orders/1/approve", data={"csrf_token": csrf(page.data)})
    assert approved.status_code == 303
    assert "Completed" in admin_client.get("/admin/orders/1").data.decode()
    done = client.get("/account/orders/1").data.decode()
    assert len(codes(done)) == 1 and "Waiting for the store" not in done


def test_guest_checkout_with_email_and_the_secret_link(app, client, store, shop, make, mail_outbox):
    admin = make.user(store, role="ADMIN")
    add(client, shop.steam, 1)
    page = client.get("/checkout").data.decode()
    assert 'name="email"' in page and "Sign in to pay with your balance" in page
    no_email = checkout(client, "MANUAL")
    assert no_email.status_code == 422 and "Enter the email address" in no_email.data.decode()
    balance_refused = checkout(client, "BALANCE", email="guest@example.com")
    assert balance_refused.status_code == 422
    placed = checkout(client, "MANUAL", email="Guest@Example.com")
    link = placed.headers["Location"]
    assert placed.status_code == 303 and link.startswith("/orders/guest/")
    html = client.get(link).data.decode()
    assert "Order #1" in html and "guest@example.com" in html and "Waiting for the store" in html
    assert client.get(link).headers["Referrer-Policy"] == "no-referrer"
    assert any(link in message.body for message in mail_outbox)  # the secret link is emailed
    assert client.get("/orders/guest/not-the-token").status_code == 404
    assert client.get("/orders/guest/not-the-token/items.txt").status_code == 404
    assert client.get("/account/orders/1").status_code == 302  # the account page needs a sign-in
    with app.app_context(), tenant_scope(store):
        from services import orders

        order = db.session.scalar(select(Order))
        orders.approve(order, actor=db.session.get(User, admin.id))
        db.session.commit()
    paid = client.get(link).data.decode()
    assert len(codes(paid)) == 1
    assert client.get(link + "/items.txt").data.decode().strip() == codes(paid)[0]


def test_another_users_order_is_a_404(app, client, store, shop, make):
    owner = shopper(make, store, app, balance_minor=5_000, username="owner")
    login(client, owner.username)
    add(client, shop.steam, 1)
    checkout(client, "BALANCE")
    other = new_client(app)
    login(other, shopper(make, store, app, username="nosy").username)
    assert other.get("/account/orders/1").status_code == 404
    assert other.get("/account/orders/1/items.txt").status_code == 404
    assert other.get("/account/orders/999").status_code == 404


def test_the_session_cart_merges_on_login_and_register(app, client, store, shop, make):
    user = shopper(make, store, app)
    add(client, shop.steam, 2)
    assert login(client, user.username).status_code == 302
    html = client.get("/cart").data.decode()
    assert "Steam Wallet" in html and 'data-testid="mini-cart-count">2<' in html
    fresh = new_client(app)
    add(fresh, shop.limited, 2)
    page = fresh.get("/register")
    fresh.post("/register", data={"csrf_token": csrf(page.data), "username": "newbie", "email": "newbie@example.com",
                                  "password": "newbie-password", "confirm": "newbie-password"})
    assert "Bundle" in fresh.get("/cart").data.decode()


def lines(response) -> list[tuple[str, int]]:
    return [(line["subcategory_id"], line["quantity"]) for line in response.get_json()["items"]]


def test_the_api_uses_the_shop_sessions_cart_and_its_writes_need_the_csrf_token(app, client, store, shop, make):
    """RECONCILE.md "Carts": the browser's session cookie names a guest cart, for the API too. A
    read needs nothing more; a write named by the cookie alone needs the page's CSRF token, since
    the browser sends the cookie along with another site's request as well."""
    add(client, shop.steam, 1)
    assert lines(client.get("/api/cart")) == [(shop.steam, 1)]
    for headers in ({}, {"X-CSRFToken": "forged"}):
        refused = client.post("/api/cart/items", json={"subcategory_id": shop.steam, "quantity": 1}, headers=headers)
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf_failed"
    checkout_refused = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", "email": "a@example.com"})
    assert checkout_refused.status_code == 400 and checkout_refused.get_json()["error"]["code"] == "csrf_failed"
    assert lines(client.get("/api/cart")) == [(shop.steam, 1)]
    page_token = {"X-CSRFToken": token(client, "/cart")}
    added = client.post("/api/cart/items", json={"subcategory_id": shop.steam, "quantity": 1}, headers=page_token)
    assert added.status_code == 200 and lines(added) == [(shop.steam, 2)]
    assert 'data-testid="mini-cart-count">2<' in client.get("/cart").data.decode()
    # a token or an X-Session-ID names its own cart, whatever the cookie
    assert client.get("/api/cart", headers={"X-Session-ID": "tab-9"}).get_json()["id"] is None
    # a browser without a shop cart is nobody: reads are empty, writes have no owner
    fresh = new_client(app)
    assert fresh.get("/api/cart").get_json()["id"] is None
    nobody = fresh.post("/api/cart/items", json={"subcategory_id": shop.steam, "quantity": 1})
    assert nobody.status_code == 400 and nobody.get_json()["error"]["code"] == "no_cart_owner"
    # signed in on the shop (which merged the session cart): the user's cart, page and API alike
    user = shopper(make, store, app)
    assert login(client, user.username).status_code == 302
    assert lines(client.get("/api/cart")) == [(shop.steam, 2)]
    added = client.post("/api/cart/items", json={"subcategory_id": shop.limited, "quantity": 2},
                        headers={"X-CSRFToken": token(client, "/cart")})
    assert added.status_code == 200
    assert lines(client.get("/api/cart", headers=make.headers(user, store))) == [(shop.steam, 2), (shop.limited, 2)]
    assert "Bundle" in client.get("/cart").data.decode()


# --- account --------------------------------------------------------------------------------

def test_account_history_balance_and_gift_marks(app, client, store, shop, make):
    user = shopper(make, store, app, balance_minor=5_000)
    login(client, user.username)
    add(client, shop.steam, 1)
    checkout(client, "BALANCE")
    admin = make.user(store, role="ADMIN")
    with app.app_context(), tenant_scope(store):
        from services import orders

        orders.gift(db.session.get(User, user.id), db.session.get(Variant, shop.limited), 2,
                    actor=db.session.get(User, admin.id), note="Thanks!")
        db.session.commit()
    overview = client.get("/account").data.decode()
    assert "Change password" in overview and "#1" in overview and "#2" in overview
    history = client.get("/account/orders").data.decode()
    assert "2 orders" in history and 'data-testid="gift"' in history
    gift_page = client.get("/account/orders/2").data.decode()
    assert "Gift" in gift_page and "Thanks!" in gift_page and len(codes(gift_page)) == 2
    ledger = client.get("/account/balance").data.decode()
    assert ledger.count('data-testid="ledger-row"') == 2 and "+€50.00" in ledger and "-€10.00" in ledger
    assert 'href="/account/orders/1"' in ledger


def test_change_email_needs_the_password_and_a_free_address(app, client, store, make):
    user = shopper(make, store, app)
    make.user(store, username="taken", email="taken@example.com")
    login(client, user.username)
    page = client.get("/account/settings")
    wrong = client.post("/account/email", data={"csrf_token": csrf(page.data), "email": "new@example.com",
                                                "password": "not-it"})
    assert wrong.status_code == 422 and "The current password is wrong" in wrong.data.decode()
    taken = client.post("/account/email", data={"csrf_token": csrf(page.data), "email": "TAKEN@example.com",
                                                "password": PASSWORD})
    assert taken.status_code == 422 and "already exists" in taken.data.decode()
    assert "Sign in" not in taken.data.decode().split('id="email"')[1].split("</form>")[0]  # already signed in
    done = client.post("/account/email", data={"csrf_token": csrf(page.data), "email": " New@Example.com ",
                                               "password": PASSWORD})
    assert done.status_code == 302
    assert 'data-testid="current-email">new@example.com<' in client.get("/account/settings").data.decode()
    with app.app_context(), tenant_scope(store):
        assert db.session.get(User, user.id).email == "new@example.com"
        assert db.session.scalar(select(BalanceTransaction.id)) is None


def test_a_guests_paid_email_never_links_to_an_account_page(app, client, store, shop, make, mail_outbox):
    """A guest cannot open /account/orders/N: the confirmation sent once the payment is approved
    points to the secret link of the first email instead."""
    admin = make.user(store, role="ADMIN")
    add(client, shop.steam, 1)
    link = checkout(client, "MANUAL", email="guest@example.com").headers["Location"]
    assert link.startswith("/orders/guest/") and link in mail_outbox[-1].body
    with app.app_context(), tenant_scope(store):
        from services import orders

        orders.approve(db.session.scalar(select(Order)), actor=db.session.get(User, admin.id))
        db.session.commit()
    paid = mail_outbox[-1]
    html = paid.alternatives[0][0]
    assert paid.subject == "Your order #1 is ready" and "STEAM-" in paid.body
    assert "/account/orders" not in paid.body and "/account/orders" not in html
    assert "the link in your first email about this order" in paid.body
    assert "link in your first email about this order" in html
    assert "because you ordered at" in html and "because of your account" not in html  # a guest has none


def _delete_coupon(app, store, code):
    from models import Coupon

    with app.app_context(), tenant_scope(store):
        coupons.delete_coupon(db.session.scalar(select(Coupon).where(Coupon.code == code)))
        db.session.commit()


def test_a_coupon_deleted_while_in_the_cart_is_taken_off_with_a_message_on_the_cart_page(app, client, store, shop):
    with app.app_context(), tenant_scope(store):
        coupons.create_coupon({"code": "GONE", "kind": "percent", "value": 1000})
        db.session.commit()
    add(client, shop.steam, 2)
    client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "gone"})
    _delete_coupon(app, store, "GONE")
    cart = client.get("/cart").data.decode()
    assert 'data-testid="coupon-notice"' in cart and "The coupon GONE is no longer offered" in cart
    assert 'data-testid="checkout-link"' in cart and 'data-testid="total">€20.00<' in cart
    assert "coupon-blocks-checkout" not in cart and 'data-testid="coupon-code"' not in cart
    page = client.get("/checkout").data.decode()
    assert "checkout-coupon-error" not in page and 'data-testid="checkout-total">€20.00<' in page
    assert checkout(client, "MANUAL", email="guest@example.com").headers["Location"].startswith("/orders/guest/")


def test_a_coupon_deleted_while_on_the_checkout_page_is_taken_off_and_the_new_total_shown(app, client, store, shop):
    with app.app_context(), tenant_scope(store):
        coupons.create_coupon({"code": "GONE", "kind": "percent", "value": 1000})
        db.session.commit()
    add(client, shop.steam, 2)
    client.post("/cart/coupon", data={"csrf_token": token(client, "/cart"), "code": "gone"})
    page = client.get("/checkout")
    assert 'data-testid="checkout-total">€18.00<' in page.data.decode()
    _delete_coupon(app, store, "GONE")
    placed = client.post("/checkout", data={"csrf_token": csrf(page.data), "payment_method": "MANUAL",
                                            "email": "guest@example.com"})
    again = placed.data.decode()  # the form again, as typed, with the new total
    assert placed.status_code == 409 and "The coupon GONE is no longer offered" in again, again
    assert 'data-testid="checkout-total">€20.00<' in again and 'value="guest@example.com"' in again
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(Order)) is None
    assert checkout(client, "MANUAL", email="guest@example.com").headers["Location"].startswith("/orders/guest/")
