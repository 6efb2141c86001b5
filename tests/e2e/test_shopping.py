"""A shopper buys with their balance and sees the codes; a MANUAL order is approved by an admin
in a second browser and the shopper then sees other codes — in Chromium, at 1280 and 375 px."""
from __future__ import annotations

import re

from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 812}


def sign_in(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("#login", email)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/account")


def both_widths(page, shot, name):
    """Screenshot at 1280 px, then at 375 px (reloaded, so no half-done layout), then back."""
    shot(top(page), f"{name}-desktop")
    page.set_viewport_size(MOBILE)
    page.reload()
    shot(top(page), f"{name}-mobile")
    page.set_viewport_size(DESKTOP)
    page.reload()


def delivered(page) -> list[str]:
    return [c.strip() for c in page.locator("[data-testid=deliverable]").all_text_contents()]


def test_balance_purchase_then_manual_order_approved_by_an_admin(live_server, live_shop, live_admin, browser, shot):
    base, _app = live_server
    shop = live_shop

    # --- (a) the shopper buys two codes with their balance ---------------------------------
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, shop["email"], shop["password"])
    assert page.text_content("[data-testid=mini-cart-count]").strip() == "0"
    page.goto(f"{base}/p/{shop['slug']}")
    page.fill("#quantity", "9")  # above the maximum of 5: the panel says why (422 swapped in place)
    page.click("button:has-text('Add to cart')")
    # the reason stands once, next to the quantity it is about
    page.wait_for_selector("#quantity-err:has-text('At most 5 of 1 month per order')")
    assert page.get_attribute("#quantity", "aria-invalid") == "true"
    page.fill("#quantity", "2")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    assert page.text_content("[data-testid=mini-cart-count]").strip() == "2"  # out-of-band swap
    assert page.url == f"{base}/p/{shop['slug']}"
    shot(top(page), "shop-added-desktop")

    page.click("[data-testid=mini-cart]")
    page.wait_for_url(f"{base}/cart")
    page.fill("[data-testid=qty]", "3")
    page.press("[data-testid=qty]", "Tab")  # change -> htmx updates the cart in place
    page.wait_for_selector("[data-testid=total]:has-text('€44.97')")
    assert page.text_content("[data-testid=mini-cart-count]").strip() == "3"
    page.fill("[data-testid=qty]", "2")
    page.press("[data-testid=qty]", "Tab")
    page.wait_for_selector("[data-testid=total]:has-text('€29.98')")
    both_widths(page, shot, "cart")

    page.click("[data-testid=checkout-link]")
    page.wait_for_url(f"{base}/checkout")
    assert page.text_content("[data-testid=checkout-balance]").strip() == "€100.00"
    page.check("input[value=BALANCE]")
    both_widths(page, shot, "checkout")
    page.check("input[value=BALANCE]")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    first_codes = delivered(page)
    assert len(first_codes) == 2 and all(c.startswith("GPU-1M-") for c in first_codes)
    assert page.text_content("[data-testid=order-status]").strip() == "Completed"
    assert page.text_content("[data-testid=mini-cart-count]").strip() == "0"
    page.locator("button.copy-button").first.click()
    page.wait_for_selector("button.copy-button:has-text('Copied')")
    both_widths(page, shot, "order-paid")

    # --- (b) a MANUAL order waits for an admin ----------------------------------------------
    page.goto(f"{base}/p/{shop['slug']}")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    page.goto(f"{base}/checkout")
    page.check("input[value=MANUAL]")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    manual_url = page.url
    number = manual_url.rsplit("/", 1)[1]
    assert page.is_visible("[data-testid=order-waiting]") and delivered(page) == []
    shot(top(page), "order-waiting-desktop")

    admin_context = browser.new_context(viewport=DESKTOP)
    admin_page = admin_context.new_page()
    admin_errors = watch(admin_page)
    email, password = live_admin
    sign_in(admin_page, base, email, password)
    admin_page.goto(f"{base}/admin/orders")
    admin_page.wait_for_selector(f"[data-testid=order-row] >> text=#{number}")
    admin_page.fill("#q", "shopper")
    admin_page.wait_for_url(re.compile(r".*/admin/orders\?q=shopper.*"))
    shot(top(admin_page), "admin-orders-desktop")
    admin_page.set_viewport_size(MOBILE)
    admin_page.reload()
    shot(top(admin_page), "admin-orders-mobile")
    admin_page.set_viewport_size(DESKTOP)
    admin_page.goto(f"{base}/admin/orders/{number}")
    admin_page.once("dialog", lambda dialog: dialog.accept())  # data-confirm
    admin_page.click("[data-testid=approve]")
    admin_page.wait_for_selector("text=approved: paid and delivered")
    assert admin_page.text_content(".page-head [data-testid=order-status]").strip() == "Completed"
    assert len(delivered(admin_page)) == 1
    both_widths(admin_page, shot, "admin-order")
    admin_page.goto(f"{base}/admin/users")
    admin_page.click("text=shopper")
    admin_page.wait_for_selector("[data-testid=user-spent]")
    both_widths(admin_page, shot, "admin-user")
    admin_page.goto(f"{base}/admin/orders/gift")
    admin_page.fill("#recipient", "shop")
    admin_page.wait_for_selector("[data-testid=user-suggestions] >> text=shopper")
    both_widths(admin_page, shot, "admin-gift")
    assert admin_errors == [], admin_errors
    admin_context.close()

    page.reload()
    second_codes = delivered(page)
    assert len(second_codes) == 1 and not set(second_codes) & set(first_codes)
    assert page.text_content("[data-testid=order-status]").strip() == "Completed"
    page.goto(f"{base}/account")
    both_widths(page, shot, "account-overview")
    page.goto(f"{base}/account/balance")
    assert page.locator("[data-testid=ledger-row]").count() == 2
    assert errors == [], errors
    context.close()


def test_guest_adds_on_a_phone_and_checks_out_with_email(live_server, live_shop, browser, shot):
    base, _app = live_server
    context = browser.new_context(viewport=MOBILE)
    page = context.new_page()
    errors = watch(page)
    page.goto(f"{base}/p/{live_shop['slug']}")
    page.click(".variant-option:has-text('3 months')")
    page.wait_for_selector("[data-testid=price]:has-text('€39.99')")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    assert page.text_content("[data-testid=mini-cart-count]").strip() == "1"
    shot(top(page), "shop-added-mobile")
    page.click("[data-testid=mini-cart]")
    page.wait_for_url(f"{base}/cart")
    page.fill("#code", "NOPE")
    page.click("button:has-text('Apply')")
    page.wait_for_selector("[data-testid=coupon-error]:has-text('This coupon code does not exist')")
    shot(top(page), "cart-coupon-error-mobile")
    page.click("[data-testid=checkout-link]")
    assert page.is_disabled("input[value=BALANCE]")
    page.check("input[value=MANUAL]")
    page.fill("#email", "guest@e2e.example.com")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/orders/guest/.+"))
    assert page.is_visible("[data-testid=order-waiting]")
    shot(top(page), "order-guest-mobile")
    assert errors == [], errors
    context.close()
