"""Payment jobs: send a card refund to the provider (idempotency key ``refund:<id>``, so a retry
after a timeout never refunds twice); close the payment pages of an order that expired or was cancelled."""
from __future__ import annotations

from services import payments, refunds


def send_refund(refund_id: str) -> str:
    return refunds.send(refund_id)


def close_payment_pages(order_id: str) -> int:
    """An order expired or was cancelled: its open provider pages can no longer be paid."""
    return payments.close_open_attempts(order_id)
