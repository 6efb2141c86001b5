"""The overview's chart in Chromium: drawn by Chart.js on load, redrawn in place when the range
changes (htmx swaps the sales section; no reload), at 1280 and 375 px."""
from __future__ import annotations

from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_shopping import DESKTOP, MOBILE


def _a_sale(app) -> None:
    """One paid order today (through the services), so the chart has something to draw."""
    from sqlalchemy import select

    from extensions import db
    from models import User, Variant
    from services import cart as cart_service
    from services import checkout
    from services import stores as store_service
    from tenancy import tenant_scope

    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            buyer = db.session.scalar(select(User).where(User.username == "shopper"))
            cart = cart_service.get_cart(user=buyer)
            cart_service.add_item(cart, db.session.scalar(select(Variant.id).where(Variant.title == "1 month")), 2)
            checkout.place_order(store, cart, buyer=buyer, method="BALANCE")
            db.session.commit()


def test_the_chart_redraws_when_the_range_changes(live_server, live_shop, live_admin, browser, shot):
    base, app = live_server
    email, password = live_admin
    _a_sale(app)
    for viewport, tag in ((DESKTOP, "desktop"), (MOBILE, "mobile")):
        page = browser.new_context(viewport=viewport).new_page()
        errors = watch(page)
        page.goto(f"{base}/login")
        page.fill("#login", email)
        page.fill("#password", password)
        page.click("main button[type=submit]")
        page.goto(f"{base}/admin/")
        page.wait_for_selector("#sales-chart[data-drawn='30d']")  # Chart.js drew it
        page.evaluate("window.__stayed = true")
        page.click("[data-testid=range-12m]")
        page.wait_for_selector("#sales-chart[data-drawn='12m']")  # swapped in and drawn again
        assert page.evaluate("window.__stayed") is True  # in place: no reload
        page.wait_for_timeout(100)  # past htmx's settle
        painted = page.evaluate("""() => { const c = document.getElementById('sales-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
        assert painted > 1000  # the 12-month chart is on the canvas (not wiped by the swap)
        assert page.evaluate("Chart.getChart('sales-chart').data.labels.length") == 12
        assert page.url.endswith("/admin/?period=12m")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.wait_for_timeout(300)  # Chart.js settles its size after the swap
        page.locator("#sales-chart").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=f"test-artifacts/overview-sales-{tag}.png")  # the viewport: no resize, the chart as drawn
        shot(top(page), f"overview-chart-{tag}")
        assert errors == []
