"""The wishlist in Chromium, at 1280 and 375 px: a shopper taps the heart on the product page
(swapped in place, pressed), finds the product in the account's Wishlist tab, makes a share link,
and a guest opens it; axe-core finds no serious or critical violation on those pages and nothing
is wider than the screen. Screenshots in test-artifacts/ (wishlist-*)."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import watch
from tests.e2e.test_accessibility import AXE, RUN_AXE
from tests.e2e.test_admin_payments import overflow
from tests.e2e.test_shopping import DESKTOP, MOBILE, sign_in


def _axe(page, where: str, found: dict) -> None:
    page.wait_for_load_state("load")
    violations = page.evaluate(RUN_AXE)
    if violations:
        found[where] = violations
    assert overflow(page) == [], where


def test_a_shopper_saves_a_product_and_shares_the_list(live_server, live_shop, browser, shot):
    base, _app = live_server
    found: dict[str, list] = {}
    for n, (viewport, tag) in enumerate(((DESKTOP, "desktop"), (MOBILE, "mobile"))):
        context = browser.new_context(viewport=viewport)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        errors = watch(page)
        sign_in(page, base, live_shop["email"], live_shop["password"])
        page.goto(f"{base}/p/{live_shop['slug']}")
        heart = page.locator("main [data-testid=wishlist-heart]").first
        expect(heart).to_have_attribute("aria-pressed", "true" if n else "false")  # saved at 1280 stays saved
        if n == 0:
            page.evaluate("window.__stayed = true")
            heart.click()
            expect(page.locator("main [data-testid=wishlist-heart]").first).to_have_attribute("aria-pressed", "true")
            assert page.evaluate("window.__stayed") is True  # swapped in place, no reload
        _axe(page, f"product @ {tag}", found)
        shot(page, f"wishlist-product-{tag}")

        page.goto(f"{base}/account/wishlist")
        expect(page.get_by_test_id("wishlist-items")).to_contain_text("Game Pass Ultimate")
        page.get_by_role("button", name="Make a").click()
        link = page.get_by_test_id("share-link").input_value()
        assert "/wishlist/shared/" in link
        _axe(page, f"account wishlist @ {tag}", found)
        shot(page, f"wishlist-account-{tag}")

        guest = browser.new_context(viewport=viewport)
        guest.add_init_script(path=str(AXE))
        shared = guest.new_page()
        guest_errors = watch(shared)
        shared.goto(link)
        expect(shared.get_by_test_id("wishlist-items")).to_contain_text("Game Pass Ultimate")
        assert live_shop["email"] not in shared.content()
        _axe(shared, f"shared list @ {tag}", found)
        shot(shared, f"wishlist-shared-{tag}")
        assert guest_errors == []
        guest.close()

        page.get_by_test_id("revoke-link").click()
        assert browser.new_context().new_page().goto(link).status == 404  # revoked: the link is dead
        assert errors == []
        context.close()
    assert found == {}, "\n".join(f"{where}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
                                  for where, vs in found.items() for v in vs)
