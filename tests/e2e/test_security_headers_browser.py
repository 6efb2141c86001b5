"""The Content-Security-Policy in Chromium: Swagger UI renders under it, and the pages' watcher
(``watch``) really reports what the policy refuses."""
from __future__ import annotations

from tests.e2e.conftest import watch


def test_swagger_ui_renders_under_the_csp(live_server, browser, shot):
    base, _app = live_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch(page)
    response = page.goto(f"{base}/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    page.wait_for_selector(".opblock-tag-section")  # the operations, grouped by tag (closed)
    assert page.locator(".opblock-tag-section").count() > 15
    page.locator(".opblock-tag[data-tag='Authentication']").first.click()  # a tag opens
    page.wait_for_selector(".opblock-summary-path[data-path='/api/auth/login']")
    assert page.locator(".opblock").count() > 5
    page.locator(".opblock-tag[data-tag='Health']").first.click()
    page.locator(".opblock-summary:has-text('/api/health')").first.click()  # an operation opens
    page.click(".opblock.is-open .try-out__btn")
    page.click(".opblock.is-open .execute")  # Swagger UI calls the API (connect-src 'self')
    page.wait_for_selector(".opblock.is-open .live-responses-table .response-col_status:has-text('200')")
    shot(page, "api-docs-desktop")
    assert errors == [], errors
    context.close()


def test_the_watcher_reports_what_the_csp_refuses(live_server, browser):
    base, _app = live_server
    context = browser.new_context()
    page = context.new_page()
    errors = watch(page)
    page.goto(f"{base}/login")
    assert errors == [], errors
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.ranInline = true";
        document.body.append(script);
        document.body.insertAdjacentHTML("beforeend", "<img src=x onerror='window.ranHandler = true'>");
    }""")
    for _ in range(50):  # the reports come back through the exposed function, asynchronously
        violations = [e for e in errors if e.startswith("CSP violation: script-src")]
        if len(violations) >= 2:
            break
        page.wait_for_timeout(20)
    assert any("script-src-elem refused inline" in v for v in violations), errors  # the <script>
    assert any("script-src-attr refused inline" in v for v in violations), errors  # the onerror=
    assert page.evaluate("window.ranInline === undefined && window.ranHandler === undefined")
    context.close()
