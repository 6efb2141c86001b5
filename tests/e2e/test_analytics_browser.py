"""The analytics page in Chromium at 1280 and 375 px: the chart is drawn on load, and changing the
range (or the product) swaps the results in place and redraws the chart with the new data; the
subcategory choice follows the product. No console errors, no CSP violations."""
from __future__ import annotations

from tests.e2e.conftest import watch
from tests.e2e.test_admin_catalog import top
from tests.e2e.test_overview_chart import _a_sale
from tests.e2e.test_shopping import DESKTOP, MOBILE

LABELS = "Chart.getChart('analytics-chart').data.labels.length"
UNITS = "Chart.getChart('analytics-chart').data.datasets[1].data.reduce((a, b) => a + b, 0)"
DRAWN_UNITS = ("() => { const c = Chart.getChart('analytics-chart');"
               " return c ? c.data.datasets[1].data.reduce((a, b) => a + b, 0) : -1; }")


def test_the_analytics_chart_redraws_when_the_range_changes(live_server, live_shop, live_admin, browser, shot):
    base, app = live_server
    email, password = live_admin
    _a_sale(app)  # 2 units of "1 month" today
    for viewport, tag in ((DESKTOP, "desktop"), (MOBILE, "mobile")):
        page = browser.new_context(viewport=viewport).new_page()
        errors = watch(page)
        page.goto(f"{base}/login")
        page.fill("#login", email)
        page.fill("#password", password)
        page.click("main button[type=submit]")
        page.goto(f"{base}/admin/analytics")
        page.wait_for_selector("#analytics-chart[data-drawn^='30d:']")
        assert page.evaluate(LABELS) == 30 and page.evaluate(UNITS) == 2
        assert page.inner_text("[data-testid=analytics-units]") == "2"
        page.evaluate("window.__stayed = true")
        page.select_option("#period", "12m")
        page.wait_for_selector("#analytics-chart[data-drawn^='12m:']")  # swapped in and drawn again
        assert page.evaluate("window.__stayed") is True  # in place: no reload
        assert page.evaluate(LABELS) == 12 and page.evaluate(UNITS) == 2
        assert "period=12m" in page.url
        # one product, then its subcategory "3 months" (nothing sold): the data changes
        page.select_option("#product_id", label="Game Pass Ultimate")
        page.wait_for_selector("#subcategory_id option:has-text('3 months')", state="attached")
        page.wait_for_selector("#analytics-chart[data-drawn$=':all']")
        page.select_option("#subcategory_id", label="3 months")
        page.wait_for_selector("#analytics-chart:not([data-drawn$=':all'])")
        page.wait_for_function(f"() => ({DRAWN_UNITS})() === 0")
        assert page.inner_text("[data-testid=analytics-title]") == "Game Pass Ultimate · 3 months"
        assert page.inner_text("[data-testid=analytics-revenue]").startswith("€0.00")
        page.wait_for_timeout(150)  # past htmx's settle
        painted = page.evaluate("""() => { const c = document.getElementById('analytics-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""")
        assert painted > 1000  # axes and legend are on the canvas (not wiped by the swap)
        page.select_option("#subcategory_id", label="1 month")
        page.wait_for_function(f"() => ({DRAWN_UNITS})() === 2")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.wait_for_timeout(300)
        shot(top(page), f"analytics-{tag}")
        page.goto(f"{base}/admin/reports?period=30d&group_by=week")
        page.wait_for_selector("[data-testid=report-sales]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shot(top(page), f"reports-{tag}")
        assert errors == []
