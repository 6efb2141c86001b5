"""The issue's walk, in Chromium: a buyer reports a bad key and leaves a review from the order
page; staff approve the request with one of three options in the dashboard; the buyer then sees
the new item on the order page, in place of the reported one."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import Product, Role, Variant
from services import auth as auth_service
from services import products as product_service
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_shopping import DESKTOP, MOBILE, delivered, sign_in


def _staff_and_settings(app) -> None:
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            auth_service.create_user(username="desk", email="desk@e2e.example.com", password="staff-walks-in-chromium",
                                     role=Role.STAFF, check_strength=False)
            variant = db.session.scalar(select(Variant).where(Variant.title == "1 month"))
            product_service.update_product(db.session.get(Product, variant.product_id), {"replacement_settings": {
                "replace_enabled": True, "auto_replace_enabled": False, "warranty_time": 7 * 86400}})
            db.session.commit()


def test_buyer_reports_and_reviews_staff_approve_buyer_gets_the_new_item(live_server, live_shop, browser, shot):
    base, app = live_server
    _staff_and_settings(app)
    buyer = browser.new_context(viewport=MOBILE).new_page()
    errors = watch(buyer)
    sign_in(buyer, base, live_shop["email"], live_shop["password"])
    buyer.goto(f"{base}/p/{live_shop['slug']}")
    buyer.click("button:has-text('Add to cart')")
    buyer.wait_for_selector("[data-testid=cart-added]")
    buyer.goto(f"{base}/checkout")
    buyer.check("input[value=BALANCE]")
    buyer.click("[data-testid=place-order]")
    buyer.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    order_url = buyer.url
    [bad] = delivered(buyer)
    assert "Warranty: 6 d 23 h left" in buyer.text_content("[data-testid=warranty-left]")

    # 1. the buyer reports the key and leaves a review
    buyer.click("[data-testid=report-problem]")
    buyer.fill("textarea[name=reason]", "Steam says this key was already redeemed")
    buyer.click("[data-testid=ask-replacement]")
    buyer.wait_for_selector("[data-testid=replace-pending]")
    buyer.check("[data-testid=rating-5]")
    buyer.fill("textarea[name=text_review]", "Fast delivery, and they fix bad keys.")
    buyer.click("[data-testid=review-submit]")
    buyer.wait_for_selector("[data-testid=review-card]:has-text('Fast delivery')")
    shot(top(buyer), "walk-buyer-reported-and-reviewed-mobile")

    # 2. staff approve with the second of the three options, in place
    staff = browser.new_context(viewport=DESKTOP).new_page()
    staff_errors = watch(staff)
    staff.goto(f"{base}/login")
    staff.fill("#login", "desk@e2e.example.com")
    staff.fill("#password", "staff-walks-in-chromium")
    staff.click("main button[type=submit]")
    staff.wait_for_url(f"{base}/admin/replacements")
    row = staff.locator("[data-testid=replacement-row][data-status=PENDING]").first
    assert "Steam says this key was already redeemed" in row.text_content()
    row.locator("[data-testid=approve]").click()
    options = row.locator("[data-testid=option]")
    options.first.wait_for()
    assert options.count() == 3
    options.nth(1).check()
    row.locator("[data-testid=approve-submit]").click()
    staff.wait_for_selector("[data-testid=replacement-row][data-status=APPROVED] [data-testid=outcome]")
    assert "Approved by desk" in staff.text_content("[data-testid=outcome]")
    shot(top(staff), "walk-staff-approved-desktop")

    # 3. the buyer sees the new item in place of the reported one
    buyer.goto(order_url)
    [new] = delivered(buyer)
    assert new != bad and buyer.text_content("[data-testid=replaced-deliverable]").strip() == bad
    assert buyer.locator("[data-testid=replacement-badge]").count() == 1
    shot(top(buyer), "walk-buyer-new-item-mobile")
    assert errors == [] and staff_errors == []
