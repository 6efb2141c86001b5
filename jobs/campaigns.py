"""Campaign jobs (queue ``emails``): send a campaign in batches, each recipient once; a test to the admin.

``send_batch`` claims up to ``size`` PENDING recipients under a fresh run token and commits the
claim; before each message it marks that recipient SENDING and commits, and after it marks it SENT
(committed with the next one's SENDING, or at the job's end). These are the job's early commits,
each named by ``commit_early``. So whatever happens to the job (an SMTP failure, RQ's retry, a
killed worker), a recipient SENT or SENDING is never claimed again: ``services/campaigns.py`` says
what becomes of each case. Under a worker the job then queues the next batch (after its commit);
run inline (no Redis) it goes on with the next batch itself.
"""
from __future__ import annotations

import smtplib
import uuid

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
# The mail server answered with an error, or could not be reached: the message was not delivered,
# so sending it again is safe. Anything else while handing it over (the connection broke
# mid-message) leaves its delivery unknown.
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
    run = str(uuid.uuid4())
    campaigns.recover(campaign_id)
    claimed = campaigns.claim(campaign_id, size, run)
    commit_early("campaign recipients claimed by this run")
    if not claimed:
        campaigns.finish(campaign_id)
        return "done"
    content = _content(campaign)
    connection = mail.get_connection(fail_silently=False)
    try:
        connection.open()
    except Exception as exc:  # nothing was handed over: every claimed message is certainly unsent
        return _unreachable(campaign_id, run, exc)
    try:
        for recipient in claimed:
            if not campaigns.begin(campaign_id, recipient.user_id, run):
                continue  # the campaign was cancelled (the rest are SKIPPED), or another run took it
            commit_early("campaign recipient marked SENDING before its message goes out")
            try:
                _send(content, recipient.email, recipient.user_id, connection)
            except smtplib.SMTPRecipientsRefused as exc:  # this address only: the others go on
                campaigns.not_sent(campaign_id, recipient.user_id, run, f"the address was refused ({exc})", retry=False)
                continue
            except Exception as exc:
                return _stopped(campaign_id, recipient.user_id, run, exc)
            campaigns.mark_sent(campaign_id, recipient.user_id, run)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not hide the outcome
            pass
    return "more"


def _unreachable(campaign_id: str, run: str, exc: Exception) -> str:
    error = f"the mail server could not be reached ({type(exc).__name__}: {exc})"
    if will_retry():
        campaigns.unclaim(campaign_id, run, error=error)
        commit_early("campaign batch given back for RQ's retry")
        raise exc
    campaigns.fail_claimed(campaign_id, run, error)
    return "more"


def _stopped(campaign_id: str, user_id: str, run: str, exc: Exception) -> str:
    """A mail error stopped the batch at ``user_id``. Refused (an SMTP error answer): PENDING again
    for RQ's retry, FAILED after the last one. Broken mid-message: FAILED at once (it may have gone
    out). The batch's untried recipients are PENDING again either way."""
    error = f"{type(exc).__name__}: {exc}"
    retry = will_retry()
    if isinstance(exc, NOT_DELIVERED):
        campaigns.not_sent(campaign_id, user_id, run, error, retry=retry)
    else:
        campaigns.delivery_unknown(campaign_id, user_id, run, error)
    campaigns.unclaim(campaign_id, run)
    commit_early("campaign batch stopped by a mail error; each recipient's state is recorded")
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
