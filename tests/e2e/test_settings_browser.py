"""Issue 11, Settings, in Chromium: an admin changes the announcement bar on /admin/settings,
watches the live preview follow the fields, saves, and the storefront home shows the new bar,
on a desktop and a phone. Screenshots go to test-artifacts/."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import watch
from tests.e2e.test_admin_payments import overflow, sign_in, top

SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))


def test_the_announcement_bar_changes_in_the_preview_and_on_the_storefront(live_server, live_admin, browser, shot):
    base, _app = live_server
    email, password = live_admin
    for width, height, label in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        sign_in(page, base, email, password)
        page.goto(f"{base}/admin/settings")
        expect(page.locator('.dash-side a[href="/admin/settings"]')).to_have_attribute("aria-current", "page")
        preview = page.get_by_test_id("announcement-preview")
        if label == "desktop":  # a new store has no bar; on the phone the desktop's saved bar shows
            expect(preview.get_by_test_id("announcement-off")).to_be_visible()
        else:
            expect(preview.locator(".announcement")).to_contain_text("on the desktop")

        text = f"Weekend sale on the {label}: 20% off"
        page.get_by_label("Show the announcement bar").check()
        page.get_by_label("Style").select_option(label="Sale")
        page.get_by_label("Motion").select_option("scrolling")
        page.get_by_label("Direction").select_option("right")
        page.get_by_label("Text", exact=True).fill(text)
        bar = page.get_by_test_id("announcement-preview").locator(".announcement")
        expect(bar).to_be_visible()
        expect(bar).to_contain_text(text)
        expect(bar).to_have_class("announcement is-scrolling scroll-right")
        assert "linear-gradient" in (bar.get_attribute("style") or "")
        page.get_by_label("Motion").select_option("static")  # the preview follows every change
        expect(page.get_by_test_id("announcement-preview").locator(".announcement")).to_have_class("announcement")
        assert overflow(top(page)) == []
        shot(page, f"settings-admin-{label}")

        page.get_by_test_id("settings-save").click()
        expect(page.get_by_text("Settings saved")).to_be_visible()

        page.goto(base + "/")
        shop_bar = page.get_by_role("region", name="Announcement")
        expect(shop_bar).to_be_visible()
        expect(shop_bar).to_contain_text(text)
        background = shop_bar.evaluate("el => getComputedStyle(el).backgroundImage")
        assert "linear-gradient" in background, background
        shot(page, f"settings-storefront-{label}")
        assert errors == []
        context.close()
