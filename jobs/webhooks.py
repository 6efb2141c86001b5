"""Webhook jobs (queue ``webhooks``): apply one stored provider event. Retries with backoff are
safe: ``services.webhooks.process`` locks the event and does nothing once it is settled."""
from __future__ import annotations

from services import webhooks
from transactions import record_failure


def process_event(event_id: str, force: bool = False) -> str:
    try:
        return webhooks.process(event_id, force=force)
    except Exception as exc:
        record_failure(webhooks.record_failure, event_id, exc)
        raise  # RQ retries (Retry(max=3, interval=[10, 60, 300]))
