"""Staff work the replacement queue in Chromium, on a desktop and a phone: a STAFF sign-in lands on
the queue, "Approve…" opens three options in the row, the 2nd is delivered and the row turns
approved in place (no reload); the buyer then sees the new item on the order page. Nothing may
overflow at 375 px."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from extensions import db
from models import Product, Role, StockItem, Store, User, Variant
from services import auth as auth_service
from services import cart as cart_service
from services import checkout, replacements
from services import products as product_service
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_admin_payments import SIZES, overflow, top

STAFF_EMAIL = "desk@e2e.example.com"
STAFF_PASSWORD = "staff-walks-in-chromium"


def _setup(app, shopper_email: str) -> dict:
    """A COMPLETED order of two codes (auto-replace off), each with a PENDING request; a STAFF user."""
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            shop = db.session.get(Store, store.id)
            auth_service.create_user(username="desk", email=STAFF_EMAIL, password=STAFF_PASSWORD, role=Role.STAFF,
                                     check_strength=False)
            shopper = db.session.scalar(select(User).where(User.email == shopper_email))
            variant = db.session.scalar(select(Variant).where(Variant.title == "1 month"))
            product_service.update_product(db.session.get(Product, variant.product_id), {"replacement_settings": {
                "replace_enabled": True, "auto_replace_enabled": False}})
            cart = cart_service.get_cart(user=shopper)
            cart_service.add_item(cart, variant.id, 2)
            order = checkout.place_order(shop, cart, buyer=shopper, method="BALANCE").order
            assert order.status == "COMPLETED"
            items = db.session.scalars(select(StockItem.id).where(StockItem.order_id == order.id)).all()
            for item, reason in zip(items, ("The key says it was already redeemed", "Region locked"), strict=True):
                assert replacements.request_replacement(order, user=shopper, stock_item_id=item,
                                                        reason=reason).status == "PENDING"
            db.session.commit()
            return {"number": order.order_number, "variant": variant.id}


def _plain(app, item_id: str) -> str:
    from services import stock

    with app.app_context():
        with tenant_scope(store_service.get_store_by_slug("e2e")):
            return stock.reveal(db.session.get(StockItem, item_id))


def test_staff_approve_a_replacement_in_place_and_the_buyer_sees_it(live_server, live_shop, live_admin, browser, shot):
    base, app = live_server
    order = _setup(app, live_shop["email"])
    chosen = []
    for width, height, tag in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/login")
        page.fill("#login", STAFF_EMAIL)
        page.fill("#password", STAFF_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/admin/replacements")  # staff land on the queue
        rows = page.locator("[data-testid=replacement-row][data-status=PENDING]")
        expect(rows).to_have_count(2 if tag == "desktop" else 1)
        row = rows.first
        assert f"#{order['number']}" in row.text_content() and "shopper" in row.text_content()
        assert overflow(page) == [], overflow(page)
        shot(top(page), f"staff-replacements-{tag}")

        row_id = row.get_attribute("id")
        page.evaluate("window.__notReloaded = true")
        row.locator("[data-testid=approve]").click()
        options = page.locator(f"#{row_id} [data-testid=option]")
        expect(options).to_have_count(3)
        assert page.locator(f"#{row_id} [data-testid=custom-deliverable]").count() == 0  # staff: no custom item
        options.nth(1).check()
        chosen.append(options.nth(1).get_attribute("value"))
        assert overflow(page) == [], overflow(page)
        shot(top(page), f"staff-replacement-options-{tag}")
        page.locator(f"#{row_id} [data-testid=approve-submit]").click()
        approved = page.locator(f"#{row_id}[data-status=APPROVED]")
        expect(approved).to_be_visible()
        expect(approved.locator("[data-testid=outcome]")).to_contain_text("Approved by desk")
        assert page.evaluate("window.__notReloaded") is True  # swapped in place, no reload
        assert page.url == f"{base}/admin/replacements"
        assert overflow(page) == [], overflow(page)
        shot(top(page), f"staff-replacement-approved-{tag}")
        assert errors == []
        context.close()

    # the buyer sees both new items among the order's deliverables
    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    errors = watch(page)
    page.goto(f"{base}/login")
    page.fill("#login", live_shop["email"])
    page.fill("#password", live_shop["password"])
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/account")
    page.goto(f"{base}/account/orders/{order['number']}")
    delivered = [t.strip() for t in page.locator("[data-testid=deliverable]").all_text_contents()]
    for item_id in chosen:
        assert _plain(app, item_id) in delivered, (item_id, delivered)
    shot(top(page), "buyer-order-replaced-mobile")
    assert errors == []
    context.close()

    # the admin's stock page: both sold codes of the import were replaced (the rate of a bad lot)
    for width, height, tag in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/login")
        page.fill("#login", live_admin[0])
        page.fill("#password", live_admin[1])
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/account")
        page.goto(f"{base}/admin/subcategories/{order['variant']}/stock")
        expect(page.locator("[data-testid=batch-rate]").first).to_contain_text(re.compile(r"2 / 2 sold · 100\.0\s%"))
        expect(page.locator("[data-testid=product-rate]")).to_contain_text(re.compile(r"100\.0\s%"))
        assert overflow(page) == [], overflow(page)
        shot(top(page), f"stock-replacement-rate-{tag}")
        assert errors == []
        context.close()
