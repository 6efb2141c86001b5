"""The campaigns API (/api/admin/campaigns, Admin) and the preferences API
(/api/customers/me/preferences, any signed-in user), against the small world of tests/campaigns.py:
all customers = ann, bob, cat, dan (eve is deactivated, sam is staff, zed is another store's);
cat turned marketing off; bob bought "Game Key" and is the only VIP."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from extensions import db
from models import Campaign, CampaignRecipient
from tenancy import tenant_scope
from tests.campaigns import build_world, draft

BASE = "/api/admin/campaigns"
BODY = {"subject": "Spring sale", "body_markdown": "## Hello\n\n**20 %** off [everything](https://shop.example)"}


@pytest.fixture
def world(make, store, other_store):
    return build_world(make, store, other_store)


@pytest.fixture
def admin(make, store, world):
    return make.headers(world.admin, store)


def test_only_admins_reach_campaigns(client, make, store, world, admin):
    assert client.get(BASE).status_code == 401
    for role in ("USER", "STAFF", "MANAGER"):
        weaker = make.headers(make.user(store, role=role), store)
        response = client.get(BASE, headers=weaker)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_role"
        assert client.post(BASE, json=BODY, headers=weaker).status_code == 403
    listed = client.get(BASE, headers=admin)
    assert listed.status_code == 200
    assert listed.get_json() == {"items": [], "page": 1, "page_size": 20, "total": 0, "pages": 0}


def test_create_read_update_a_draft(client, store, world, admin):
    created = client.post(BASE, json={**BODY, "audience": "product", "product_id": world.product_id}, headers=admin)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["subject"], body["audience"], body["product_id"], body["segment"], body["status"], body["topic"]) == (
        "Spring sale", "product", world.product_id, None, "DRAFT", "marketing")
    assert body["audience_label"] == "Buyers of Game Key" and body["created_by_id"] == world.admin.id
    assert body["progress"] == {"status": "DRAFT", "total": 0, "sent": 0, "skipped": 0, "failed": 0, "pending": 0,
                                "percent": 0, "done": False}
    changed = client.put(f"{BASE}/{body['id']}", json={"subject": "Summer sale", "audience": "segment", "segment": "vip"},
                         headers=admin)
    assert changed.status_code == 200
    got = client.get(f"{BASE}/{body['id']}", headers=admin).get_json()
    assert (got["subject"], got["audience"], got["segment"], got["product_id"], got["body_markdown"]) == (
        "Summer sale", "segment", "vip", None, BODY["body_markdown"])
    assert got["audience_label"] == "Segment: VIP"
    listed = client.get(f"{BASE}?status=DRAFT", headers=admin).get_json()
    assert [c["id"] for c in listed["items"]] == [body["id"]] and listed["total"] == 1
    assert client.get(f"{BASE}?status=SENT", headers=admin).get_json()["total"] == 0


@pytest.mark.parametrize(("payload", "code", "field"), [
    ({"subject": "", "body_markdown": "x"}, "validation_error", "subject"),
    ({"subject": "x" * 201, "body_markdown": "x"}, "validation_error", "subject"),
    ({"subject": "Hi", "body_markdown": "   "}, "validation_error", "body_markdown"),
    ({"subject": "Hi", "body_markdown": "x", "audience": "product"}, "unknown_product", "product_id"),
    ({"subject": "Hi", "body_markdown": "x", "audience": "segment"}, "invalid_segment", "segment"),
    ({"subject": "Hi", "body_markdown": "x", "audience": "segment", "segment": "whales"}, "validation_error", "segment"),
    ({"subject": "Hi", "body_markdown": "x", "audience": "everyone"}, "validation_error", "audience"),
    ({"subject": "Hi", "body_markdown": "x", "status": "SENT"}, "validation_error", "status"),
])
def test_bad_drafts_are_422_with_the_field(client, world, admin, payload, code, field):
    response = client.post(BASE, json=payload, headers=admin)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and field in str(error["details"]) + error["message"], error


def test_a_product_of_another_store_is_unknown(client, make, other_store, world, admin):
    with make.scope(other_store) as session:
        from models import Product

        foreign = Product(title="Theirs", slug="theirs")
        session.add(foreign)
        session.flush()
        foreign_id = foreign.id
    response = client.post(BASE, json={**BODY, "audience": "product", "product_id": foreign_id}, headers=admin)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "unknown_product"


@pytest.mark.parametrize(("query", "expected"), [
    ("audience=all", {"total": 4, "reachable": 3, "opted_out": 1}),  # ann bob cat dan; cat opted out
    ("audience=all&topic=product_news", {"total": 4, "reachable": 4, "opted_out": 0}),  # cat keeps product news
    ("audience=resellers", {"total": 1, "reachable": 1, "opted_out": 0}),  # dan
    ("audience=segment&segment=vip", {"total": 1, "reachable": 1, "opted_out": 0}),  # bob
    ("audience=segment&segment=new", {"total": 3, "reachable": 2, "opted_out": 1}),  # ann cat dan
    ("audience=segment&segment=inactive", {"total": 0, "reachable": 0, "opted_out": 0}),
])
def test_audience_counts(client, world, admin, query, expected):
    response = client.get(f"{BASE}/audience?{query}", headers=admin)
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()[k] for k in expected} == expected


def test_audience_of_buyers_of_a_product(client, world, admin):
    bought = client.get(f"{BASE}/audience?audience=product&product_id={world.product_id}", headers=admin).get_json()
    assert (bought["total"], bought["reachable"]) == (1, 1)
    nobody = client.get(f"{BASE}/audience?audience=product&product_id={world.other_product_id}", headers=admin)
    assert nobody.get_json()["total"] == 0
    missing = client.get(f"{BASE}/audience?audience=product", headers=admin)
    assert missing.status_code == 422 and missing.get_json()["error"]["code"] == "unknown_product"


def test_preview_renders_markdown_to_safe_html(client, app, world, admin):
    markdown = ("# Big news\n\n**bold** and [ok](https://shop.example) [bad](javascript:alert(1))\n\n"
                "<script>alert(1)</script><img src=x onerror=alert(1)>")
    response = client.post(f"{BASE}/preview", json={"subject": "Hi", "body_markdown": markdown}, headers=admin)
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<h1>Big news</h1>" in html and "<strong>bold</strong>" in html
    assert '<a href="https://shop.example"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # raw HTML is shown as text, never passed on
    assert response.get_json()["text"] == markdown
    campaign_id = draft(app, world)
    saved = client.get(f"{BASE}/{campaign_id}/preview", headers=admin).get_json()
    assert saved["subject"] == "Spring sale" and "<h2>Hello</h2>" in saved["html"]
    assert client.get(f"{BASE}/00000000-0000-0000-0000-000000000000/preview", headers=admin).status_code == 404


def test_send_reaches_opted_in_customers_once_then_refuses_a_second_send(client, app, store, world, admin, mail_outbox):
    campaign_id = draft(app, world)
    response = client.post(f"{BASE}/{campaign_id}/send", headers=admin)
    assert response.status_code == 202, response.get_json()
    assert {m.to[0] for m in mail_outbox} == world.reached_by_all and len(mail_outbox) == 3
    assert all(m.subject == "Spring sale" for m in mail_outbox)
    for message in mail_outbox:
        assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.extra_headers["List-Unsubscribe"].startswith("<http") and "/unsubscribe/" in \
            message.extra_headers["List-Unsubscribe"]
    got = client.get(f"{BASE}/{campaign_id}", headers=admin).get_json()
    assert got["status"] == "SENT" and got["started_at"] and got["finished_at"]
    assert got["progress"] == {"status": "SENT", "total": 4, "sent": 3, "skipped": 1, "failed": 0, "pending": 0,
                               "percent": 100, "done": True}
    again = client.post(f"{BASE}/{campaign_id}/send", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "campaign_not_draft"
    edit = client.put(f"{BASE}/{campaign_id}", json={"subject": "Too late"}, headers=admin)
    assert edit.status_code == 409 and edit.get_json()["error"]["code"] == "campaign_not_draft"
    assert len(mail_outbox) == 3
    with app.app_context(), tenant_scope(store):
        rows = dict(db.session.execute(select(CampaignRecipient.email, CampaignRecipient.status)
                                       .where(CampaignRecipient.campaign_id == campaign_id)).all())
    assert rows == {"ann@example.com": "SENT", "bob@example.com": "SENT", "cat@example.com": "SKIPPED",
                    "dan@example.com": "SENT"}


def test_send_a_test_to_yourself_records_nothing(client, app, store, world, admin, mail_outbox):
    campaign_id = draft(app, world)
    response = client.post(f"{BASE}/{campaign_id}/test", headers=admin)
    assert response.status_code == 202 and "owner@example.com" in response.get_json()["message"]
    assert [(m.to, m.subject) for m in mail_outbox] == [(["owner@example.com"], "[Test] Spring sale")]
    assert "This is a test of a campaign" in mail_outbox[0].body
    got = client.get(f"{BASE}/{campaign_id}", headers=admin).get_json()
    assert got["status"] == "DRAFT" and got["progress"]["total"] == 0


def test_cancel_a_draft_once(client, app, world, admin, mail_outbox):
    campaign_id = draft(app, world)
    cancelled = client.post(f"{BASE}/{campaign_id}/cancel", headers=admin)
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "CANCELLED"
    again = client.post(f"{BASE}/{campaign_id}/cancel", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "campaign_finished"
    assert client.post(f"{BASE}/{campaign_id}/send", headers=admin).status_code == 409
    assert mail_outbox == []


def test_another_stores_admin_sees_no_campaign(client, app, make, other_store, world):
    campaign_id = draft(app, world)
    theirs = make.headers(make.user(other_store, role="ADMIN"), other_store)
    host = {"Host": "other.example.com"}
    assert client.get(f"{BASE}/{campaign_id}", headers={**theirs, **host}).status_code == 404
    assert client.post(f"{BASE}/{campaign_id}/send", headers={**theirs, **host}).status_code == 404
    assert client.get(BASE, headers={**theirs, **host}).get_json()["total"] == 0
    with app.app_context(), tenant_scope(world.store):
        assert db.session.get(Campaign, campaign_id).status == "DRAFT"


# --- preferences --------------------------------------------------------------------------------

PREFS = "/api/customers/me/preferences"


def test_preferences_default_on_then_change(client, make, store, world):
    headers = make.headers(world.ann, store)
    assert client.get(PREFS).status_code == 401
    got = client.get(PREFS, headers=headers)
    assert got.status_code == 200
    assert got.get_json() == {"marketing_emails": True, "product_news": True, "updated_at": None,
                              "transactional": "always sent"}
    changed = client.put(PREFS, json={"marketing_emails": False}, headers=headers)
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["marketing_emails"], body["product_news"]) == (False, True) and body["updated_at"]
    assert client.get(PREFS, headers=headers).get_json()["marketing_emails"] is False
    cat = client.get(PREFS, headers=make.headers(world.cat, store)).get_json()
    assert (cat["marketing_emails"], cat["product_news"]) == (False, True)


@pytest.mark.parametrize("payload", [{}, {"marketing_emails": "no"}, {"marketing_emails": 0},
                                     {"newsletter": True}, {"order_updates": False}])
def test_bad_preferences_are_422(client, make, store, world, payload):
    response = client.put(PREFS, json=payload, headers=make.headers(world.ann, store))
    assert response.status_code == 422, response.get_json()
    assert "error" in response.get_json()


def test_an_opted_out_customer_is_skipped_by_the_next_campaign(client, app, make, store, world, admin, mail_outbox):
    assert client.put(PREFS, json={"marketing_emails": False}, headers=make.headers(world.ann, store)).status_code == 200
    campaign_id = draft(app, world)
    assert client.post(f"{BASE}/{campaign_id}/send", headers=admin).status_code == 202
    assert {m.to[0] for m in mail_outbox} == {"bob@example.com", "dan@example.com"}
    progress = client.get(f"{BASE}/{campaign_id}", headers=admin).get_json()["progress"]
    assert (progress["sent"], progress["skipped"], progress["total"]) == (2, 2, 4)


def test_the_list_costs_the_same_for_one_and_four_campaigns(client, app, world, admin):
    from tests.web.test_catalog_query_count import count_statements

    def cost() -> int:
        with count_statements(app) as statements:
            response = client.get(BASE, headers=admin)
        assert response.status_code == 200
        return len(statements)

    draft(app, world, audience="product", audience_param=world.product_id)
    one = cost()
    for product_id in (world.product_id, world.other_product_id, world.other_product_id):
        draft(app, world, audience="product", audience_param=product_id)
    labels = [c["audience_label"] for c in client.get(BASE, headers=admin).get_json()["items"]]
    assert sorted(labels) == ["Buyers of Game Key", "Buyers of Game Key", "Buyers of Gift Card", "Buyers of Gift Card"]
    assert cost() == one


def test_sending_and_cancelling_are_in_the_stores_audit_log(client, app, world, admin, mail_outbox):
    """Both are guarded bulk UPDATEs the audit listener cannot see: each is recorded by its service,
    with the admin who did it (the job that sends has no actor and writes nothing)."""
    sent, cancelled = draft(app, world), draft(app, world)
    assert client.post(f"{BASE}/{sent}/send", headers=admin).status_code == 202
    assert client.post(f"{BASE}/{cancelled}/cancel", headers=admin).status_code == 200
    log = client.get("/api/admin/audit-log", headers=admin,
                     query_string={"resource_type": "campaign"}).get_json()["items"]
    named = {e["action"]: e for e in log if e["action"].startswith("campaign.")}
    assert set(named) == {"campaign.send", "campaign.cancel"}
    assert named["campaign.send"]["resource_id"] == sent and named["campaign.send"]["actor_name"] == "owner"
    assert named["campaign.send"]["changes"] == {"before": {"status": "DRAFT"},
                                                 "after": {"status": "SENDING", "recipients": 4, "skipped": 1}}
    assert named["campaign.cancel"]["resource_id"] == cancelled
    assert named["campaign.cancel"]["changes"] == {"before": {"status": "DRAFT"}, "after": {"status": "CANCELLED"}}
