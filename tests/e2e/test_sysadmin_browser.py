"""Issue 13 in Chromium: a sysadmin creates a store in the browser, its admin follows the emailed
set-password link, signs in at the store's own address and opens its dashboard, and the sysadmin
sees the store on the platform dashboard; at 1280 and 375 px. Screenshots go to test-artifacts/.

The store's address is a subdomain of PLATFORM_DOMAIN (``platform.test``), which Chromium resolves
to the live server (``--host-resolver-rules``); the emailed link has no port (a real platform
serves on 443), so the test adds the live server's."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path, watch
from tests.e2e.test_admin_payments import overflow, top

ROOT_EMAIL, ROOT_PASSWORD = "root@platform.test", "platform-root-walks-in"
SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))


@pytest.fixture
def platform_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP *.platform.test 127.0.0.1"])
        yield instance
        instance.close()


@pytest.fixture
def root(live_server):
    from extensions import db
    from models import Role
    from services import auth as auth_service
    from tenancy import platform_scope

    _base, app = live_server
    app.config["PLATFORM_DOMAIN"] = "platform.test"
    app.config["PREFERRED_URL_SCHEME"] = "http"
    with app.app_context(), platform_scope():
        auth_service.create_user(username="root", email=ROOT_EMAIL, password=ROOT_PASSWORD, role=Role.SYSADMIN,
                                 check_strength=False)
        db.session.commit()
    return app


def _sign_in(page, base, email, password, landing):
    page.goto(f"{base}/login")
    page.fill("#login", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{landing}")


def test_a_sysadmin_creates_a_store_whose_admin_signs_in_and_it_shows_on_the_platform(
        live_server, root, platform_browser, shot):
    base, app = live_server
    port = urlsplit(base).port
    outbox = app.extensions["mailman"].outbox = []
    for width, height, label in SIZES:
        slug = f"porto-{label}"
        context = platform_browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        _sign_in(page, base, ROOT_EMAIL, ROOT_PASSWORD, "/sysadmin/")
        expect(page.get_by_role("heading", name="Platform dashboard")).to_be_visible()
        page.goto(f"{base}/sysadmin/stores/new")
        page.get_by_label("Store name").fill(f"Porto Codes {label}")
        page.get_by_label("Slug (its address)").fill(slug)
        page.get_by_label("Admin's email").fill(f"ana-{label}@porto.example")
        page.get_by_label("Plan").select_option("everything")
        page.get_by_label("Locale").fill("pt_PT")
        page.get_by_label("Time zone").fill("Europe/Lisbon")
        assert overflow(top(page)) == []
        shot(page, f"sysadmin-new-store-{label}")
        page.get_by_role("button", name="Create store").click()
        expect(page.get_by_test_id("store-status")).to_have_text("active")
        expect(page.get_by_text(f"ana-{label}@porto.example was emailed a link")).to_be_visible()
        assert overflow(top(page)) == []
        shot(page, f"sysadmin-store-detail-{label}")

        [mail] = [m for m in outbox if f"ana-{label}@porto.example" in m.to]
        link = re.search(r"http://(\S+)/reset-password/(\S+)", mail.body)
        assert link.group(1) == f"{slug}.platform.test:{port}"  # the platform's port: the link works as sent
        shop = f"http://{link.group(1)}"
        admin_page = context.new_page()
        admin_errors = watch(admin_page)
        admin_page.goto(f"{shop}/reset-password/{link.group(2)}")
        admin_page.get_by_label("New password", exact=True).fill("ana-sets-her-own-pass")
        admin_page.get_by_label("Repeat new password").fill("ana-sets-her-own-pass")
        admin_page.get_by_role("button", name="Save the new password").click()
        admin_page.wait_for_url(f"{shop}/login")
        _sign_in(admin_page, shop, f"ana-{label}@porto.example", "ana-sets-her-own-pass", "/account")
        admin_page.goto(f"{shop}/admin/")
        expect(admin_page.locator(".dash-top .brand")).to_contain_text(f"Porto Codes {label}")
        shot(admin_page, f"sysadmin-new-store-admin-{label}")
        assert admin_errors == []

        page.goto(f"{base}/sysadmin/")
        expect(page.get_by_test_id("newest-stores")).to_contain_text(f"Porto Codes {label}")
        assert overflow(top(page)) == []
        shot(page, f"sysadmin-dashboard-{label}")
        page.goto(f"{base}/sysadmin/stores?sort=name&order=asc")
        expect(page.get_by_test_id("store-row").filter(has_text=f"Porto Codes {label}")).to_be_visible()
        assert overflow(top(page)) == []
        shot(page, f"sysadmin-stores-{label}")
        assert errors == []
        context.close()


def test_the_sysadmin_area_has_no_serious_axe_violation_and_fits_a_phone(live_server, live_shop, root,
                                                                         platform_browser, shot):
    """Every page of the sysadmin area (dashboard, stores, a store, the new-store form, plans and
    addons with their forms, queues, the platform log) at 1280 and 375 px: no serious or critical
    axe-core violation, nothing wider than the screen; with a paid order on the platform, the
    dashboard's GMV chart is drawn."""
    from extensions import db
    from models import Addon, Plan
    from services import stores as store_service
    from tenancy import platform_scope
    from tests.e2e.test_accessibility import AXE, RUN_AXE
    from tests.e2e.test_overview_chart import _a_sale

    base, app = live_server
    _a_sale(app)
    with app.app_context(), platform_scope():
        store_id = store_service.get_store_by_slug("e2e").id
        plan_id = db.session.scalars(db.select(Plan.id)).first()
        addon_id = db.session.scalars(db.select(Addon.id)).first()
    assert plan_id and addon_id
    found: dict[str, list] = {}
    for width, height, label in SIZES:
        context = platform_browser.new_context(viewport={"width": width, "height": height})
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        errors = watch(page)
        _sign_in(page, base, ROOT_EMAIL, ROOT_PASSWORD, "/sysadmin/")
        for path in ("/sysadmin/", "/sysadmin/stores", "/sysadmin/stores/new", f"/sysadmin/stores/{store_id}",
                     "/sysadmin/plans", "/sysadmin/plans/new", f"/sysadmin/plans/{plan_id}", "/sysadmin/addons/new",
                     f"/sysadmin/addons/{addon_id}", "/sysadmin/queues", "/sysadmin/audit-log",
                     "/sysadmin/audit-log?scope=all"):
            assert page.goto(base + path).status == 200, path
            page.wait_for_load_state("load")
            violations = page.evaluate(RUN_AXE)
            if violations:
                found[f"{path} @ {width}"] = violations
            assert overflow(top(page)) == [], f"{path} @ {width}"
            if path == "/sysadmin/":
                page.wait_for_selector("#platform-chart[data-drawn]")
                painted = page.evaluate("""() => { const c = document.getElementById('platform-chart');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
                assert painted > 1000
                assert page.evaluate("Chart.getChart('platform-chart').data.labels.length") == 12
                shot(page, f"sysadmin-dashboard-chart-{label}")
        shot(page, f"sysadmin-audit-log-{label}")
        assert errors == []
        context.close()
    assert found == {}, "\n".join(f"{where}: {v['impact']} {v['id']} ({v['help']})\n    " + "\n    ".join(v["nodes"])
                                  for where, vs in found.items() for v in vs)


# Every option of every select in the page's toolbars, measured against its select: a copy of the
# select holding only that option, sized by Chromium itself (``width: auto``: the text, the padding
# and the arrow), must be no wider than the select is. Returns what does not fit.
CLIPPED_OPTIONS = """() => [...document.querySelectorAll('form.toolbar select')].flatMap((select) =>
  [...select.options].map((option) => {
    const probe = select.cloneNode(false);
    probe.removeAttribute('id');
    probe.removeAttribute('name');
    probe.append(new Option(option.text));
    probe.style.cssText = 'position:absolute;visibility:hidden;left:0;top:0;width:auto;min-width:0;max-width:none';
    select.parentElement.append(probe);
    const needed = probe.getBoundingClientRect().width, has = select.getBoundingClientRect().width;
    probe.remove();
    return needed > has + 0.5 ? `${select.id}: "${option.text}" needs ${needed}px, has ${has}px` : null;
  })).filter(Boolean)"""

# The submit buttons of the toolbars that share a line with a control (a button alone on its row
# has nothing to match): [text, button top and bottom, that control's top and bottom].
TOOLBAR_BUTTONS = """() => [...document.querySelectorAll('form.toolbar > button')].flatMap((button) => {
  const b = button.getBoundingClientRect();
  const beside = [...button.form.querySelectorAll('select, input:not([type=hidden])')]
    .map((c) => c.getBoundingClientRect()).find((c) => c.top < b.bottom && b.top < c.bottom);
  return beside ? [[button.textContent.trim(), b.top, b.bottom, beside.top, beside.bottom]] : [];
})"""


def test_the_stores_and_audit_toolbars_show_whole_options_and_buttons_as_tall_as_their_selects(
        live_server, root, platform_browser, shot):
    """/sysadmin/stores: the Status filter's first option was cut to "Active and s…" at 1280 px.
    /sysadmin/audit-log: the Show button was stretched to the height of the label and the select
    together. At 1280 and 375 px, every toolbar option shows whole, and each toolbar button is as
    tall as the control beside it and stands on its line."""
    base, _app = live_server
    for width, height, label in SIZES:
        context = platform_browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        _sign_in(page, base, ROOT_EMAIL, ROOT_PASSWORD, "/sysadmin/")
        for path, name in (("/sysadmin/stores", "stores"), ("/sysadmin/audit-log?scope=all", "audit-log-all")):
            page.goto(base + path)
            assert page.evaluate(CLIPPED_OPTIONS) == [], f"{path} @ {width}"
            buttons = page.evaluate(TOOLBAR_BUTTONS)
            assert buttons or (name == "stores" and width == 375), path  # there Apply has a row of its own
            for text, top_, bottom, control_top, control_bottom in buttons:
                assert abs(bottom - control_bottom) <= 1 and abs((bottom - top_) - (control_bottom - control_top)) <= 1, \
                    f"{text} @ {width}: button {top_:.0f}-{bottom:.0f}, control {control_top:.0f}-{control_bottom:.0f}"
            assert overflow(top(page)) == []
            shot(page, f"sysadmin-toolbar-{name}-{label}")
        assert errors == []
        context.close()
