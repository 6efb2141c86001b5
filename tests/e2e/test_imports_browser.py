"""Issue 15, moving a store in, in Chromium: a sysadmin imports a (fake) WooCommerce store from
/sysadmin/migrations and reads the finished import (progress bar at 100 %, counts, the broken
images listed); an admin uploads a CSV at /admin/import, reads the column mapping, the first rows
and the bad line, imports, and downloads the summary. At 1280 and 375 px, nothing overflowing,
axe-core finding nothing serious or critical. Jobs run inline here (the polling is proven in
tests/web/test_import_pages.py, a killed worker in tests/jobs/test_import_jobs.py)."""
from __future__ import annotations

from playwright.sync_api import expect

from extensions import db
from models import Role
from services import auth as auth_service
from tenancy import platform_scope
from tests.e2e.conftest import watch
from tests.e2e.test_accessibility import AXE, RUN_AXE
from tests.e2e.test_admin_payments import overflow, sign_in, top
from tests.fakes.woocommerce_server import FakeWoo

SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))
ROOT = ("root@platform.example", "platform-root-imports")


def at_every_size(page, shot, name, found):
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(400)
        assert overflow(page) == [], (name, tag, overflow(page))
        violations = page.evaluate(RUN_AXE)
        if violations:
            found[f"{name} @ {tag}"] = violations
        shot(top(page), f"import-{name}-{tag}")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_sysadmin_imports_from_woocommerce_and_an_admin_from_csv(live_server, live_admin, browser, shot, tmp_path):
    base, app = live_server
    app.config["IMPORT_ALLOW_PRIVATE_URLS"] = True
    with app.app_context(), platform_scope():
        auth_service.create_user(username="root", email=ROOT[0], password=ROOT[1], role=Role.SYSADMIN,
                                 check_strength=False)
        db.session.commit()
    found: dict = {}
    with FakeWoo(n_products=30) as fake:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/login")
        page.fill("#login", ROOT[0])
        page.fill("#password", ROOT[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/sysadmin/")
        page.click("text=Migrations")
        page.wait_for_url(f"{base}/sysadmin/migrations")
        at_every_size(page, shot, "woo-form", found)
        page.get_by_label("Store (slug or id)").fill("e2e")
        page.get_by_label("WooCommerce site address").fill(fake.url)
        page.get_by_label("Consumer key").fill(fake.key)
        page.get_by_label("Consumer secret").fill(fake.secret)
        page.click("text=Start the import")
        progress = page.get_by_test_id("import-progress")
        expect(progress).to_have_attribute("data-status", "DONE")
        expect(progress).to_have_attribute("data-percent", "100")
        expect(page.get_by_test_id("count-created")).to_have_text("30")
        expect(page.get_by_test_id("problems")).to_contain_text("missing.jpg")
        at_every_size(page, shot, "woo-done", found)
        assert fake.secret not in page.content()
        assert errors == [], errors
        context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, *live_admin)
    page.goto(f"{base}/admin/import")
    at_every_size(page, shot, "csv-upload", found)
    csv_file = tmp_path / "keys.csv"
    csv_file.write_text("product,category,variant,price,min,max,description,image_url,sku\n"
                        "Steam key,Games > PC,Global,19.99,1,5,<p>A key</p>,,STEAM-GL\n"
                        "Steam key,Games > PC,EU,17.50,1,5,,,STEAM-EU\n"
                        "Xbox card,Gift cards,25,twenty,1,0,,,XB-25\n")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.click("text=Check the file")
    expect(page.get_by_test_id("mapping")).to_contain_text("image_url")
    expect(page.get_by_test_id("sample")).to_contain_text("Steam key")
    expect(page.get_by_test_id("problems")).to_contain_text("price 'twenty'")
    at_every_size(page, shot, "csv-preview", found)
    page.click("text=Import 2 rows")
    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", "DONE")
    expect(page.get_by_test_id("count-created")).to_have_text("2")
    at_every_size(page, shot, "csv-done", found)
    with page.expect_download() as download:
        page.click("text=Download the summary (CSV)")
    assert "failed,1" in open(download.value.path()).read()
    assert errors == [], errors
    context.close()
    assert found == {}, "\n".join(f"{where}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
                                  for where, vs in found.items() for v in vs)
