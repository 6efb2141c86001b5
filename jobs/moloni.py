"""Moloni jobs: invoice a paid order, credit a refunded one. Each looks its document up in Moloni
by our reference before inserting (``services.moloni``), so a retry never makes a second one.
Moloni unreachable: RQ retries; after the last retry (or at once, inline) the failure is recorded
on the order and the admins are told."""
from __future__ import annotations

from functools import partial

from integrations.base import ProviderError
from services import moloni
from transactions import record_failure

from .runner import will_retry


def invoice_order(order_id: str) -> str:
    try:
        return moloni.issue_invoice(order_id)
    except ProviderError as exc:
        if exc.retryable and will_retry():
            raise
        record_failure(partial(moloni.fail_by_order, order_id, f"Moloni could not be reached ({exc})"))
        return "invoice failed: Moloni could not be reached"


def credit_order(order_id: str) -> str:
    try:
        return moloni.issue_credit_note(order_id)
    except ProviderError as exc:
        if exc.retryable and will_retry():
            raise
        record_failure(partial(moloni.fail_by_order, order_id, f"Moloni could not be reached ({exc})", True))
        return "credit note failed: Moloni could not be reached"
