"""A manager's coupons page in Chromium: create, a duplicate refused next to its field, edit,
search (htmx), delete after the confirmation, at 1280 and 375 px with nothing overflowing."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from services import coupons
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_admin_payments import SIZES, overflow, sign_in, top


def test_manager_manages_coupons(live_server, live_admin, browser, shot):
    base, app = live_server
    email, password = live_admin
    with app.app_context():
        from extensions import db

        with tenant_scope(store_service.get_store_by_slug("e2e")):
            for i in range(3):
                coupons.create_coupon({"code": f"OLD-{i}", "kind": "fixed", "value": 250 * (i + 1), "max_uses": 10,
                                       "description": "A rather long note about this older coupon's campaign"})
            db.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, email, password)
    page.goto(f"{base}/admin/orders")
    page.click(".dash-side >> text=Coupons")
    page.wait_for_url(f"{base}/admin/coupons")
    page.click("text=New coupon")
    page.fill("#code", "welcome-15")
    page.select_option("#kind", "percent")
    page.fill("#value", "15")
    page.fill("#max_uses", "100")
    page.fill("#ends_at", "2999-01-01T00:00")
    page.click("text=Create coupon")
    page.wait_for_selector("text=Coupon WELCOME-15 created.")
    row = page.locator("[data-testid=coupon-row]", has_text="WELCOME-15")
    assert "15 %" in row.inner_text() and "0 / 100" in row.inner_text()

    page.click("text=New coupon")
    page.fill("#code", "old-1")
    page.fill("#value", "5")
    page.click("text=Create coupon")
    page.wait_for_selector("#code-err")
    assert "already exists" in page.inner_text("#code-err")
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)  # the menu's slide after a resize
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-coupon-form-{tag}")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{base}/admin/coupons")
    page.click("[data-testid=coupon-row] >> text=WELCOME-15")
    page.fill("#value", "20")
    page.click("text=Save coupon")
    page.wait_for_selector("text=Coupon WELCOME-15 saved.")
    assert "20 %" in page.locator("[data-testid=coupon-row]", has_text="WELCOME-15").inner_text()

    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)  # the menu's slide after a resize
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-coupons-{tag}")

    page.fill("#q", "old")  # htmx swaps the table in place
    expect(page.locator("[data-testid=coupon-row]")).to_have_count(3)
    assert re.search(r"/admin/coupons\?q=old", page.url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid=coupon-row]", has_text="OLD-0").locator("text=Delete").click()
    page.wait_for_selector("text=Coupon OLD-0 deleted.")
    expect(page.locator("[data-testid=coupon-row]")).to_have_count(3)  # OLD-1, OLD-2, WELCOME-15
    assert errors == []
    context.close()
