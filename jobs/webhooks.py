"""Webhook jobs (queue ``webhooks``): apply one stored provider event. Retries with backoff are
safe: ``services.webhooks.process`` locks the event and does nothing once it is settled."""
from __future__ import annotations

from functools import partial

from rq import get_current_job

from services import webhooks
from transactions import record_failure


def _will_retry() -> bool:
    """Whether the queue runs this job again after it fails (RQ counts the retries left; a job
    run inline, without Redis, is not retried)."""
    job = get_current_job()
    return bool(job is not None and job.retries_left)


def process_event(event_id: str, force: bool = False) -> str:
    try:
        return webhooks.process(event_id, force=force)
    except Exception as exc:
        record_failure(partial(webhooks.record_failure, event_id, exc, will_retry=_will_retry()))
        raise  # RQ retries (Retry(max=3, interval=[10, 60, 300]))
