"""The account's self-service pages in Chromium (issue 14): every tab in sight at 375 px, an
address added and made default through htmx without leaving the page, "Download my data" as a
file, and no serious or critical axe violation on Profile, Addresses, Settings and Privacy at
1280 and 375 px."""
from __future__ import annotations

import json

from tests.e2e.conftest import SHOPPER_EMAIL, SHOPPER_PASSWORD, watch
from tests.e2e.test_accessibility import AXE, WIDTHS, check
from tests.e2e.test_admin_payments import sign_in

PAGES = ("/account/profile", "/account/addresses", "/account/settings", "/account/privacy")


def test_account_tabs_addresses_download_and_axe(live_server, live_shop, browser, shot):
    base, _app = live_server
    context = browser.new_context(viewport={"width": 375, "height": 812}, accept_downloads=True)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, SHOPPER_EMAIL, SHOPPER_PASSWORD)

    page.goto(f"{base}/account/addresses")
    tabs = page.locator("nav.subnav a")
    assert tabs.count() == 9  # with Wishlist
    for i in range(tabs.count()):
        box = tabs.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, tabs.nth(i).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.fill("#name", "Ana Buyer")
    page.fill("#line1", "Rua das Flores 12")
    page.fill("#city", "Lisboa")
    page.fill("#postal_code", "1200")
    page.select_option("#country", "PT")
    page.click("button:has-text('Save address')")
    page.wait_for_selector("#postal_code[aria-invalid=true]")
    assert page.url == f"{base}/account/addresses"
    page.fill("#postal_code", "1200-195")
    page.click("button:has-text('Save address')")
    page.wait_for_selector("[data-testid=address]")
    page.fill("#name", "Office")
    page.fill("#line1", "Avenida 5")
    page.fill("#city", "Porto")
    page.fill("#postal_code", "4000-322")
    page.select_option("#country", "PT")
    page.click("button:has-text('Save address')")
    page.locator("[data-testid=address]", has_text="Avenida 5").wait_for()
    page.click("button[aria-label='Use for shipping: Avenida 5']")
    page.wait_for_selector("text=Default shipping address changed.")
    office = page.locator("[data-testid=address]", has_text="Avenida 5")
    assert office.locator("text=Default shipping").count() == 1
    assert page.url == f"{base}/account/addresses"  # htmx: no reload
    shot(page, "account-addresses-375")

    page.goto(f"{base}/account/privacy")
    with page.expect_download() as download:
        page.click("[data-testid=download-data]")
    data = json.loads(open(download.value.path(), encoding="utf-8").read())
    assert data["profile"]["email"] == SHOPPER_EMAIL and len(data["addresses"]) == 2

    found: dict[str, list] = {}
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        for path in PAGES:
            page.goto(base + path)
            check(page, found, f"{path} @ {width}")
    context.close()
    assert found == {}, found
    assert errors == [], errors
