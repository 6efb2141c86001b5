"""The account's Emails tab (preferences) and the unsubscribe confirmation page: the same
service as /api/customers/me/preferences; what is turned off here is skipped by campaigns."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import NotificationPreference
from services import campaigns
from services import preferences as preference_service
from tenancy import tenant_scope
from tests.campaigns import build_world, draft
from tests.web.test_admin_orders_pages import new_client, page_token
from tests.web.test_auth_pages import login


@pytest.fixture
def world(make, store):
    return build_world(make, store)


@pytest.fixture
def ann(app, world):
    client = new_client(app)
    assert login(client, "ann").status_code == 302
    return client


def checked(html: str) -> dict[str, bool]:
    """Which of the two boxes the page shows ticked."""
    boxes = dict(re.findall(r'<input ([^>]*name="(marketing_emails|product_news)"[^>]*)>', html)[i][::-1]
                 for i in range(2))
    return {name: " checked" in attrs for name, attrs in boxes.items()}


def prefs_of(app, store, user_id):
    with app.app_context(), tenant_scope(store):
        row = db.session.get(NotificationPreference, user_id)
        return None if row is None else (row.marketing_emails, row.product_news, row.changed_via)


def test_signed_out_visitors_go_to_sign_in(client, store):
    response = client.get("/account/preferences")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_emails_tab_shows_the_defaults_and_saves_a_choice(app, store, world, ann):
    page = ann.get("/account/preferences")
    html = page.data.decode()
    assert page.status_code == 200 and 'href="/account/preferences" aria-current="page">Emails</a>' in html
    assert checked(html) == {"marketing_emails": True, "product_news": True}
    assert "always sent" in html
    saved = ann.post("/account/preferences", data={"csrf_token": page_token(page), "product_news": "y"})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/account/preferences")
    assert prefs_of(app, store, world.ann.id) == (False, True, "account")
    again = ann.get("/account/preferences").data.decode()
    assert "Email preferences saved." in again
    assert checked(again) == {"marketing_emails": False, "product_news": True}


def test_the_form_needs_its_csrf_token(app, store, world, ann):
    response = ann.post("/account/preferences", data={"product_news": "y"})
    assert response.status_code == 400
    assert prefs_of(app, store, world.ann.id) is None


def test_turned_off_on_the_page_means_skipped_by_the_next_campaign(app, store, world, ann, mail_outbox):
    page = ann.get("/account/preferences")
    assert ann.post("/account/preferences", data={"csrf_token": page_token(page)}).status_code == 302
    campaign_id = draft(app, world)
    with app.test_request_context(), tenant_scope(store):
        assert campaigns.start_send(campaigns.get_campaign(campaign_id))
        db.session.commit()
    assert sorted(m.to[0] for m in mail_outbox) == ["bob@example.com", "dan@example.com"]


def test_the_unsubscribe_page_asks_first_and_then_confirms(app, client, store, world):
    with app.app_context():
        token = preference_service.unsubscribe_token(store.id, world.bob.id)
    page = client.get(f"/unsubscribe/{token}")
    html = page.data.decode()
    assert page.status_code == 200 and "Unsubscribe from Main Store emails?" in html
    assert f'action="/unsubscribe/{token}"' in html and "csrf_token" not in html.split("<main")[1].split("</main>")[0]
    assert "bob@example.com" not in html and "b•••@example.com" in html
    assert prefs_of(app, store, world.bob.id) is None
    done = client.post(f"/unsubscribe/{token}")
    assert done.status_code == 200 and "You are unsubscribed" in done.data.decode()
    assert prefs_of(app, store, world.bob.id) == (False, False, "unsubscribe_link")
    signed_in = new_client(app)
    login(signed_in, "bob")
    assert checked(signed_in.get("/account/preferences").data.decode()) == {"marketing_emails": False,
                                                                           "product_news": False}
