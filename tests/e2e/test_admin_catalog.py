"""An admin builds a catalog through the dashboard; a shopper finds and opens the product, in Chromium."""
from __future__ import annotations

import re

from sqlalchemy import select

from extensions import db
from models import Product
from services import stock
from services import stores as store_service
from services import variants as variant_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch

CODES = "E2E-CODE-0001\nE2E-CODE-0002\nE2E-CODE-0003"


def top(page):
    """Full-page screenshots of a scrolled page draw the sticky bars mid-page: scroll up first."""
    page.evaluate("window.scrollTo(0, 0)")
    return page


def test_admin_builds_the_catalog_and_a_shopper_finds_the_product(live_server, live_admin, browser, shot):
    base, app = live_server
    email, password = live_admin

    # --- the admin, on a desktop screen ---------------------------------------------------
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch(page)
    page.goto(f"{base}/login")
    page.fill("#login", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/account")

    page.goto(f"{base}/admin/categories")
    page.fill("#title", "Gift Cards")
    page.fill("#hex_code", "#f59e0b")
    page.click("text=Create category")
    page.wait_for_selector("text=Category “Gift Cards” created.")
    assert page.is_visible(".category-table >> text=Gift Cards")
    shot(top(page), "admin-categories-desktop")

    page.click(".dash-side >> text=Products")
    page.click("text=New product")
    page.fill("#title", "Steam Wallet")
    page.select_option("#category_id", label="Gift Cards")
    page.fill("#description", "<p>Top up any <strong>Steam</strong> account.</p>")
    page.check("#is_featured")
    page.click("text=Create product")
    page.wait_for_url(re.compile(rf"{re.escape(base)}/admin/products/[0-9a-f-]{{36}}$"))
    product_url = page.url

    page.fill("#sub-title", "$10")
    page.fill("#sub-price", "10.99")
    page.fill("#sub-max_quantity", "5")
    page.click("text=Add subcategory")  # htmx swaps the section in place
    row = page.wait_for_selector("#subcategories tbody tr:has-text('$10')")
    assert "€10.99" in row.text_content()
    assert page.url == product_url
    shot(top(page), "admin-product-desktop")

    row.query_selector("text=Stock").click()
    page.wait_for_url(re.compile(r".*/stock$"))
    page.fill("#deliverables", CODES)
    page.fill("#supplier", "Valve reseller")
    page.click("button:has-text('Import')")
    result = page.wait_for_selector("[data-testid=import-result]")
    assert "3 added" in " ".join(result.text_content().split())
    assert page.text_content("[data-testid=available]").strip() == "3"
    masked = page.locator("[data-testid=masked]")
    assert masked.count() == 3 and "E2E-CODE" not in masked.first.text_content()
    page.locator("button:has-text('Reveal')").first.click()
    revealed = page.wait_for_selector("[data-testid=revealed]")
    assert revealed.text_content().startswith("E2E-CODE-000")
    shot(top(page), "admin-stock-desktop")

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()  # no half-finished sidebar transition in the picture
    assert page.locator("[data-testid=masked]").count() == 3  # a fresh page: masked again
    shot(top(page), "admin-stock-mobile")
    page.goto(f"{base}/admin/products")
    shot(top(page), "admin-products-mobile")
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(top(page), "admin-products-desktop")
    assert errors == [], errors
    context.close()

    # a second option, in stock too, so the shopper can switch between two
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            product = db.session.scalar(select(Product).where(Product.slug == "steam-wallet"))
            bigger = variant_service.create_variant(product, {"title": "$25", "price": 2649})
            stock.import_stock(bigger, "E2E-BIG-0001")
            db.session.commit()

    # --- a shopper, anonymous, on both screens -------------------------------------------
    for width, height, tag in ((1280, 800, "desktop"), (375, 812, "mobile")):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/")
        assert page.is_visible(".product-card >> text=Steam Wallet")
        assert page.is_visible(".category-tile >> text=Gift Cards")
        shot(top(page), f"shop-home-{tag}")

        if tag == "desktop":
            page.fill(".header-search input[name=q]", "wallet")
            page.press(".header-search input[name=q]", "Enter")
            page.wait_for_url(f"{base}/search?q=wallet")
        else:
            page.click("label.nav-toggle-label")
            page.click(".site-nav >> text=Search")
            page.wait_for_url(f"{base}/search")
            page.fill("#q", "wallet")
            page.click("text=Show results")  # htmx swaps the results and pushes the URL
            page.wait_for_url(re.compile(r".*/search\?q=wallet.*"))
        page.wait_for_selector("[data-testid=results-count]:has-text('1 product')")
        shot(top(page), f"shop-search-{tag}")

        page.click(".product-card >> text=Steam Wallet")
        page.wait_for_url(f"{base}/p/steam-wallet")
        assert page.text_content("[data-testid=price]").strip() == "€10.99"
        page.click(".variant-option:has-text('$25')")
        page.wait_for_selector("[data-testid=price]:has-text('€26.49')")
        page.click(".variant-option:has-text('$10')")
        page.wait_for_selector("[data-testid=price]:has-text('€10.99')")
        assert page.text_content("[data-testid=chosen-variant]").strip() == "$10"
        assert page.text_content("[data-testid=stock]").strip() == "Only 3 left"  # 3 codes, threshold 5
        assert "variant=" in page.url  # the choice is in the address, so a reload keeps it
        assert page.get_attribute("#quantity", "max") == "3"
        assert page.is_enabled("button:has-text('Add to cart')")
        shot(top(page), f"shop-product-{tag}")
        assert errors == [], errors
        context.close()
