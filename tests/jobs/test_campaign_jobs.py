"""Campaign jobs: batches, each recipient once however the job fails or is retried, opted-out
customers skipped, the RFC 8058 headers on the message received, and the one-click unsubscribe.

Inline (the ``app`` fixture, both databases): batches of 2; a worker killed right after handing a
message over (a ``BaseException`` out of the mail backend) and the job run again; a campaign
cancelled between batches. On a real Redis with a real RQ worker and a real SMTP server (aiosmtpd
on loopback): the server refuses the second message (451), RQ retries the job, every recipient
gets exactly one email.

The world (tests/campaigns.py): an ``all`` marketing campaign reaches ann, bob and dan; cat opted
out (SKIPPED); eve is deactivated, sam is staff, zed is another store's.
"""
from __future__ import annotations

import email
import email.policy
import re
import socket
from collections import Counter as Tally
from types import SimpleNamespace

import pytest
from flask_mailman.backends import locmem
from sqlalchemy import select

from extensions import db
from models import Campaign, CampaignRecipient, NotificationPreference
from services import campaigns
from tenancy import tenant_scope
from tests.campaigns import build_world, draft
from tests.conftest import REDIS_TEST_URL, base_config, make_app, migrate, port_open, service_missing
from transactions import execute

BASE = "/api/admin/campaigns"


class Killed(BaseException):
    """The worker process dying: nothing in the job catches it."""


@pytest.fixture
def world(make, store, other_store):
    return build_world(make, store, other_store)


def recipients_of(app, store, campaign_id) -> dict[str, tuple[str, int, str | None]]:
    with app.app_context(), tenant_scope(store):
        rows = db.session.execute(select(CampaignRecipient.email, CampaignRecipient.status, CampaignRecipient.attempts,
                                         CampaignRecipient.error)
                                  .where(CampaignRecipient.campaign_id == campaign_id)).all()
    return {email: (status, attempts, error) for email, status, attempts, error in rows}


def campaign_of(app, store, campaign_id) -> Campaign:
    with app.app_context(), tenant_scope(store):
        return db.session.get(Campaign, campaign_id)


def start(app, store, campaign_id, batch_size):
    with app.test_request_context(), tenant_scope(store):
        assert campaigns.start_send(campaigns.get_campaign(campaign_id), batch_size=batch_size)
        db.session.commit()


def test_batches_of_two_send_each_opted_in_customer_once(app, store, world, mail_outbox, monkeypatch):
    claims = []
    original = campaigns.claim

    def spy(campaign_id, size, run):
        claimed = original(campaign_id, size, run)
        claims.append(len(claimed))
        return claimed

    monkeypatch.setattr(campaigns, "claim", spy)
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=2)
    assert claims == [2, 1, 0]  # two batches, then the one that finds none and finishes
    assert Tally(m.to[0] for m in mail_outbox) == {"ann@example.com": 1, "bob@example.com": 1, "dan@example.com": 1}
    message = mail_outbox[0]
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert re.fullmatch(r"<https?://[^>]+/unsubscribe/[A-Za-z0-9_.\-]+>", unsubscribe), unsubscribe
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0][0]
    assert "<h2>Hello</h2>" in html and "<strong>20 %</strong>" in html
    assert unsubscribe[1:-1] in html and unsubscribe[1:-1] in message.body  # the footer's link
    assert "chose to receive offers and news" in message.body and "/account/preferences" in html
    assert recipients_of(app, store, campaign_id) == {
        "ann@example.com": ("SENT", 1, None), "bob@example.com": ("SENT", 1, None),
        "dan@example.com": ("SENT", 1, None), "cat@example.com": ("SKIPPED", 0, None)}
    done = campaign_of(app, store, campaign_id)
    assert (done.status, done.recipients_total, done.sent, done.skipped, done.failed) == ("SENT", 4, 3, 1, 0)


def test_each_recipient_has_its_own_unsubscribe_link(app, store, world, mail_outbox):
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=10)
    links = {m.to[0]: m.extra_headers["List-Unsubscribe"] for m in mail_outbox}
    assert len(set(links.values())) == 3


def test_a_worker_killed_mid_batch_then_run_again_sends_no_duplicate(app, store, world, mail_outbox, monkeypatch):
    """Killed right after the server took the 2nd message, before it was recorded: the rerun never
    resends it (FAILED, 'interrupted': it may have gone out; here it did) and sends the 3rd."""
    queued = []
    monkeypatch.setattr(campaigns, "enqueue_after_commit", lambda *args, **kwargs: queued.append(args))
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=10)
    assert queued == [("jobs.campaigns.send_batch", campaign_id, 10)] and mail_outbox == []
    original = locmem.EmailBackend.send_messages

    def dies_after_the_second(self, messages):
        count = original(self, messages)
        if len(mail_outbox) == 2:
            raise Killed()
        return count

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", dies_after_the_second)
    with pytest.raises(Killed):
        execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 10], {})
    first, second = (m.to[0] for m in mail_outbox)
    states = recipients_of(app, store, campaign_id)
    assert states[first][0] == "SENT" and states[second][0] == "SENDING"
    (third,) = world.reached_by_all - {first, second}
    assert states[third][0] == "CLAIMED"

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", original)
    assert execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 10], {}) == "done"
    assert Tally(m.to[0] for m in mail_outbox) == {first: 1, second: 1, third: 1}
    states = recipients_of(app, store, campaign_id)
    assert states[first] == ("SENT", 1, None) and states[third] == ("SENT", 1, None)
    assert states[second][0] == "FAILED" and "not sent again" in states[second][2]
    done = campaign_of(app, store, campaign_id)
    assert (done.status, done.sent, done.failed, done.skipped) == ("SENT", 2, 1, 1)
    # and a third run (RQ retrying a job that already finished) changes nothing
    assert execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 10], {}) == "not sending"
    assert len(mail_outbox) == 3


def test_a_campaign_cancelled_between_batches_sends_no_more(app, store, world, mail_outbox, monkeypatch):
    import jobs.campaigns as job

    next_batches = []
    monkeypatch.setattr(campaigns, "enqueue_after_commit", lambda *args, **kwargs: None)
    monkeypatch.setattr(job, "_in_worker", lambda: True)  # one batch per job, the next one queued
    monkeypatch.setattr(job, "enqueue_after_commit", lambda *args, **kwargs: next_batches.append(args))
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=1)
    assert execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 1], {}) == "next batch queued"
    assert len(mail_outbox) == 1 and next_batches == [("jobs.campaigns.send_batch", campaign_id, 1)]
    with app.app_context(), tenant_scope(store):
        assert campaigns.cancel(campaigns.get_campaign(campaign_id))
        db.session.commit()
    assert execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 1], {}) == "not sending"
    assert len(mail_outbox) == 1
    states = recipients_of(app, store, campaign_id)
    assert sorted(s for s, _, _ in states.values()) == ["SENT", "SKIPPED", "SKIPPED", "SKIPPED"]
    done = campaign_of(app, store, campaign_id)
    assert (done.status, done.sent, done.skipped) == ("CANCELLED", 1, 3)


def test_who_opts_out_after_the_snapshot_is_still_in_that_campaign_but_not_the_next(app, store, world, mail_outbox,
                                                                                    monkeypatch):
    """The audience is fixed when sending starts (one INSERT ... SELECT); preferences count then."""
    monkeypatch.setattr(campaigns, "enqueue_after_commit", lambda *args, **kwargs: None)
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=10)
    with app.app_context(), tenant_scope(store):
        db.session.add(NotificationPreference(user_id=world.ann.id, marketing_emails=False, product_news=False))
        db.session.commit()
    execute(app, "jobs.campaigns.send_batch", store.id, [campaign_id, 10], {})
    assert {m.to[0] for m in mail_outbox} == world.reached_by_all
    second = draft(app, world, subject="Second")
    start(app, store, second, batch_size=10)
    execute(app, "jobs.campaigns.send_batch", store.id, [second, 10], {})
    assert Tally(m.to[0] for m in mail_outbox if m.subject == "Second") == {"bob@example.com": 1, "dan@example.com": 1}


def test_one_click_unsubscribe_works_without_login_or_csrf(app, client, store, world, mail_outbox):
    campaign_id = draft(app, world)
    start(app, store, campaign_id, batch_size=10)
    link = next(m for m in mail_outbox if m.to == ["ann@example.com"]).extra_headers["List-Unsubscribe"][1:-1]
    path = "/" + link.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200 and b"Unsubscribe" in page.data and b"a\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2@example.com" in page.data
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    with app.app_context(), tenant_scope(store):
        assert db.session.get(NotificationPreference, world.ann.id) is None  # a GET changes nothing
    # what a mail provider sends (RFC 8058): no cookie, no CSRF token
    done = client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and b"You are unsubscribed" in done.data
    with app.app_context(), tenant_scope(store):
        prefs = db.session.get(NotificationPreference, world.ann.id)
        assert (prefs.marketing_emails, prefs.product_news, prefs.changed_via) == (False, False, "unsubscribe_link")
        assert prefs.unsubscribed_at is not None
    assert client.post(path, data="List-Unsubscribe=One-Click",
                       content_type="application/x-www-form-urlencoded").status_code == 200  # twice is harmless


@pytest.mark.parametrize("forge", ["flip", "other_user", "other_store", "other_purpose", "garbage"])
def test_a_forged_or_foreign_unsubscribe_token_is_refused(app, client, store, other_store, world, forge):
    from itsdangerous import URLSafeSerializer

    from services import preferences

    with app.app_context():
        secret = app.config["SECRET_KEY"]
        good = preferences.unsubscribe_token(store.id, world.ann.id)
        token = {
            "flip": good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1],
            "other_user": URLSafeSerializer("not-the-secret", salt=preferences.PURPOSE).dumps(
                {"s": store.id, "u": world.bob.id}),
            "other_store": preferences.unsubscribe_token(other_store.id, world.ann.id),
            "other_purpose": URLSafeSerializer(secret, salt="password-reset").dumps({"s": store.id, "u": world.ann.id}),
            "garbage": "not-a-token",
        }[forge]
    for method in ("get", "post"):
        response = getattr(client, method)(f"/unsubscribe/{token}")
        assert response.status_code == 404, (forge, method)
        assert b"not valid" in response.data
    with app.app_context(), tenant_scope(store):
        assert db.session.get(NotificationPreference, world.ann.id) is None
        assert db.session.get(NotificationPreference, world.bob.id) is None


def test_a_token_for_a_deleted_account_never_reaches_a_new_one_with_its_email(app, client, make, store, world):
    from models import User
    from services import preferences

    with app.app_context():
        token = preferences.unsubscribe_token(store.id, world.eve.id)
    with make.scope(store) as session:
        session.delete(session.get(User, world.eve.id))
    newcomer = make.user(store, username="eve2", email="eve@example.com")
    assert client.post(f"/unsubscribe/{token}").status_code == 404
    with app.app_context(), tenant_scope(store):
        assert db.session.get(NotificationPreference, newcomer.id) is None


# --- a real worker, a real SMTP server ------------------------------------------------------------

class FlakySMTP:
    """Takes messages, but answers 451 (try again later) once it has taken ``take`` in a row."""

    def __init__(self):
        self.messages: list = []
        self.take: int | None = None
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        if self.take is not None and len(self.messages) >= self.take:
            self.refused += 1
            return "451 4.3.0 Try again later"
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def worker_env(tmp_path):
    if not port_open("127.0.0.1", 6379):
        service_missing("Redis on 127.0.0.1:6379")
    from aiosmtpd.controller import Controller
    from redis import Redis

    from tests.factories import Factory

    smtp = FlakySMTP()
    controller = Controller(smtp, hostname="127.0.0.1", port=_free_port())
    controller.start()
    Redis.from_url(REDIS_TEST_URL).flushdb()
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'campaigns.db'}", REDIS_URL=REDIS_TEST_URL,
                         MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    application = make_app(config)
    migrate(application)
    make = Factory(application)
    store = make.store("jobs", "Jobs Store", default=True)
    world = build_world(make, store)
    yield SimpleNamespace(app=application, config=config, smtp=smtp, store=store, world=world,
                          admin=make.headers(world.admin, store), client=application.test_client())
    Redis.from_url(REDIS_TEST_URL).flushdb()
    controller.stop()
    with application.app_context():
        db.engine.dispose()


def test_smtp_refusing_mid_send_is_retried_by_rq_and_nobody_gets_two(worker_env, monkeypatch):
    from tests.jobs.test_payment_jobs import retry_now, run_worker
    from transactions import queue

    env = worker_env
    monkeypatch.setattr(campaigns, "BATCH_SIZE", 2)
    campaign_id = draft(env.app, env.world)
    response = env.client.post(f"{BASE}/{campaign_id}/send", headers=env.admin)
    assert response.status_code == 202, response.get_json()
    assert queue(env.app, "emails").count == 1 and env.smtp.messages == []  # nothing leaves the web process
    sending = env.client.get(f"{BASE}/{campaign_id}", headers=env.admin).get_json()["progress"]
    assert (sending["status"], sending["total"], sending["sent"], sending["skipped"], sending["percent"]) == (
        "SENDING", 4, 0, 1, 25)

    env.smtp.take = 1  # the server takes one message, then answers 451
    first = run_worker(env.config)
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(env.smtp.messages) == 1 and env.smtp.refused == 1, first.stderr[-3000:]
    states = recipients_of(env.app, env.store, campaign_id)
    refused = [email for email, (status, attempts, _) in states.items() if status == "PENDING" and attempts == 1]
    assert len(refused) == 1 and "451" in states[refused[0]][2]
    assert sorted(s for s, _, _ in states.values()) == ["PENDING", "PENDING", "SENT", "SKIPPED"]
    midway = env.client.get(f"{BASE}/{campaign_id}", headers=env.admin).get_json()["progress"]
    assert (midway["status"], midway["sent"], midway["percent"]) == ("SENDING", 1, 50)

    env.smtp.take = None
    assert retry_now(SimpleNamespace(app=env.app), "emails") == 1
    second = run_worker(env.config)
    assert second.returncode == 0, second.stderr[-3000:]
    received = Tally(rcpt for envelope in env.smtp.messages for rcpt in envelope.rcpt_tos)
    assert received == {"ann@example.com": 1, "bob@example.com": 1, "dan@example.com": 1}
    states = recipients_of(env.app, env.store, campaign_id)
    assert states[refused[0]][:2] == ("SENT", 2)
    done = env.client.get(f"{BASE}/{campaign_id}", headers=env.admin).get_json()["progress"]
    assert done == {"status": "SENT", "total": 4, "sent": 3, "skipped": 1, "failed": 0, "pending": 0,
                    "percent": 100, "done": True}

    envelope = next(e for e in env.smtp.messages if e.rcpt_tos == ["dan@example.com"])
    received_message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert received_message["Subject"] == "Spring sale"
    assert {part.get_content_type() for part in received_message.walk()} >= {"text/plain", "text/html"}
    header = re.fullmatch(r"<(https?://[^>]+/unsubscribe/[^>]+)>", str(received_message["List-Unsubscribe"]).strip())
    assert header, received_message["List-Unsubscribe"]
    assert received_message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = "/" + header.group(1).split("/", 3)[3]
    client = env.app.test_client()  # no session, no CSRF token: what a mailbox provider sends
    unsubscribed = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert unsubscribed.status_code == 200 and b"You are unsubscribed" in unsubscribed.data
    with env.app.app_context(), tenant_scope(env.store):
        assert db.session.get(NotificationPreference, env.world.dan.id).marketing_emails is False
    assert client.post(path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")).status_code == 404
