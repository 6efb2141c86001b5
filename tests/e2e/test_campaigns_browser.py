"""Issue 11, Campaigns, in Chromium: an admin composes a campaign (the live preview follows the
text, the audience picker counts who it reaches), saves it, sends a test to themselves, confirms
the send, and watches the progress fragment poll up to 100 % while a real RQ worker (in this
process, one job at a time, batches of 2) sends it; the polling stops when it is done. At 1280
and 375 px, with nothing overflowing. Screenshots go to test-artifacts/.

The server here queues jobs on Redis (not inline), so the page can be watched while it sends."""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from extensions import db
from services import campaigns
from services import stores as store_service
from tests.conftest import base_config, make_app, migrate, port_open, service_missing
from tests.e2e.conftest import watch
from tests.e2e.test_admin_payments import overflow, sign_in, top

SIZES = ((1280, 800, "desktop"), (375, 812, "mobile"))
REDIS_URL = "redis://127.0.0.1:6379/12"  # its own database: tests/jobs flushes 13
ADMIN = ("boss@e2e.example.com", "boss-sends-campaigns")


@pytest.fixture
def campaign_server(tmp_path):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from redis import Redis

    from models import NotificationPreference, Role
    from services import auth as auth_service
    from tenancy import tenant_scope

    Redis.from_url(REDIS_URL).flushdb()
    app = make_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'e2e.db'}", REDIS_URL=REDIS_URL,
                               LOGIN_RATE_LIMIT="100 per minute"))
    migrate(app)
    with app.app_context():
        store = store_service.create_store("e2e", "E2E Store", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            auth_service.create_user(username="boss", email=ADMIN[0], password=ADMIN[1], role=Role.ADMIN,
                                     check_strength=False)
            customers = [auth_service.create_user(username=f"buyer{i}", email=f"buyer{i}@example.com",
                                                  password="buyer-password-1", check_strength=False)
                         for i in range(1, 6)]
            db.session.flush()
            db.session.add(NotificationPreference(user_id=customers[4].id, marketing_emails=False))
            db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    app.extensions["mailman"].outbox = []
    yield base, app
    server.shutdown()
    Redis.from_url(REDIS_URL).flushdb()
    with app.app_context():
        db.engine.dispose()


def run_one_job(app) -> None:
    """One job off the ``emails`` queue, run here by a real RQ worker (no fork)."""
    from rq import SimpleWorker

    from jobs.runner import set_worker_app
    from transactions import queue, redis_connection

    set_worker_app(app)
    worker = SimpleWorker([queue(app, "emails")], connection=redis_connection(app))
    assert worker.work(burst=True, max_jobs=1)


def test_compose_preview_send_and_watch_the_progress(campaign_server, browser, shot, monkeypatch):
    base, app = campaign_server
    monkeypatch.setattr(campaigns, "BATCH_SIZE", 2)
    outbox = app.extensions["mailman"].outbox
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors = watch(page)
    sign_in(page, base, *ADMIN)
    page.goto(f"{base}/admin/orders")
    page.click(".dash-side >> text=Campaigns")
    page.wait_for_url(f"{base}/admin/campaigns")
    expect(page.locator('.dash-side a[href="/admin/campaigns"]')).to_have_attribute("aria-current", "page")
    page.click("text=New campaign")

    preview = page.locator("#campaign-preview")
    expect(preview.get_by_test_id("audience-count")).to_have_text("Reaches 4 customers (1 opted out).")
    page.get_by_label("Subject").fill("Spring sale")
    page.get_by_label("Text (Markdown)").fill("## Spring is here\n\n**20 %** off everything, "
                                              "[see the shop](https://example.com).\n\n- fast\n- friendly")
    expect(preview.get_by_test_id("preview-subject")).to_have_text("Spring sale")
    expect(preview.locator("h2")).to_have_text("Spring is here")
    expect(preview.locator("strong", has_text="20 %")).to_be_visible()
    expect(preview.locator("li")).to_have_count(2)
    page.get_by_label("Audience").select_option(label="Segment: VIP")
    expect(preview.get_by_test_id("audience-count")).to_have_text("Reaches 0 customers.")
    page.get_by_label("Audience").select_option(label="All customers")
    expect(preview.get_by_test_id("audience-count")).to_have_text("Reaches 4 customers (1 opted out).")
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)  # the menu's slide after a resize
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-campaign-compose-{tag}")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.click("text=Save draft")
    page.wait_for_selector("text=Draft saved.")
    page.click("text=Send a test to me")
    page.wait_for_selector("text=A test is on its way to boss@e2e.example.com.")
    run_one_job(app)
    assert [(m.to, m.subject) for m in outbox] == [([ADMIN[0]], "[Test] Spring sale")]

    page.click("text=Send…")
    expect(page.get_by_test_id("send-count")).to_contain_text("4")
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-campaign-confirm-{tag}")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("text=Send to 4 customers")
    page.wait_for_selector("text=Sending started.")

    progress = page.get_by_test_id("campaign-progress")
    expect(progress).to_have_attribute("data-percent", "20")  # the opted-out one is skipped: 1 of 5
    polls = []
    page.on("request", lambda request: polls.append(request.url) if request.url.endswith("/progress") else None)
    run_one_job(app)  # batch 1: two emails
    expect(progress).to_have_attribute("data-percent", "60", timeout=5000)
    expect(page.get_by_test_id("count-sent")).to_have_text("2")
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-campaign-sending-{tag}")
    page.set_viewport_size({"width": 1280, "height": 800})
    run_one_job(app)  # batch 2: the last two
    run_one_job(app)  # batch 3: none left, the campaign is SENT
    expect(progress).to_have_attribute("data-done", "true", timeout=5000)
    expect(progress).to_have_attribute("data-percent", "100")
    expect(progress).to_contain_text("done")
    expect(page.get_by_test_id("count-sent")).to_have_text("4")
    expect(page.get_by_test_id("count-skipped")).to_contain_text("1")
    assert polls, "the progress fragment never polled"
    seen = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == seen, "the polling did not stop when the campaign was done"
    assert sorted(m.to[0] for m in outbox[1:]) == [f"buyer{i}@example.com" for i in range(1, 5)]
    for width, height, tag in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(500)
        assert overflow(page) == [], (tag, overflow(page))
        shot(top(page), f"admin-campaign-sent-{tag}")

    page.goto(f"{base}/admin/campaigns")
    row = page.get_by_test_id("campaign-row")
    expect(row).to_contain_text("Spring sale")
    expect(row).to_contain_text("4 / 5")
    shot(top(page), "admin-campaigns-mobile")
    assert errors == []
    context.close()


def test_a_customer_unsubscribes_in_one_click_and_sees_it_in_their_account(campaign_server, browser, shot):
    base, app = campaign_server
    from services import preferences
    from tenancy import tenant_scope

    with app.app_context():
        store = store_service.get_store_by_slug("e2e")
        with tenant_scope(store):
            from sqlalchemy import select

            from models import User

            buyer = db.session.scalar(select(User).where(User.username == "buyer1"))
            token = preferences.unsubscribe_token(store.id, buyer.id)
    for width, height, tag in SIZES:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors = watch(page)
        page.goto(f"{base}/unsubscribe/{token}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe from E2E Store emails?")
        shot(top(page), f"unsubscribe-ask-{tag}")
        page.get_by_role("button", name="Unsubscribe").click()
        expect(page.get_by_test_id("unsubscribed")).to_be_visible()
        shot(top(page), f"unsubscribe-done-{tag}")
        sign_in(page, base, "buyer1@example.com", "buyer-password-1")
        page.click(".subnav >> text=Emails")
        expect(page.get_by_label("Offers and news from the shop")).not_to_be_checked()
        page.get_by_label("Product news (new versions, restocks)").check()
        page.click("text=Save preferences")
        page.wait_for_selector("text=Email preferences saved.")
        expect(page.get_by_label("Product news (new versions, restocks)")).to_be_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= width, tag
        shot(top(page), f"account-preferences-{tag}")
        assert errors == []
        context.close()
