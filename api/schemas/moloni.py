"""Moloni schemas (the ``moloni`` addon)."""
from __future__ import annotations

from datetime import datetime

from .common import Output, Query


class CallbackQuery(Query):
    code: str | None = None
    state: str | None = None
    error: str | None = None


class NamedOut(Output):
    id: int
    name: str | None


class TaxOut(NamedOut):
    rate: float  # percent


class MoloniStatusOut(Output):
    connected: bool
    configured: bool  # a Moloni app (the platform's or the store's own) is set up
    own_app: bool
    client_id: str | None
    company: NamedOut | None
    document_set: NamedOut | None
    tax: TaxOut | None
    exemption_reason: str | None
    auto_invoice: bool
    connected_at: datetime | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    ready: bool  # paid orders can be invoiced now
    reason: str | None  # what is missing when not ready
    last_error: str | None
    redirect_uri: str  # register it in your Moloni app


class AuthorizeOut(Output):
    authorize_url: str


class MoloniInvoiceOut(Output):
    order_id: str
    status: str  # PENDING | INVOICED | FAILED
    number: str | None
    document_id: int | None
    failure_reason: str | None
    invoiced_at: datetime | None
    attempts: int
    credit_status: str | None  # PENDING | ISSUED | FAILED (a fully refunded order)
    credit_note_number: str | None
    credit_note_document_id: int | None
    credit_failure_reason: str | None


class PdfLinkOut(Output):
    order_id: str
    document_id: int
    number: str | None
    url: str
    credit_note_number: str | None
    credit_note_url: str | None
