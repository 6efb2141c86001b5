"""Dashboard campaigns (Admin, as the API): the list, compose with the live preview and the
audience's size, save a draft, a test to yourself, the send confirmation, the progress fragment
that polls while sending and stops when done, cancel. The world is tests/campaigns.py: an ``all``
marketing campaign reaches ann, bob and dan (cat opted out)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Campaign
from tenancy import tenant_scope
from tests.campaigns import build_world, draft
from tests.web.test_admin_orders_pages import HX, as_role, new_client, page_token
from tests.web.test_auth_pages import login

FIELDS = {"subject": "Spring sale", "audience": "all", "topic": "marketing",
          "body_markdown": "## Hello\n\n**20 %** off <script>alert(1)</script>"}


@pytest.fixture
def world(make, store, other_store):
    return build_world(make, store, other_store)


@pytest.fixture
def admin(app, world):
    client = new_client(app)
    assert login(client, "owner").status_code == 302
    return client


def campaigns_in(app, store) -> list[Campaign]:
    with app.app_context(), tenant_scope(store):
        return list(db.session.scalars(select(Campaign).order_by(Campaign.created_at)))


def test_campaigns_are_admin_only(app, make, store, world, client):
    assert client.get("/admin/campaigns").status_code == 302
    for role in ("USER", "STAFF", "MANAGER"):
        other, _ = as_role(app, make, store, role)
        assert other.get("/admin/campaigns").status_code == 403
        assert other.get("/admin/campaigns/new").status_code == 403
    manager, _ = as_role(app, make, store, "MANAGER")
    token = page_token(manager.get("/account"))
    assert manager.post("/admin/campaigns/new", data={**FIELDS, "csrf_token": token}).status_code == 403
    assert campaigns_in(app, store) == []
    admin, _ = as_role(app, make, store, "ADMIN")
    page = admin.get("/admin/campaigns")
    assert page.status_code == 200 and b"No campaigns yet" in page.data
    assert b'href="/admin/campaigns" aria-current="page"' in page.data  # in the dashboard's menu


def test_compose_page_previews_and_counts_the_audience(admin, world):
    page = admin.get("/admin/campaigns/new")
    assert page.status_code == 200
    html = page.data.decode()
    assert 'hx-post="/admin/campaigns/preview"' in html and 'id="campaign-preview"' in html
    assert f'value="product:{world.product_id}"' in html and "Buyers of Game Key" in html
    assert 'value="segment:vip"' in html and '<optgroup label="Customer segment">' in html
    assert "Reaches <strong>3</strong> customers (1 opted out)" in html
    preview = admin.post("/admin/campaigns/preview", data={**FIELDS, "csrf_token": page_token(page)}, headers=HX)
    assert preview.status_code == 200
    body = preview.data.decode()
    assert "<h2>Hello</h2>" in body and "<strong>20 %</strong>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "Reaches <strong>3</strong> customers (1 opted out)" in body and "<html" not in body
    vip = admin.post("/admin/campaigns/preview", headers=HX,
                     data={**FIELDS, "audience": "segment:vip", "csrf_token": page_token(page)}).data.decode()
    assert "Reaches <strong>1</strong> customer." in vip
    news = admin.post("/admin/campaigns/preview", headers=HX,
                      data={**FIELDS, "topic": "product_news", "csrf_token": page_token(page)}).data.decode()
    assert "Reaches <strong>4</strong> customers." in news
    bad = admin.post("/admin/campaigns/preview", headers=HX,
                     data={**FIELDS, "audience": "product:nope", "csrf_token": page_token(page)}).data.decode()
    assert "Choose a product of this store" in bad
    assert admin.post("/admin/campaigns/preview", data=FIELDS, headers=HX).status_code == 400  # no CSRF token


def test_save_a_draft_then_edit_it(app, store, admin, world):
    page = admin.get("/admin/campaigns/new")
    saved = admin.post("/admin/campaigns/new", data={**FIELDS, "audience": f"product:{world.product_id}",
                                                    "csrf_token": page_token(page)})
    assert saved.status_code == 302
    (campaign,) = campaigns_in(app, store)
    assert saved.headers["Location"].endswith(f"/admin/campaigns/{campaign.id}")
    assert (campaign.subject, campaign.audience, campaign.audience_param, campaign.status) == (
        "Spring sale", "product", world.product_id, "DRAFT")
    edit = admin.get(f"/admin/campaigns/{campaign.id}")
    html = edit.data.decode()
    assert edit.status_code == 200 and 'value="Spring sale"' in html
    assert f'<option selected value="product:{world.product_id}">' in html
    assert "Send a test to me" in html and f"/admin/campaigns/{campaign.id}/send" in html
    changed = admin.post(f"/admin/campaigns/{campaign.id}", data={**FIELDS, "subject": "Summer sale",
                                                                  "csrf_token": page_token(edit)})
    assert changed.status_code == 302
    (campaign,) = campaigns_in(app, store)
    assert (campaign.subject, campaign.audience, campaign.audience_param) == ("Summer sale", "all", None)
    listed = admin.get("/admin/campaigns").data.decode()
    assert "Summer sale" in listed and "All customers" in listed and "Draft" in listed


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"subject": ""}, "subject", "This field is required."),
    ({"body_markdown": ""}, "body_markdown", "This field is required."),
    ({"audience": "segment:whales"}, "audience", "The segment is one of"),
    ({"audience": "product:00000000-0000-0000-0000-000000000000"}, "audience", "Choose a product of this store"),
])
def test_a_bad_draft_is_shown_again_with_the_reason(app, store, admin, world, change, field, message):
    page = admin.get("/admin/campaigns/new")
    response = admin.post("/admin/campaigns/new", data={**FIELDS, **change, "csrf_token": page_token(page)})
    assert response.status_code == 422
    html = response.data.decode()
    assert re.search(rf'<small class="error" id="{field}-err">{re.escape(message)}', html), html[-3000:]
    assert campaigns_in(app, store) == []


def test_test_send_confirm_send_and_progress(app, store, admin, world, mail_outbox):
    campaign_id = draft(app, world)
    edit = admin.get(f"/admin/campaigns/{campaign_id}")
    tested = admin.post(f"/admin/campaigns/{campaign_id}/test", data={"csrf_token": page_token(edit)})
    assert tested.status_code == 302
    assert [(m.to, m.subject) for m in mail_outbox] == [(["owner@example.com"], "[Test] Spring sale")]
    confirm = admin.get(f"/admin/campaigns/{campaign_id}/send")
    html = confirm.data.decode()
    assert confirm.status_code == 200 and "Send to 3 customers" in html and "1 more opted out" in html
    assert len(mail_outbox) == 1  # the confirmation sends nothing
    sent = admin.post(f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": page_token(confirm)})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/admin/campaigns/{campaign_id}")
    assert sorted(m.to[0] for m in mail_outbox[1:]) == sorted(world.reached_by_all)
    again = admin.post(f"/admin/campaigns/{campaign_id}/send", data={"csrf_token": page_token(confirm)})
    assert again.status_code == 302 and len(mail_outbox) == 4  # a second click sends nothing
    result = admin.get(f"/admin/campaigns/{campaign_id}").data.decode()
    assert 'data-percent="100"' in result and 'data-done="true"' in result and "hx-trigger" not in result
    assert re.search(r'data-testid="count-sent">3<', result) and re.search(r'data-testid="count-skipped">1<', result)
    fragment = admin.get(f"/admin/campaigns/{campaign_id}/progress", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.data.decode()
    assert "hx-trigger" not in fragment.data.decode()  # done: the polling stops


def test_the_progress_fragment_polls_while_sending(app, store, admin, world, monkeypatch):
    from services import campaigns

    monkeypatch.setattr(campaigns, "enqueue_after_commit", lambda *args, **kwargs: None)  # no worker runs
    campaign_id = draft(app, world)
    with app.test_request_context(), tenant_scope(store):
        assert campaigns.start_send(campaigns.get_campaign(campaign_id))
        db.session.commit()
    fragment = admin.get(f"/admin/campaigns/{campaign_id}/progress", headers=HX).data.decode()
    assert f'hx-get="/admin/campaigns/{campaign_id}/progress" hx-trigger="every 1s"' in fragment
    assert 'data-percent="25"' in fragment and "sending" in fragment  # cat skipped: 1 of 4 done
    page = admin.get(f"/admin/campaigns/{campaign_id}").data.decode()
    assert "Stop sending" in page and 'hx-trigger="every 1s"' in page
    assert admin.get(f"/admin/campaigns/{campaign_id}/progress").status_code == 302  # not htmx: the page
    stopped = admin.post(f"/admin/campaigns/{campaign_id}/cancel",
                         data={"csrf_token": page_token(admin.get(f"/admin/campaigns/{campaign_id}"))})
    assert stopped.status_code == 302
    fragment = admin.get(f"/admin/campaigns/{campaign_id}/progress", headers=HX).data.decode()
    assert 'data-done="true"' in fragment and "hx-trigger" not in fragment and "cancelled" in fragment
    assert re.search(r'data-testid="count-skipped">4<', fragment)


def test_another_stores_campaign_is_not_found(app, make, other_store, world):
    campaign_id = draft(app, world)
    theirs = new_client(app)
    admin = make.user(other_store, role="ADMIN", username="theiradmin")
    page = theirs.get("/login", base_url="http://other.example.com")
    from tests.web.test_auth_pages import csrf

    theirs.post("/login", base_url="http://other.example.com",
                data={"csrf_token": csrf(page.data), "login": admin.username, "password": "correct-horse-battery"})
    assert theirs.get(f"/admin/campaigns/{campaign_id}", base_url="http://other.example.com").status_code == 404
