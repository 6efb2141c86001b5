"""A buyer leaves a review on the order page of a completed order; the product page shows it
with its stars and the rating summary, the product card shows the stars, and an admin sees it on
the reviews page — in Chromium, at 1280 and 375 px."""
from __future__ import annotations

import re

from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_shopping import DESKTOP, both_widths, sign_in


def test_buyer_reviews_the_order_and_the_product_page_shows_it(live_server, live_shop, live_admin, browser, shot):
    base, _app = live_server
    shop = live_shop
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, shop["email"], shop["password"])
    page.goto(f"{base}/p/{shop['slug']}")
    page.fill("#quantity", "1")
    page.click("button:has-text('Add to cart')")
    page.wait_for_selector("[data-testid=cart-added]")
    page.goto(f"{base}/checkout")
    page.check("input[value=BALANCE]")
    page.click("[data-testid=place-order]")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/account/orders/\d+$"))
    order_url = page.url

    # the review card of a completed order: a form; without a rating it says why, next to the stars
    page.wait_for_selector("[data-testid=review-form]")
    page.fill("#text_review", "Code worked instantly. Thanks!")
    page.click("[data-testid=review-submit]")
    page.wait_for_selector(".star-picker .error:has-text('Choose a rating')")
    both_widths(page, shot, "review-form")
    page.check("[data-testid=rating-5]")
    page.click("[data-testid=review-submit]")
    page.wait_for_url(f"{order_url}#review")
    card = page.locator("[data-testid=review-card]")
    assert "Code worked instantly. Thanks!" in card.text_content()
    assert card.locator(".stars").get_attribute("aria-label") == "5 out of 5 stars"
    assert page.locator("[data-testid=review-form]").count() == 0
    both_widths(page, shot, "review-posted")

    # the product page: the summary, the review with its stars; the card on the home page
    page.goto(f"{base}/p/{shop['slug']}")
    assert "5.0" in page.text_content("[data-testid=rating-summary]")
    review = page.locator("[data-testid=product-reviews] [data-testid=review]")
    assert review.count() == 1 and "Code worked instantly" in review.text_content() and "shopper" in review.text_content()
    assert page.locator("[data-testid=product-rating] .stars").get_attribute("aria-label") == "5 out of 5 stars"
    page.locator("#reviews-h").scroll_into_view_if_needed()
    both_widths(page, shot, "review-product-page")
    page.goto(f"{base}/")
    assert page.locator(".rating:has-text('5.0')").count() >= 1
    assert errors == []
    context.close()

    # the admin's reviews page lists it, with the buyer's name and its status
    admin_context = browser.new_context(viewport=DESKTOP)
    admin = admin_context.new_page()
    admin_errors = watch(admin)
    email, password = live_admin
    admin.goto(f"{base}/login")
    admin.fill("#login", email)
    admin.fill("#password", password)
    admin.click("main button[type=submit]")
    admin.wait_for_load_state()
    admin.goto(f"{base}/admin/reviews")
    row = admin.locator("[data-testid=review-row]")
    assert row.count() == 1 and "shopper" in row.text_content() and "Approved" in row.text_content()
    admin.click("[data-testid=review-edit]")
    admin.wait_for_selector("[data-testid=review-edit-form]")
    admin.select_option("#rating", "4")
    admin.click("[data-testid=review-save]")
    admin.wait_for_selector("[data-testid=review-row] .stars[aria-label='4 out of 5 stars']")
    both_widths(top(admin), shot, "review-admin")
    assert admin_errors == []
    admin_context.close()
