"""Campaign jobs (queue ``emails``): send a campaign in batches, each recipient once; a test to the admin.

``send_batch`` claims up to ``size`` PENDING recipients and commits the claim before the first
message goes out; every message sent is marked SENT and committed at once (the two kinds of
early commit of this job, named by ``commit_early``). So whatever happens to the job (an SMTP
failure, RQ's retry, a killed worker), a recipient once SENT or SENDING is never claimed again:
see ``services/campaigns.py`` for what becomes of each case. Under a worker the job then queues
the next batch (after its commit); run inline (no Redis) it goes on with the next batch itself.
"""
from __future__ import annotations

import smtplib

from rq import get_current_job

from extensions import mail
from services import campaigns, preferences
from services import users as user_service
from services.errors import NotFound
from services.stores import base_url, get_store
from tenancy import current_store_id
from transactions import commit_early, enqueue_after_commit

from .emails import send_email
from .runner import will_retry

TOPIC_REASONS = {"marketing": "chose to receive offers and news (marketing emails)",
                 "product_news": "chose to receive product news"}
# SMTP answered with an error: the server did not take the message, so sending it again is safe.
NOT_DELIVERED = (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, ConnectionRefusedError)


def _in_worker() -> bool:
    return get_current_job() is not None


def send_batch(campaign_id: str, size: int = campaigns.BATCH_SIZE) -> str:
    while True:
        outcome = _one_batch(campaign_id, size)
        if outcome != "more":
            return outcome
        if _in_worker():
            enqueue_after_commit("jobs.campaigns.send_batch", campaign_id, size, queue="emails")
            return "next batch queued"


def _one_batch(campaign_id: str, size: int) -> str:
    campaign = campaigns.sending(campaign_id)
    if campaign is None:
        return "not sending"
    campaigns.fail_interrupted(campaign_id)
    claimed = campaigns.claim(campaign_id, size)
    commit_early("campaign recipients claimed before sending: a retry never sends them again")
    if not claimed:
        campaigns.finish(campaign_id)
        return "done"
    content = _content(campaign)
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # nothing left: every claimed message is certainly unsent
        return _stop(campaign_id, [r.user_id for r in claimed], exc, delivered_unknown=False)
    try:
        for index, recipient in enumerate(claimed):
            rest = [r.user_id for r in claimed[index:]]
            if not campaigns.is_sending(campaign_id):  # cancelled meanwhile
                campaigns.skip_claimed(campaign_id, rest, "cancelled before it was sent")
                commit_early("campaign cancelled: the rest of the batch is skipped")
                return "cancelled"
            try:
                _send(content, recipient.email, recipient.user_id, connection)
            except smtplib.SMTPRecipientsRefused as exc:  # this address only: the others go on
                campaigns.mark_failed(campaign_id, [recipient.user_id], f"the mail server refused the address ({exc})")
                commit_early("campaign recipient refused by the mail server")
                continue
            except Exception as exc:
                return _stop(campaign_id, rest, exc, delivered_unknown=not isinstance(exc, NOT_DELIVERED))
            campaigns.mark_sent(campaign_id, recipient.user_id)
            commit_early("campaign email sent: recorded at once, so it is never sent again")
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not hide the outcome
            pass
    return "more"


def _stop(campaign_id: str, rest: list[str], exc: Exception, *, delivered_unknown: bool) -> str:
    """A mail error stopped the batch at ``rest[0]``. A message the server refused (an SMTP error
    answer, a refused connection) was not delivered: with a retry left the batch goes back to
    PENDING and the job raises for RQ's retry; without one it is FAILED. A message whose
    connection broke mid-way may have been delivered: FAILED at once, never resent."""
    error = f"{type(exc).__name__}: {exc}"
    retry = will_retry()
    if delivered_unknown:
        campaigns.mark_failed(campaign_id, rest[:1], f"delivery unknown, not sent again ({error})")
        rest = rest[1:]
    if retry:
        campaigns.release(campaign_id, rest, error)
    else:
        campaigns.mark_failed(campaign_id, rest, f"the mail server could not take it ({error})")
    commit_early("campaign batch stopped by a mail error: what became of each recipient is recorded")
    if retry:
        raise exc
    return "more"


def send_test(campaign_id: str, user_id: str) -> str | None:
    """The campaign as saved, marked as a test, to one admin. Records nothing."""
    try:
        campaign = campaigns.get_campaign(campaign_id)
        user = user_service.get_user(user_id)
    except NotFound:
        return None
    return _send(_content(campaign, is_test=True), user.email, user.id)


def _content(campaign, *, is_test: bool = False) -> dict:
    rendered = campaigns.render_campaign(campaign)
    return {"campaign_subject": rendered.subject, "body_html": rendered.html, "body_text": rendered.text,
            "topic_reason": TOPIC_REASONS[campaign.topic], "is_test": is_test,
            "base": base_url(get_store(current_store_id()))}


def _send(content: dict, email: str, user_id: str, connection=None) -> str:
    unsubscribe_url = f"{content['base']}/unsubscribe/{preferences.unsubscribe_token(current_store_id(), user_id)}"
    context = {**content, "unsubscribe_url": unsubscribe_url, "preferences_url": f"{content['base']}/account/preferences"}
    headers = {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return send_email(to=email, template="campaign", context=context, headers=headers, connection=connection)
