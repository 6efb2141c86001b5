"""A shopper registers, signs out, signs in again and sees the account page, in Chromium."""
from __future__ import annotations

from tests.e2e.conftest import watch


def test_register_login_and_account_page_in_chromium(live_server, browser, shot):
    base, _app = live_server
    for width, height, tag in ((1280, 800, "desktop"), (375, 812, "mobile")):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/register")
        page.fill("#username", f"walker{tag}")
        page.fill("#email", f"walker-{tag}@example.com")
        page.fill("#password", "walking-in-chromium")
        page.fill("#confirm", "walking-in-chromium")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/account")
        assert page.text_content("[data-testid=account-username]") == f"walker{tag}"
        shot(page, f"account-{tag}")
        # sign out (the mobile menu is behind the burger)
        if tag == "mobile":
            page.click("label.nav-toggle-label")
        page.click("text=Sign out")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/login")
        page.fill("#login", f"walker-{tag}@example.com")
        page.fill("#password", "wrong-password")
        page.click("button[type=submit]")
        assert "Wrong email/username or password" in page.text_content(".form-error")
        shot(page, f"login-error-{tag}")
        page.fill("#password", "walking-in-chromium")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/account")
        assert page.is_visible("text=Change password")
        assert errors == [], errors
        context.close()
