"""Webhook jobs (queue ``webhooks``): apply one stored provider event. Retries with backoff are
safe: ``services.webhooks.process`` locks the event and does nothing once it is settled."""
from __future__ import annotations

from functools import partial

from services import webhooks
from transactions import record_failure

from .runner import will_retry


def process_event(event_id: str, force: bool = False) -> str:
    try:
        return webhooks.process(event_id, force=force)
    except Exception as exc:
        record_failure(partial(webhooks.record_failure, event_id, exc, will_retry=will_retry()))
        raise  # RQ retries (Retry(max=3, interval=[10, 60, 300]))
