"""Payment jobs: send a card refund to the provider (idempotency key ``refund:<id>``, so a retry
after a timeout never refunds twice)."""
from __future__ import annotations

from services import refunds


def send_refund(refund_id: str) -> str:
    return refunds.send(refund_id)
