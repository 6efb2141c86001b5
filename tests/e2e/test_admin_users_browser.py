"""Issue 11, users, in Chromium: an admin finds a shopper in the users table (role and segment
filters), opens their page, promotes them to reseller with 20 %, and the shopper's cart then shows
the lower price. The users table, a user's page and the blacklist at 1280 and 375 px; screenshots
go to test-artifacts/."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import watch
from tests.e2e.test_admin_payments import overflow, sign_in, top

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}


def test_admin_promotes_a_shopper_to_reseller_and_their_cart_costs_less(live_server, live_admin, live_shop, browser,
                                                                         shot):
    base, _app = live_server
    email, password = live_admin
    shop = live_shop

    # --- the admin ---------------------------------------------------------------------------
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, email, password)
    page.goto(f"{base}/admin/users")
    expect(page.locator('.dash-side a[href="/admin/users"]')).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("user-row")).to_have_count(2)
    page.get_by_label("Role").select_option("USER")  # htmx: the table follows, the URL keeps the filter
    expect(page.get_by_test_id("user-row")).to_have_count(1)
    page.wait_for_url(f"{base}/admin/users?q=&role=USER&segment=")
    page.get_by_label("Segment").select_option("new")
    expect(page.get_by_test_id("user-row")).to_have_count(1)
    expect(page.get_by_test_id("user-row")).to_contain_text("shopper")
    expect(page.get_by_test_id("user-row")).to_contain_text("New")
    shot(top(page), "admin-users-desktop")
    page.set_viewport_size(MOBILE)
    page.reload()
    assert overflow(page) == []
    shot(top(page), "admin-users-mobile")
    page.set_viewport_size(DESKTOP)
    page.reload()

    page.get_by_role("link", name="shopper").click()
    page.wait_for_url(f"{base}/admin/users/*")
    expect(page.get_by_test_id("user-balance")).to_have_text("€100.00")
    page.get_by_label("Discount (%)", exact=True).fill("12.345")
    page.get_by_test_id("promote").click()
    expect(page.locator("#discount-err")).to_have_text("The discount has at most two decimals")
    page.get_by_label("Discount (%)", exact=True).fill("20")
    page.get_by_test_id("promote").click()
    expect(page.get_by_test_id("user-role")).to_have_text("Reseller · 20 % discount")
    expect(page.locator(".flash-success")).to_contain_text("now a reseller with 20 % off")
    shot(top(page), "admin-user-desktop")
    page.set_viewport_size(MOBILE)
    page.reload()
    shot(top(page), "admin-user-mobile")
    assert overflow(page) == []

    page.goto(f"{base}/admin/blacklist")
    page.get_by_label("Kind", exact=True).select_option("ip")
    page.get_by_label("Value").fill("203.0.113.9")
    page.get_by_label("Reason").fill("card testing")
    page.get_by_test_id("blacklist-add").click()
    expect(page.get_by_test_id("blacklist-row")).to_have_count(1)
    expect(page.get_by_test_id("blacklist-row")).to_contain_text("card testing")
    assert overflow(page) == []
    shot(top(page), "admin-blacklist-mobile")
    page.set_viewport_size(DESKTOP)
    page.reload()
    shot(top(page), "admin-blacklist-desktop")
    assert errors == []
    context.close()

    # --- the shopper, now a reseller ---------------------------------------------------------
    context = browser.new_context(viewport=MOBILE)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, shop["email"], shop["password"])
    page.goto(f"{base}/p/{shop['slug']}")
    expect(page.get_by_test_id("price")).to_contain_text("€11.99")  # 14.99 less 20 %, rounded half-up
    expect(page.get_by_test_id("list-price")).to_contain_text("€14.99")
    expect(page.get_by_test_id("reseller-badge")).to_contain_text("−20 %")
    shot(top(page), "reseller-product-mobile")
    page.fill("#quantity", "2")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    page.goto(f"{base}/cart")
    expect(page.get_by_test_id("subtotal")).to_have_text("€29.98")
    expect(page.get_by_test_id("reseller-discount")).to_have_text("-€6.00")  # 20 % of 29.98, rounded half-up
    expect(page.get_by_test_id("total")).to_have_text("€23.98")
    shot(top(page), "reseller-cart-mobile")
    assert errors == []
    context.close()
