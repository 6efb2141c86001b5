"""Issue 12, themes and branding, in Chromium: an admin applies the Boutique theme from the gallery,
watches the live preview follow a colour typed in, uploads a logo and sees the shop change; a
second store on the same deployment (its own domain) runs the Arcade theme with another logo. The
two look clearly different at 1280 and 375 px (screenshots in test-artifacts/, looked at)."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

from extensions import db
from services import branding, stock, store_config
from services import products as product_service
from services import stores as store_service
from tenancy import tenant_scope
from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path, watch
from tests.e2e.test_admin_payments import sign_in

SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))


def logo(colour, size=(240, 96)) -> bytes:
    out = io.BytesIO()
    img = Image.new("RGB", size, colour)
    for x in range(size[0] // 4, size[0] * 3 // 4):
        for y in range(size[1] // 3, size[1] * 2 // 3):
            img.putpixel((x, y), (255, 255, 255))
    img.save(out, format="PNG")
    return out.getvalue()


def _catalog():
    for title, price in (("Steam Wallet 20", 2000), ("PSN Card 50", 5000), ("Xbox Game Pass", 1499), ("Nintendo eShop 25", 2500)):
        product = product_service.create_product({"title": title, "variants": [{"title": "Code", "price": price}]})
        db.session.flush()
        stock.import_stock(product_service.get_product(product.id, include_hidden=True).variants[0],
                           "\n".join(f"{title[:3].upper()}-{i:03d}" for i in range(3)))


def test_two_stores_two_looks(live_server, live_admin, shot, tmp_path):
    base, app = live_server
    email, password = live_admin
    port = base.rsplit(":", 1)[1]
    with app.app_context():
        home = store_service.get_store_by_slug("e2e")
        with tenant_scope(home):
            _catalog()
        arcade = store_service.create_store("arcade", "Neon Vault", domain="arcade.test")
        with tenant_scope(arcade):
            _catalog()
            store_config.apply_theme(arcade, "arcade")
            branding.set_image(arcade, "logo", branding.prepare_image(arcade, "logo", logo((163, 230, 53))))
            store_config.update_store_config(arcade, {"branding": {"tagline": "Game keys, instantly"}})
        db.session.commit()
    logo_file = tmp_path / "logo.png"
    logo_file.write_bytes(logo((180, 83, 42)))

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                    args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP arcade.test 127.0.0.1"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = watch(page)
        sign_in(page, base, email, password)
        page.goto(f"{base}/admin/appearance")
        expect(page.locator('.dash-side a[href="/admin/appearance"]')).to_have_attribute("aria-current", "page")
        page.get_by_test_id("theme-boutique").get_by_role("button", name="Apply Boutique").click()
        expect(page.get_by_text("The Boutique theme is on")).to_be_visible()
        expect(page.get_by_test_id("theme-boutique")).to_contain_text("In use")

        page.get_by_label("Tagline").fill("Curated gift cards")
        page.get_by_label("Brand colour", exact=True).fill("#9a3412")
        preview = page.get_by_test_id("brand-preview")
        expect(preview).to_contain_text("Curated gift cards")
        expect(preview.locator(".brand-preview")).to_have_attribute("style", re.compile("--brand:#9a3412;"))
        picker = page.get_by_label("Brand colour picker")
        assert picker.input_value() == "#9a3412"  # the picker follows the text box
        shot(page, "appearance-admin-desktop")
        page.get_by_role("button", name="Save branding").click()
        expect(page.get_by_text("Branding saved")).to_be_visible()

        page.get_by_test_id("image-logo").get_by_label("Image").set_input_files(str(logo_file))
        page.get_by_test_id("image-logo").get_by_role("button", name="Upload").click()
        expect(page.get_by_text("The logo is updated")).to_be_visible()
        expect(page.get_by_test_id("image-logo").locator("img")).to_be_visible()
        assert errors == []
        context.close()

        looks = {}
        for width, height, label in SIZES:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            errors = watch(page)
            for name, url in (("boutique", f"{base}/"), ("arcade", f"http://arcade.test:{port}/")):
                page.goto(url)
                expect(page.locator("img.brand-logo")).to_be_visible()
                bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
                heading = page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
                cols = page.evaluate("getComputedStyle(document.querySelector('.product-grid')).gridTemplateColumns.split(' ').length")
                looks[(name, label)] = (bg, heading, cols)
                assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), (name, label)
                shot(page, f"theme-{name}-{label}")
            assert errors == []
            context.close()
        browser.close()

    assert looks[("boutique", "desktop")][0] == "rgb(251, 246, 238)" and looks[("arcade", "desktop")][0] == "rgb(11, 16, 32)"
    assert "Georgia" in looks[("boutique", "desktop")][1] and "Arial Black" in looks[("arcade", "desktop")][1]
    assert looks[("arcade", "desktop")][2] > looks[("boutique", "desktop")][2]  # compact grid: more cards to a row
    assert looks[("arcade", "mobile")][2] == looks[("boutique", "mobile")][2] == 2
