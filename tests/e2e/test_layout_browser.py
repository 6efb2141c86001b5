"""Layouts that broke on a phone, walked in Chromium at 375 and 1280 px with the data that broke them:
a page with row actions (/admin/pages: 803 px wide at 375), a shipping zone with methods
(/admin/shipping: 697 px), the reports with a custom range and the analytics (a date input past its
card), the settings' external links (a name squeezed to "Di"), the search filters ("All categories"
cut), the shopper's balance history (amount and balance off-screen), and the shop's header with a
logo and one more page in the nav bar (the cart under the logo at 375, "Demo Digi…" at 1280).
Nothing may scroll the page sideways or stick out of its card. Screenshots go to test-artifacts/."""
from __future__ import annotations

from playwright.sync_api import expect

from extensions import db
from models import Store
from services import branding, shipping, store_config
from services import pages as page_service
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_admin_payments import sign_in
from tests.e2e.test_appearance_browser import logo

SIZES = ((375, 812, "mobile"), (1280, 800, "desktop"))
ADMIN_PAGES = ("/admin/pages", "/admin/shipping", "/admin/reports?period=custom&date_from=2026-11-01&date_to=2026-11-30",
               "/admin/analytics", "/admin/settings", "/admin/orders", "/admin/products", "/admin/coupons", "/admin/users")

# The page's width, then every element in <main> outside its card (or the window): a table scrolls inside
# its .table-wrap, so only the wrapper itself counts; a visually hidden label is 1 px and clipped.
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > width) out.push('page ' + document.documentElement.scrollWidth);
  for (const el of document.querySelectorAll('main *')) {
    if (el.parentElement.closest('.table-wrap, pre') || el.closest('.visually-hidden')) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const card = el.parentElement.closest('.card');
    const edge = card ? card.getBoundingClientRect() : {left: 0, right: width};
    if (box.left < edge.left - 1 || box.right > edge.right + 1)
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className + ' '
               + Math.round(box.left) + '-' + Math.round(box.right) + (card ? ' card ' + Math.round(edge.left) + '-' + Math.round(edge.right) : ''));
  }
  return out.slice(0, 10);
}"""
BOX = "el => { const b = el.getBoundingClientRect(); return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, width: b.width}; }"
CUT = "el => el.scrollWidth > el.clientWidth"


def _store_with_the_data_that_broke(app) -> None:
    """A long-ish name, a page in the nav bar, an external link, a shipping zone with two methods."""
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            db.session.get(Store, store.id).name = "Demo Digital Store"
            page_service.create_page({"title": "About us", "body": "# About us\n\nWe sell keys.", "is_active": True,
                                      "show_in_nav": True, "show_in_footer": True})
            store_config.update_store_config(store, {"external_links": [
                {"name": "Discord", "href": "https://discord.com", "emoji_icon": "💬"}]})
            zone = shipping.create_zone({"name": "Everywhere", "rest_of_world": True})
            shipping.add_method(zone, {"name": "Standard post", "kind": "flat", "price": 490, "min_days": 3,
                                       "max_days": 7, "free_threshold": 7500})
            shipping.add_method(zone, {"name": "Express", "kind": "flat", "price": 1290, "min_days": 1, "max_days": 2})
            db.session.commit()


def _with_a_logo(app) -> None:
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            branding.set_image(store, "logo", branding.prepare_image(store, "logo", logo("#4f46e5")))
            db.session.commit()


def test_admin_and_account_pages_fit_a_phone(live_server, live_admin, live_shop, browser, shot):
    base, app = live_server
    _store_with_the_data_that_broke(app)
    for width, height, label in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        sign_in(page, base, *live_admin)
        for path in ADMIN_PAGES:
            page.goto(base + path)
            assert page.locator("main table, main form").count(), path  # the page has what broke it
            assert page.evaluate(OUTSIDE) == [], (path, label)
        page.goto(base + "/admin/reports?period=custom&date_from=2026-11-01&date_to=2026-11-30")
        card = page.locator("[data-testid=reports-form]").evaluate(BOX)
        for field in ("#date_from", "#date_to"):  # the whole input, so its text and its calendar button
            box = page.locator(field).evaluate(BOX)
            assert card["left"] < box["left"] and box["right"] < card["right"] and box["width"] >= 140, (field, box, card)
        shot(top(page), f"layout-reports-{label}")
        page.goto(base + "/admin/settings")
        name = page.get_by_test_id("link-row").first.get_by_label("Link name")
        assert name.input_value() == "Discord" and name.evaluate(BOX)["width"] >= 120, name.evaluate(BOX)
        remove = page.get_by_test_id("link-row").first.locator("td.link-check label").last
        assert remove.evaluate(BOX)["width"] >= 44 and remove.evaluate("el => el.getBoundingClientRect().height") >= 44
        if width < 520:  # the rows stack: each box has its visible label, which toggles it
            expect(remove).to_have_text("Remove")
        remove.click()
        expect(page.get_by_test_id("link-row").first.get_by_label("Remove this link")).to_be_checked()
        shot(top(page), f"layout-settings-{label}")
        assert errors == []
        context.close()

        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        sign_in(page, base, live_shop["email"], live_shop["password"])
        page.goto(base + "/account/balance")
        assert page.evaluate(OUTSIDE) == [], label
        wrap = page.locator(".table-wrap:has(.ledger-table)")
        assert not wrap.evaluate(CUT), "the ledger scrolls sideways"
        row = page.get_by_test_id("ledger-row").first
        expect(row).to_contain_text("+€100.00")
        edge = wrap.evaluate(BOX)
        for cell in (row.locator("td.num").first, row.locator("td.num").last):  # amount, balance after
            box = cell.evaluate(BOX)
            assert cell.is_visible() and edge["left"] <= box["left"] and box["right"] <= edge["right"] + 1, (box, edge)
        shot(top(page), f"layout-balance-{label}")
        page.goto(base + "/search")
        assert page.evaluate(OUTSIDE) == [], label
        category, form = page.locator("#category"), page.locator("form.filters").evaluate(BOX)
        assert category.evaluate(BOX)["width"] >= (form["width"] - 70 if width < 520 else 150)  # "All categories" in full
        assert errors == []
        context.close()


def test_the_shop_header_keeps_its_row_and_the_name_with_a_logo_and_more_links(live_server, live_admin, browser, shot):
    base, app = live_server
    _store_with_the_data_that_broke(app)
    _with_a_logo(app)
    for who in ("visitor", "admin"):  # the admin's nav has two more links (Dashboard, the account)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors = watch(page)
        if who == "admin":
            sign_in(page, base, *live_admin)
        for width, height, label in ((375, 812, "mobile"), (320, 700, "small"), (1280, 800, "desktop"), (1152, 800, "inline")):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(base + "/pages/about-us")
            expect(page.locator("img.brand-logo")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (who, label)
            brand = page.locator(".site-header .brand").evaluate(BOX)
            for item in (".site-header .mini-cart", ".site-header .header-search", ".site-header .nav-toggle-label"):
                if page.locator(item).is_visible():  # on the brand's row, inside the window
                    box = page.locator(item).evaluate(BOX)
                    assert box["top"] < brand["bottom"] and box["bottom"] > brand["top"] and box["right"] <= width, (who, label, item)
            name = page.locator(".site-header .brand-name")
            if width >= 1152:
                assert not name.evaluate(CUT), f"{who} @ {width}: the name is cut"
                assert name.evaluate("el => el.getBoundingClientRect().height") < 30  # one line
                burger = page.locator(".site-header .nav-toggle-label")
                about = page.locator(".site-nav a", has_text="About us")
                if burger.is_visible():  # the links didn't fit beside the name: they went into the menu
                    assert page.locator(".site-header.nav-collapsed").count() == 1 and not about.is_visible()
                    burger.click()
                expect(about).to_be_visible()
                nav_box = page.locator(".site-nav").evaluate(BOX)
                assert nav_box["right"] <= width
            shot(top(page), f"layout-header-{who}-{width}")
        assert errors == []
        context.close()
