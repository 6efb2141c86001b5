"""Security headers (web.register_security_headers, Flask-Talisman): the Content-Security-Policy
and its companions on storefront, dashboard, API docs and error pages; pages that need no inline
code; HSTS in production only; the session cookie flags config.py chose."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest

from extensions import db
from services import stores as store_service
from tests.conftest import base_config, make_app, migrate, next_ip
from tests.web.test_auth_pages import login

UPLOAD_CSP = "default-src 'none'; img-src 'self'"


def policy(response) -> dict[str, str]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request.path}"
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


class InlineCode(HTMLParser):
    """What in a page the CSP would refuse: inline <script>, <style> elements, event handler
    attributes (hx-on too), javascript: URLs, htmx's js: values."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith(("on", "hx-on", "data-hx-on")):
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action", "formaction") and value.startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")
            if name in ("hx-vals", "hx-vars", "hx-headers") and value.startswith(("js:", "javascript:")):
                self.found.append(f"<{tag} {name}=js:>")


def inline_code(html: bytes) -> list[str]:
    parser = InlineCode()
    parser.feed(html.decode())
    return parser.found


def assert_page_headers(response) -> dict[str, str]:
    csp = policy(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no host
    assert csp["style-src"] == "'self'"
    assert csp["style-src-attr"] == "'unsafe-inline'"  # style="" only: data-driven colours
    assert csp["img-src"] == "'self' data:"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'self'"
    # checkout forms redirect to the providers' hosted pages, "Connect Moloni" to Moloni's (and nowhere else)
    assert csp["form-action"] == ("'self' https://checkout.stripe.com https://connect.stripe.com "
                                  "https://checkout.hoodpay.io https://api.moloni.pt")
    assert csp["frame-ancestors"] == "'self'"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # not in development
    return csp


def test_a_storefront_page_has_the_policy_and_no_inline_code(client, store):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_page_headers(page)
    assert inline_code(page.data) == []


def test_the_store_brand_is_a_style_attribute_on_html(client, make):
    make.store("branded", "Branded", default=True, branding={"primary_color": "#123456", "font_family": 'Inter"'})
    page = client.get("/login")
    assert page.status_code == 200
    html = page.data.split(b"<html", 1)[1].split(b">", 1)[0]  # the <html> tag: the theme's classes, then the palette
    assert html.startswith(b' lang="en" class="theme-clean ') and b' style="--brand:#123456;' in html
    assert b"--font:Inter&#34;, system-ui" in page.data  # escaped: the attribute cannot be left
    assert inline_code(page.data) == []


def test_an_htmx_fragment_has_the_policy_too(client, store):
    fragment = client.get("/search?q=x", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and b"<html" not in fragment.data
    assert_page_headers(fragment)
    assert inline_code(fragment.data) == []


def test_a_dashboard_page_has_the_policy_and_no_inline_code(client, store, make):
    make.user(store, role="ADMIN", username="boss")
    assert login(client, "boss").status_code == 302
    for path in ("/admin/", "/admin/categories", "/admin/products", "/admin/orders", "/admin/users", "/admin/payments",
                 "/admin/payments/events"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert_page_headers(page)
        assert inline_code(page.data) == [], path


def test_the_api_docs_have_the_policy_and_load_swagger_ui_from_files(client, store):
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    assert_page_headers(docs)  # X-Frame-Options included: the docs page is no exception any more
    assert inline_code(docs.data) == []
    for asset in (b"/static/vendor/swagger-ui/swagger-ui-bundle.js", b"/static/js/api-docs.js",
                  b'data-spec-url="/api/openapi.json"'):
        assert asset in docs.data
    assert client.get("/static/js/api-docs.js").status_code == 200
    assert client.get("/static/css/api-docs.css").status_code == 200
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/docs" not in spec["paths"]


def test_error_pages_have_the_policy(client, store):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert_page_headers(missing)
    assert inline_code(missing.data) == []
    missing_upload = client.get("/uploads/no-such-image.webp")  # the page's policy, not the image's
    assert missing_upload.status_code == 404
    assert_page_headers(missing_upload)


def test_an_uploaded_file_keeps_its_own_stricter_policy(client, store, app, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / store.id).mkdir()  # every key starts with its store's id
    (folder / store.id / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    previous = app.config["UPLOAD_FOLDER"]
    app.config["UPLOAD_FOLDER"] = str(folder)
    try:
        image = client.get(f"/uploads/{store.id}/logo.svg")
    finally:
        app.config["UPLOAD_FOLDER"] = previous
    assert image.status_code == 200
    assert image.headers["Content-Security-Policy"] == UPLOAD_CSP
    assert image.headers["X-Content-Type-Options"] == "nosniff"


def test_json_answers_keep_their_headers(client, store):
    answer = client.get("/api/public/config")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "HX-Request" not in answer.headers.get("Vary", "")


def test_no_hsts_and_no_https_redirect_outside_production(client, store, app):
    assert app.config["APP_ENV"] != "production"
    for secure in ({"base_url": "https://localhost"}, {"headers": {"X-Forwarded-Proto": "https"}}):
        page = client.get("/", **secure)
        assert page.status_code == 200
        assert "Strict-Transport-Security" not in page.headers


def test_session_cookie_flags_stay_as_configured_outside_production(client, store, app):
    page = client.get("/login")  # puts the CSRF token in the session
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http works in development
    assert app.config["SESSION_COOKIE_SECURE"] is False


# --- production ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("production")
    application = make_app(base_config(tmp, f"sqlite:///{tmp / 'production.db'}", APP_ENV="production",
                                       PUBLIC_BASE_URL="https://localhost"))  # the host the test client uses
    migrate(application)
    with application.app_context():
        store_service.create_store("prod", "Production Store", is_default=True)
        db.session.commit()
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def production_client(production_app):
    test_client = production_app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = next_ip()
    return test_client


def test_production_sends_hsts_on_https(production_client, production_app):
    assert production_app.config["APP_ENV"] == "production" and not production_app.debug
    one_year = "max-age=31536000"
    direct = production_client.get("/", base_url="https://localhost")
    assert direct.status_code == 200
    assert direct.headers["Strict-Transport-Security"] == one_year  # no includeSubDomains
    proxied = production_client.get("/", base_url="http://localhost",  # TLS ends at the proxy
                                    headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Strict-Transport-Security"] == one_year
    docs = production_client.get("/api/docs", base_url="http://localhost", headers={"X-Forwarded-Proto": "https"})
    assert docs.headers["Strict-Transport-Security"] == one_year
    assert policy(docs)["script-src"] == "'self'"


def test_production_redirects_nothing_to_https(production_client):
    plain = production_client.get("/", base_url="http://localhost")  # (the client's default is https here)
    assert plain.status_code == 200  # force_https is off: the proxy owns TLS
    assert "Strict-Transport-Security" not in plain.headers  # meaningless over plain http
    assert policy(plain)["frame-ancestors"] == "'self'"


def test_production_session_cookie_is_secure(production_client):
    page = production_client.get("/login", base_url="https://localhost")
    cookie = page.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
