"""A real server on loopback and headless Chromium (Debian's, driven by playwright)."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from extensions import db
from services import stores as store_service
from tests.conftest import ARTIFACTS, base_config, hoodpay_settings, make_app, migrate, service_missing, stripe_settings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    service_missing("Chromium (apt-get install chromium)")


@pytest.fixture
def live_config() -> dict:
    """More settings for ``live_server`` (a test module overrides this fixture, e.g. Moloni at its fake)."""
    return {}


@pytest.fixture
def live_server(tmp_path, fake_stripe, fake_hoodpay, live_config):
    """The app on loopback; its payment providers are the fakes (they send their webhooks here)."""
    app = make_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'e2e.db'}", LOGIN_RATE_LIMIT="100 per minute",
                               **stripe_settings(fake_stripe), **hoodpay_settings(fake_hoodpay), **live_config))
    migrate(app)
    with app.app_context():
        store_service.create_store("e2e", "E2E Store", is_default=True)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base  # links in emails, Hoodpay's notify URL
    fake_stripe.webhook_url = f"{base}/api/webhooks/stripe"
    yield base, app
    fake_stripe.webhook_url = None
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def browser():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> str:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return str(path)

    return take


# Recorded in every document before its own scripts run: a CSP violation (a blocked inline script,
# style, eval or resource) goes straight to the test through the exposed __reportCspViolation.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (event) {
  window.__reportCspViolation(event.effectiveDirective + " refused " + (event.blockedURI || "inline")
    + " in " + event.documentURI + " (" + (event.sourceFile || "?") + ":" + event.lineNumber + ")"
    + (event.sample ? " " + JSON.stringify(event.sample) : ""));
}, true);
"""
# A form with errors answers 422 on purpose (web.form_status) and htmx swaps it in; Chromium still
# logs each as a failed load. Nothing else on the console is expected.
EXPECTED_CONSOLE = ("the server responded with a status of 422",)


def watch(page) -> list[str]:
    """What goes wrong in ``page`` from now on, on every document it shows: uncaught errors,
    console errors (but a 422 form answer), and CSP violations. Tests end with ``assert errors == []``."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))

    def console(message):
        if message.type == "error" and not any(text in message.text for text in EXPECTED_CONSOLE):
            errors.append(f"console error: {message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.expose_function("__reportCspViolation", lambda text: errors.append(f"CSP violation: {text}"))
    page.add_init_script(CSP_LISTENER)
    return errors


ADMIN_EMAIL = "admin@e2e.example.com"
ADMIN_PASSWORD = "admin-walks-in-chromium"


@pytest.fixture
def live_admin(live_server):
    """An ADMIN of the live server's store (created in its own database)."""
    from models import Role
    from services import auth as auth_service
    from tenancy import tenant_scope

    _base, app = live_server
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            auth_service.create_user(username="e2eadmin", email=ADMIN_EMAIL, password=ADMIN_PASSWORD,
                                     role=Role.ADMIN, check_strength=False)
            db.session.commit()
    return ADMIN_EMAIL, ADMIN_PASSWORD


SHOPPER_EMAIL = "shopper@e2e.example.com"
SHOPPER_PASSWORD = "shopper-walks-in-chromium"


@pytest.fixture
def live_shop(live_server):
    """A product with two options in stock (digital codes) and a shopper with 100.00 of balance."""
    from sqlalchemy import select

    from models import Role, Variant
    from services import auth as auth_service
    from services import balance, stock
    from services import products as product_service
    from tenancy import tenant_scope

    _base, app = live_server
    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            product = product_service.create_product({
                "title": "Game Pass Ultimate", "description": "<p>Hundreds of games, one subscription.</p>",
                "variants": [{"title": "1 month", "price": 1499, "max_quantity": 5},
                             {"title": "3 months", "price": 3999}]})
            variants = {v.title: v for v in db.session.scalars(select(Variant).where(Variant.product_id == product.id))}
            stock.import_stock(variants["1 month"], "\n".join(f"GPU-1M-{i:04d}-XYZ" for i in range(1, 9)))
            stock.import_stock(variants["3 months"], "GPU-3M-0001-XYZ\nGPU-3M-0002-XYZ")
            shopper = auth_service.create_user(username="shopper", email=SHOPPER_EMAIL, password=SHOPPER_PASSWORD,
                                               role=Role.USER, check_strength=False)
            db.session.flush()
            balance.credit(shopper.id, 10_000, "topup", reason="E2E top-up")
            db.session.commit()
            return {"slug": product.slug, "email": SHOPPER_EMAIL, "password": SHOPPER_PASSWORD}
