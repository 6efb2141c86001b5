"""Dashboard order screens: access levels, the orders table (search, filters, htmx), the order
page with its actions (approve, status change, resend), the gift form, and the users pages with
the balance adjustment."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import BalanceTransaction, Order, Store, User, Variant
from services import addresses, balance, checkout, orders, stock
from services import cart as cart_service
from services import products as product_service
from tenancy import tenant_scope
from tests.api.shop import shop_fixture  # noqa: F401 - the shop fixture
from tests.conftest import next_ip
from tests.web.test_auth_pages import csrf, login

HX = {"HX-Request": "true"}


def new_client(app):
    """Another browser, with its own IP address (rate limits are per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = next_ip()
    return client


@pytest.fixture
def world(app, store, make):
    """A product with 6 codes; Ann (60.00 balance) has a paid order #1 (2 codes) and Bob a
    pending MANUAL order #2."""
    ann = make.user(store, username="ann", email="ann@example.com")
    bob = make.user(store, username="bob", email="bob@example.com")
    with make.scope(store):
        balance.credit(ann.id, 6_000, "topup", reason="test")
    with app.app_context(), tenant_scope(store):
        product = product_service.create_product({"title": "Netflix Gift", "variants": [{"title": "1 month", "price": 1000}]})
        variant = db.session.scalar(select(Variant).where(Variant.product_id == product.id))
        stock.import_stock(variant, "\n".join(f"NFX-{i}" for i in range(6)))
        from models import Store

        shop = db.session.get(Store, store.id)
        for user, method in ((ann, "BALANCE"), (bob, "MANUAL")):
            buyer = db.session.get(User, user.id)
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, variant.id, 2 if method == "BALANCE" else 1)
            checkout.place_order(shop, cart, buyer=buyer, method=method)
        db.session.commit()
        return {"ann": ann.id, "bob": bob.id, "variant": variant.id}


def as_role(app, make, store, role):
    client = new_client(app)
    user = make.user(store, role=role)
    assert login(client, user.username).status_code == 302
    return client, user


def page_token(response) -> str:
    return csrf(response.data)


@pytest.mark.parametrize("url", ["/admin/orders", "/admin/orders/1", "/admin/orders/gift", "/admin/users"])
def test_anonymous_visitors_are_sent_to_sign_in(client, store, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_access_levels_user_staff_manager_admin(app, store, make, world):
    user, _ = as_role(app, make, store, "USER")
    assert user.get("/admin/orders").status_code == 403
    staff, _ = as_role(app, make, store, "STAFF")
    assert staff.get("/admin/orders").status_code == 200
    detail = staff.get("/admin/orders/2")
    html = detail.data.decode()
    assert detail.status_code == 200 and "Approve payment" not in html and "Change status" not in html
    assert "Resend confirmation email" in html
    assert staff.post("/admin/orders/2/approve", data={"csrf_token": page_token(detail)}).status_code == 403
    assert staff.post("/admin/orders/2/status", data={"csrf_token": page_token(detail), "status": "CANCELLED"}).status_code == 403
    for url in ("/admin/orders/gift", "/admin/users", f"/admin/users/{world['ann']}", "/admin/users/suggest?q=a"):
        assert staff.get(url).status_code == 403, url
    sidebar = staff.get("/admin/").data.decode()
    assert 'href="/admin/orders"' in sidebar and 'href="/admin/users"' not in sidebar
    manager, _ = as_role(app, make, store, "MANAGER")
    assert "Change status" in manager.get("/admin/orders/2").data.decode()
    assert manager.get("/admin/users").status_code == 403
    admin, _ = as_role(app, make, store, "ADMIN")
    for url in ("/admin/orders", "/admin/orders/2", "/admin/orders/gift", "/admin/users", f"/admin/users/{world['ann']}"):
        assert admin.get(url).status_code == 200, url
    assert 'href="/admin/users"' in admin.get("/admin/").data.decode()


def test_orders_table_search_filters_and_htmx_fragment(app, store, make, world):
    staff, _ = as_role(app, make, store, "STAFF")
    html = staff.get("/admin/orders").data.decode()
    assert html.count('data-testid="order-row"') == 2 and 'href="/admin/orders/1"' in html
    assert staff.get("/admin/orders?q=ann").data.decode().count('data-testid="order-row"') == 1
    assert staff.get("/admin/orders?q=%231").data.decode().count('data-testid="order-row"') == 1
    assert staff.get("/admin/orders?q=bob%40example").data.decode().count('data-testid="order-row"') == 1
    assert staff.get("/admin/orders?q=netflix").data.decode().count('data-testid="order-row"') == 2
    pending = staff.get("/admin/orders?status=PENDING")
    assert pending.data.decode().count('data-testid="order-row"') == 1 and "#2" in pending.data.decode()
    assert staff.get("/admin/orders?payment_status=PAID").data.decode().count('data-testid="order-row"') == 1
    assert staff.get("/admin/orders?from=2000-01-01&to=2000-01-02").data.decode().count('data-testid="order-row"') == 0
    assert staff.get("/admin/orders?from=2000-01-01").data.decode().count('data-testid="order-row"') == 2
    ascending = staff.get("/admin/orders?sort=order_number&dir=asc").data.decode()
    assert ascending.index('href="/admin/orders/1"') < ascending.index('href="/admin/orders/2"')
    fragment = staff.get("/admin/orders?status=COMPLETED", headers=HX)
    assert b"<html" not in fragment.data and fragment.data.count(b'data-testid="order-row"') == 1
    assert staff.get("/admin/orders/99").status_code == 404


def test_order_page_shows_deliverables_timeline_and_buyer(app, store, make, world):
    admin, _ = as_role(app, make, store, "ADMIN")
    html = admin.get("/admin/orders/1").data.decode()
    assert len(re.findall(r'data-testid="deliverable">NFX-', html)) == 2
    assert f'href="/admin/users/{world["ann"]}"' in html and "Order placed (BALANCE)" in html and "Paid by balance" in html
    assert admin.get("/admin/orders/1/items.txt").data.decode().count("NFX-") == 2
    with app.app_context(), tenant_scope(store):
        # staff looking is not the buyer's first reveal
        from models import StockItem

        assert db.session.scalar(select(func.count()).select_from(StockItem)
                                 .where(StockItem.first_revealed_at.isnot(None))) == 0


def test_admin_approves_a_manual_order_and_a_second_approval_is_refused(app, store, make, world):
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/orders/2")
    assert "Waiting for manual approval: approve it once the payment has arrived" in page.data.decode()
    assert "your payment" not in page.data.decode()  # the staff's page speaks to the staff
    done = admin.post("/admin/orders/2/approve", data={"csrf_token": page_token(page)})
    assert done.status_code == 303
    html = admin.get("/admin/orders/2").data.decode()
    assert "Order #2 approved: paid and delivered." in html
    assert "Completed" in html and len(re.findall(r'data-testid="deliverable">NFX-', html)) == 1
    assert "manual approval by" in html
    again = admin.post("/admin/orders/2/approve", data={"csrf_token": page_token(page)})
    assert again.status_code == 422 and "Only a pending, unpaid order can be approved" in again.data.decode()


def test_manager_changes_status_along_legal_transitions_only(app, store, make, world):
    manager, _ = as_role(app, make, store, "MANAGER")
    page = manager.get("/admin/orders/2")
    assert 'value="CANCELLED"' in page.data.decode() and 'value="COMPLETED"' not in page.data.decode()
    # the select stands on a blank choice, not on "Cancelled": changing nothing cancels nothing
    assert re.search(r'<select[^>]*name="status"[^>]*><option value="">Choose a new status…</option>',
                     page.data.decode())
    blank = manager.post("/admin/orders/2/status", data={"csrf_token": page_token(page), "status": ""})
    assert blank.status_code == 422 and "Choose a status" in blank.data.decode()
    illegal = manager.post("/admin/orders/2/status", data={"csrf_token": page_token(page), "status": "COMPLETED"})
    assert illegal.status_code == 422 and "cannot go from PENDING to COMPLETED" in illegal.data.decode()
    ok = manager.post("/admin/orders/2/status", data={"csrf_token": page_token(page), "status": "CANCELLED", "note": "asked"})
    assert ok.status_code == 303
    html = manager.get("/admin/orders/2").data.decode()
    assert ">Cancelled<" in html and "Change status" not in html and "Marked cancelled: asked" in html


def test_resend_confirmation_sends_the_email_again(app, store, make, world, mail_outbox):
    staff, _ = as_role(app, make, store, "STAFF")
    page = staff.get("/admin/orders/1")
    sent = staff.post("/admin/orders/1/resend", data={"csrf_token": page_token(page)})
    assert sent.status_code == 303
    assert [m.to for m in mail_outbox] == [["ann@example.com"]]
    assert "Confirmation email sent again" in staff.get("/admin/orders/1").data.decode()


def test_resending_a_refunded_or_cancelled_orders_email_tells_the_truth(app, store, make, world, mail_outbox):
    """A partly refunded order's resent email said "It waits for your payment" without its items (only
    PAID counted as paid); a cancelled unpaid order's said it waits for the store to confirm the payment."""
    from services import refunds

    admin, me = as_role(app, make, store, "ADMIN")
    with app.app_context(), tenant_scope(store):
        order = db.session.scalar(select(Order).where(Order.order_number == 1))
        refunds.refund(db.session.get(Store, store.id), order, amount=500, destination="balance", reason="",
                       actor=db.session.get(User, me.id))
        db.session.commit()
    page = admin.get("/admin/orders/1")
    assert admin.post("/admin/orders/1/resend", data={"csrf_token": page_token(page)}).status_code == 303
    (resent,) = [m for m in mail_outbox if m.subject == "Your order #1 is ready"]
    assert "NFX-" in resent.body and "waits for" not in resent.body

    mail_outbox.clear()
    assert admin.post("/admin/orders/2/status", data={"csrf_token": page_token(page), "status": "CANCELLED"}).status_code == 303
    assert [m.subject for m in mail_outbox] == ["Your order #2 was cancelled"]  # the buyer hears it
    mail_outbox.clear()
    html = admin.get("/admin/orders/2").data.decode()
    assert "Resend confirmation email" not in html and 'data-testid="no-resend"' in html
    refused = admin.post("/admin/orders/2/resend", data={"csrf_token": page_token(page)})
    assert refused.status_code == 422 and "is cancelled and was never paid" in refused.data.decode()
    assert mail_outbox == [] and "Confirmation email sent again" not in admin.get("/admin/orders/2").data.decode()


def test_gift_form_creates_a_gift_in_the_recipients_history(app, store, make, world):
    admin, _ = as_role(app, make, store, "ADMIN")
    suggest = admin.get("/admin/users/suggest?recipient=bo", headers=HX).data.decode()
    assert f'value="{world["bob"]}"' in suggest and "bob@example.com" in suggest and "ann" not in suggest
    page = admin.get("/admin/orders/gift")
    html = page.data.decode()
    assert '<optgroup label="Netflix Gift">' in html and "1 month (3 in stock)" in html
    unknown = admin.post("/admin/orders/gift", data={"csrf_token": page_token(page), "recipient": "nobody",
                                                     "variant_id": world["variant"], "quantity": 1})
    assert unknown.status_code == 422 and "No user with that username or email" in unknown.data.decode()
    too_many = admin.post("/admin/orders/gift", data={"csrf_token": page_token(page), "user_id": world["bob"],
                                                      "variant_id": world["variant"], "quantity": 9})
    assert too_many.status_code == 422 and "left" in too_many.data.decode()
    done = admin.post("/admin/orders/gift", data={"csrf_token": page_token(page), "recipient": "bob", "user_id": world["bob"],
                                                  "variant_id": world["variant"], "quantity": 2, "note": "Sorry for the wait"})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/orders/3"
    bob = new_client(app)
    login(bob, "bob")
    history = bob.get("/account/orders").data.decode()
    assert 'href="/account/orders/3"' in history and 'data-testid="gift"' in history
    gift = bob.get("/account/orders/3").data.decode()
    assert "Sorry for the wait" in gift and len(re.findall(r'data-testid="deliverable">NFX-', gift)) == 2
    with app.app_context(), tenant_scope(store):
        order = db.session.scalar(select(Order).where(Order.order_number == 3))
        assert order.is_gift and order.total == 0 and order.status == "COMPLETED"
    assert 'data-testid="refund-card"' not in admin.get("/admin/orders/3").data.decode()  # nothing was paid
    prefilled = admin.get(f"/admin/orders/gift?user={world['bob']}").data.decode()
    assert f'value="{world["bob"]}" checked' in prefilled


def test_users_list_and_user_page(app, store, make, world):
    admin, _ = as_role(app, make, store, "ADMIN")
    listing = admin.get("/admin/users").data.decode()
    assert listing.count('data-testid="user-row"') == 3 and "€60.00" not in listing and "€40.00" in listing
    found = admin.get("/admin/users?q=ann%40", headers=HX)
    assert b"<html" not in found.data and found.data.count(b'data-testid="user-row"') == 1
    with app.app_context(), tenant_scope(store):
        bob = db.session.get(User, world["bob"])
        cart_service.add_item(cart_service.get_cart(user=bob), world["variant"], 1)
        db.session.commit()
    ann = admin.get(f"/admin/users/{world['ann']}").data.decode()
    assert 'data-testid="user-spent">€20.00<' in ann and 'data-testid="user-balance">€40.00<' in ann
    assert 'href="/admin/orders/1"' in ann and "The cart is empty." in ann
    bob_page = admin.get(f"/admin/users/{world['bob']}").data.decode()
    assert 'data-testid="user-cart"' in bob_page and "Netflix Gift" in bob_page
    assert admin.get("/admin/users/not-a-user").status_code == 404


def test_balance_adjustment_writes_a_ledger_row_and_refuses_an_overdraft(app, store, make, world):
    admin, admin_user = as_role(app, make, store, "ADMIN")
    url = f"/admin/users/{world['bob']}"
    page = admin.get(url)
    credit = admin.post(f"{url}/balance", data={"csrf_token": page_token(page), "amount": "12.50", "reason": "Goodwill"})
    assert credit.status_code == 303
    html = admin.get(url).data.decode()
    assert 'data-testid="user-balance">€12.50<' in html and "Goodwill" in html and "+€12.50" in html
    overdraft = admin.post(f"{url}/balance", data={"csrf_token": page_token(page), "amount": "-20", "reason": "Chargeback"})
    assert overdraft.status_code == 422 and "The balance is too low: this needs" in overdraft.data.decode()
    no_reason = admin.post(f"{url}/balance", data={"csrf_token": page_token(page), "amount": "-2", "reason": ""})
    assert no_reason.status_code == 422 and "Say why the balance changes" in no_reason.data.decode()
    bad = admin.post(f"{url}/balance", data={"csrf_token": page_token(page), "amount": "1.234", "reason": "x"})
    assert bad.status_code == 422 and "More decimals than EUR allows" in bad.data.decode()
    debit = admin.post(f"{url}/balance", data={"csrf_token": page_token(page), "amount": "-2.50", "reason": "Fee"})
    assert debit.status_code == 303
    with app.app_context(), tenant_scope(store):
        rows = list(db.session.scalars(select(BalanceTransaction).where(BalanceTransaction.user_id == world["bob"])
                                       .order_by(BalanceTransaction.created_at)))
        assert [(r.amount, r.reason, r.kind, r.created_by_id) for r in rows] == [
            (1250, "Goodwill", "adjustment", admin_user.id), (-250, "Fee", "adjustment", admin_user.id)]
        assert db.session.get(User, world["bob"]).balance == 1000 == balance.ledger_sum(world["bob"])
    assert orders  # imported for the fixture's readers


def test_gift_form_ships_a_physical_item_to_the_recipients_default_address(app, store, make, world):
    admin, _ = as_role(app, make, store, "ADMIN")
    with app.app_context(), tenant_scope(store):
        shirt = product_service.create_product({"title": "T-Shirt", "kind": "physical", "variants": [
            {"title": "M", "price": 2500, "stock_count": 3}]})
        shirt_variant = db.session.scalar(select(Variant.id).where(Variant.product_id == shirt.id))
        db.session.commit()
    page = admin.get("/admin/orders/gift")
    form = {"csrf_token": page_token(page), "user_id": world["bob"], "variant_id": shirt_variant, "quantity": 1}
    refused = admin.post("/admin/orders/gift", data=form)
    assert refused.status_code == 422 and "bob has no default shipping address" in refused.data.decode()
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(func.count()).select_from(Order).where(Order.is_gift.is_(True))) == 0
        addresses.create_address(db.session.get(User, world["bob"]), {
            "name": "Bob", "line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048", "country": "PT"})
        db.session.commit()
    done = admin.post("/admin/orders/gift", data=form)
    assert done.status_code == 303 and done.headers["Location"] == "/admin/orders/3"
    with app.app_context(), tenant_scope(store):
        order = db.session.scalar(select(Order).where(Order.order_number == 3))
        assert order.is_gift and order.status == "PROCESSING"
        assert (order.shipping_address["name"], order.shipping_address["city"]) == ("Bob", "Lisboa")


def test_approving_an_order_with_items_to_ship_says_what_is_left(app, client, store, make, shop):
    from tests.api.shop import ship

    for variant in (shop.digital, shop.physical):
        assert client.post("/api/cart/items", json={"subcategory_id": variant, "quantity": 1},
                           headers=shop.headers).status_code == 200
    placed = client.post("/api/orders/checkout", json={"payment_method": "MANUAL", **ship(shop)}, headers=shop.headers)
    assert placed.status_code == 201, placed.get_json()
    number = placed.get_json()["order_number"]
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get(f"/admin/orders/{number}")
    done = admin.post(f"/admin/orders/{number}/approve", data={"csrf_token": page_token(page)})
    assert done.status_code == 303
    html = admin.get(f"/admin/orders/{number}").data.decode()
    assert f"Order #{number} approved: paid; its digital items are delivered, the rest waits to be shipped." in html
    assert "paid and delivered" not in html
