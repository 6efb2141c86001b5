"""Webhooks from the payment providers (public: the signature is the authentication).

`/api/webhooks/stripe` and Seed A's legacy `/api/payments/webhook` are one handler. Each event is
verified on the raw body, stored once under (provider, event id) and answered at once; a job on
the `webhooks` queue applies it (``services.webhooks``)."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, request

from services import webhooks

from .access import access
from .schemas.payments import WebhookReceiptOut

bp = APIBlueprint("api_webhooks", __name__, url_prefix="/api", tag="Webhooks")

ERRORS = {400: "`bad_signature`: unsigned, mis-signed, or older than 300 s; nothing is stored",
          413: "The body is too large", 503: "`webhooks_not_configured`"}


def _stripe():
    return webhooks.receive_stripe(request.get_data(cache=True), request.headers.get("Stripe-Signature"))


@bp.post("/webhooks/stripe")
@access("public")
@bp.output(WebhookReceiptOut)
@bp.doc(responses=ERRORS)
def stripe_webhook():
    """Stripe's events (`Stripe-Signature` header): payment_intent.succeeded / payment_failed,
    checkout.session.completed / expired, charge.refunded, charge.dispute.created / closed and
    account.updated. Answers 200 at once (`duplicate: true` for a redelivery); the event is applied
    by a job, once, however often it arrives."""
    return _stripe()


@bp.post("/payments/webhook")
@access("public")
@bp.output(WebhookReceiptOut)
@bp.doc(responses=ERRORS)
def stripe_webhook_legacy():
    """Seed A's legacy address of `POST /api/webhooks/stripe` (the same handler)."""
    return _stripe()


@bp.post("/webhooks/hoodpay")
@access("public")
@bp.output(WebhookReceiptOut)
@bp.doc(responses=ERRORS)
def hoodpay_webhook():
    """Hoodpay's payment notifications for this store, verified with the store's own webhook secret
    (HMAC of the raw body). The payment's status is confirmed with Hoodpay's API before an order is
    delivered or a top-up credited."""
    return webhooks.receive_hoodpay(g.store, request.get_data(cache=True), request.headers)
