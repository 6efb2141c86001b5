"""Payment jobs: send a card refund to the provider (idempotency key ``refund:<id>``, so a retry
after a timeout never refunds twice); close the payment pages of an order that expired or was cancelled."""
from __future__ import annotations

from functools import partial

from integrations.base import ProviderError
from services import payments, refunds
from transactions import record_failure

from .runner import will_retry


def send_refund(refund_id: str) -> str:
    """Ask the provider for the refund; when it stays unreachable after the last retry (or at
    once, run inline without Redis), the refund FAILS: its reservation is released and the admins
    are told, so it can be made again, instead of waiting PENDING for ever."""
    try:
        return refunds.send(refund_id)
    except ProviderError as exc:
        if exc.retryable and will_retry():
            raise
        record_failure(partial(refunds.fail_by_id, refund_id, f"the payment provider could not be reached ({exc})"))
        return "refund failed: the provider could not be reached"


def close_payment_pages(order_id: str) -> int:
    """An order expired or was cancelled: its open provider pages can no longer be paid."""
    return payments.close_open_attempts(order_id)
