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


def test_deleting_a_review_in_the_filtered_list_updates_its_count(live_server, live_admin, browser, shot):
    """Delete in place (htmx): the table of the list on screen is read again, so the filtered count
    and the rows stay true (the row used to vanish under an unchanged "1 review")."""
    from extensions import db
    from models import Order, Review
    from services import orders as order_service
    from services import products as product_service
    from services import stores as store_service
    from tenancy import tenant_scope

    base, app = live_server
    with app.app_context(), tenant_scope(store_service.get_store_by_slug("e2e")):
        product = product_service.create_product({"title": "Dice", "variants": [{"title": "Standard", "price": 500}]})
        for rating, words in ((5, "Lovely dice"), (3, "Just dice")):
            order = Order(order_number=order_service.next_number(), email="x@example.com", status="COMPLETED",
                          payment_method="BALANCE", currency="EUR")
            db.session.add(order)
            db.session.flush()
            db.session.add(Review(order_id=order.id, product_id=product.id, reviewed_by="buyer", rating=rating,
                                  text_review=words, product_name=product.title, is_approved=True))
        db.session.commit()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    errors = watch(page)
    page.on("dialog", lambda dialog: dialog.accept())
    email, password = live_admin
    sign_in(page, base, email, password)
    page.goto(f"{base}/admin/reviews")
    page.select_option("#f-rating", "3")  # htmx filters in place and pushes ?rating=3
    page.wait_for_url(re.compile(r".*rating=3"))
    page.wait_for_selector("#reviews-table .results-count:has-text('1 review')")
    page.click("[data-testid=review-delete]")
    page.wait_for_selector("#reviews-table .results-count:has-text('0 reviews')")
    assert "No reviews match" in page.text_content("#reviews-table")
    assert "Lovely dice" not in page.text_content("#reviews-table")  # still the filtered list
    page.select_option("#f-rating", "")
    page.wait_for_selector("#reviews-table .results-count:has-text('1 review')")
    assert "Lovely dice" in page.text_content("#reviews-table")
    both_widths(top(page), shot, "review-admin-deleted")
    assert errors == []
    context.close()
