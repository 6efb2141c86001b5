"""Stripe behind the payment provider interface (``integrations.base``).

What this module assumes about Stripe (https://docs.stripe.com/api):

* API base ``https://api.stripe.com`` (``api_base`` points every base address, api/connect/files,
  elsewhere, e.g. at ``tests/fakes/stripe_server.py``). Requests go through the official ``stripe``
  package's ``StripeClient`` (v16: ``client.v1.<resource>.<method>(params, options)``): POST bodies
  are form-encoded with nested keys (``metadata[payment_id]=7``, ``line_items[0][quantity]=1``),
  amounts integer minor units, currencies lower case on the wire (upper case on our side).
* Every POST carries ``Idempotency-Key`` (the caller's deterministic key; Stripe replays the first
  answer for a key it has seen, so a retry after a timeout never charges or refunds twice).
* ``Stripe-Account: acct_...`` on a request makes it act on that connected account. Connect model:
  Express accounts (``POST /v1/accounts`` type=express, card_payments + transfers requested),
  onboarding through Account Links (type=account_onboarding), and *direct charges*: a store's
  Checkout Sessions, PaymentIntents, refunds, balance and payouts live on its connected account, so
  the gateway sends ``Stripe-Account`` on those when built with ``account=``. Platform calls
  (create an account, link it, read its status) go without it.
* Payments: Checkout Sessions (``cs_...``, hosted page, mode=payment) or PaymentIntents (``pi_...``).
  A session's PaymentIntent exists once the shopper pays; both carry our metadata (session
  ``metadata`` and ``payment_intent_data.metadata``), and charges inherit the intent's.
  Refunds: ``POST /v1/refunds`` naming the PaymentIntent.
* Webhooks: header ``Stripe-Signature: t=<unix time>,v1=<hex>``, v1 = HMAC-SHA256 with the
  endpoint secret (``whsec_...``) over ``f"{t}.{raw body}"``; accepted within 300 s of ``t``.
  Verified with the package's ``WebhookSignature``. Connect events carry ``account`` and are
  signed with the Connect endpoint's own secret, so several secrets are tried in turn.
  Event types used: ``checkout.session.completed``, ``checkout.session.expired``,
  ``payment_intent.succeeded``, ``payment_intent.payment_failed``, ``charge.refunded``,
  ``charge.dispute.created``, ``charge.dispute.closed``, ``account.updated``; any other is ignored.
* Errors: ``{"error": {"type", "code", "message", "param"}}``; 400/404 invalid request, 402 card
  error, 401/403 authentication/permission, 409 conflict, 429 rate limit, 5xx Stripe's side. They
  surface as ``ProviderError`` (``retryable`` for network errors, timeouts, 409, 429 and 5xx; the
  Stripe error code, when there is one, in ``.code``).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import stripe

from integrations.base import (
    ACCOUNT_UPDATED,
    DISPUTE_CLOSED,
    DISPUTE_OPENED,
    EXPIRED,
    FAILED,
    IGNORED,
    PAYMENT_EXPIRED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PENDING,
    REFUNDED,
    SUCCEEDED,
    AccountStatus,
    Checkout,
    Fact,
    PaymentRequest,
    PaymentState,
    ProviderError,
    RefundResult,
    SignatureError,
    WebhookEvent,
)

WEBHOOK_TOLERANCE = 300  # seconds between the signature's timestamp and now
PAID_SESSION_STATUSES = ("paid", "no_payment_required")
REFUND_STATUSES = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}


class StripeGateway:
    """Stripe for one store: the platform key, plus the store's connected account (``account``)
    when it has one, which every payment, refund, balance and payout call then acts on."""

    name = "STRIPE"

    def __init__(
        self,
        *,
        api_key: str,
        account: str | None = None,
        api_base: str | None = None,
        timeout: float = 20.0,
        max_retries: int = 0,
    ):
        self.account = account
        base = api_base.rstrip("/") if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": base, "connect": base, "files": base} if base else None,
            http_client=stripe.RequestsClient(timeout=timeout),
            max_network_retries=max_retries,
        )

    # -- payments ---------------------------------------------------------------------------

    def create_payment(self, request: PaymentRequest, *, idempotency_key: str) -> Checkout:
        """A Checkout Session (mode=payment, one line item) on the hosted page."""
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {"name": request.description},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.email:
            params["customer_email"] = request.email
        if request.metadata.get("payment_id"):
            params["client_reference_id"] = str(request.metadata["payment_id"])
        if request.metadata:
            params["metadata"] = dict(request.metadata)
            params["payment_intent_data"] = {"metadata": dict(request.metadata)}
        with _stripe_errors():
            session = self._client.v1.checkout.sessions.create(params, self._options(idempotency_key)).to_dict()
        return Checkout(ref=session["id"], redirect_url=session.get("url"))

    def create_intent(self, request: PaymentRequest, *, idempotency_key: str) -> Checkout:
        """A PaymentIntent, for clients that collect the card themselves (Stripe.js)."""
        params: dict[str, Any] = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "description": request.description,
        }
        if request.email:
            params["receipt_email"] = request.email
        if request.metadata:
            params["metadata"] = dict(request.metadata)
        with _stripe_errors():
            intent = self._client.v1.payment_intents.create(params, self._options(idempotency_key)).to_dict()
        return Checkout(ref=intent["id"], redirect_url=None, client_secret=intent.get("client_secret"))

    def reopen_intent(self, ref: str) -> Checkout:
        """An open PaymentIntent again, with its client secret (a client that asks twice gets the
        same intent, so the shopper cannot pay two)."""
        with _stripe_errors():
            intent = self._client.v1.payment_intents.retrieve(ref, options=self._options()).to_dict()
        return Checkout(ref=intent["id"], redirect_url=None, client_secret=intent.get("client_secret"))

    def payment_state(self, ref: str) -> PaymentState:
        """What Stripe says now about a Checkout Session (``cs_...``) or PaymentIntent (``pi_...``)."""
        if ref.startswith("cs_"):
            session = self._retrieve_session(ref)
            status = session.get("status")
            if status == "complete" and session.get("payment_status") in PAID_SESSION_STATUSES:
                state = SUCCEEDED
            elif status == "expired":
                state = EXPIRED
            else:
                state = PENDING
            return PaymentState(
                ref=session["id"],
                status=state,
                amount=int(session.get("amount_total") or 0),
                currency=_currency(session.get("currency")),
                charge_ref=_id_of(session.get("payment_intent")),
                metadata=_metadata(session),
            )
        if ref.startswith("pi_"):
            with _stripe_errors():
                intent = self._client.v1.payment_intents.retrieve(ref, options=self._options()).to_dict()
            return intent_state(intent)
        raise ProviderError(f"Stripe: not a Checkout Session or PaymentIntent id: {ref!r}", code="unknown_ref")

    def refund(self, ref: str, amount: int, *, idempotency_key: str, reason: str = "") -> RefundResult:
        """Refund ``amount`` of a payment. ``ref``: its PaymentIntent id (a charge id or a Checkout
        Session id also work: a session is resolved to its PaymentIntent first)."""
        params: dict[str, Any] = {"amount": amount}
        if ref.startswith("ch_") or ref.startswith("py_"):
            params["charge"] = ref
        elif ref.startswith("cs_"):
            intent = _id_of(self._retrieve_session(ref).get("payment_intent"))
            if not intent:
                raise ProviderError(f"Stripe: Checkout Session {ref} has no payment to refund", code="not_paid")
            params["payment_intent"] = intent
        else:
            params["payment_intent"] = ref
        if reason:
            params["metadata"] = {"reason": reason[:500]}  # Stripe's limit on a metadata value
        with _stripe_errors():
            refund = self._client.v1.refunds.create(params, self._options(idempotency_key)).to_dict()
        return RefundResult(ref=refund["id"], status=REFUND_STATUSES.get(refund.get("status") or "", PENDING),
                            amount=int(refund.get("amount") or 0))

    def expire_session(self, ref: str) -> bool:
        """Close an open Checkout Session so it can no longer be paid (``POST
        /v1/checkout/sessions/{id}/expire``). False when it is no longer open (paid or expired:
        Stripe answers 400 then); only a session that is still open can be expired."""
        session = self._retrieve_session(ref)
        if session.get("status") != "open":
            return False
        with _stripe_errors():
            self._client.v1.checkout.sessions.expire(ref, options=self._options(f"expire:{ref}"))
        return True

    def cancel_intent(self, ref: str) -> bool:
        """Cancel a PaymentIntent that has not been paid, so it can no longer be (``POST
        /v1/payment_intents/{id}/cancel``). False when it already succeeded, was canceled, or is
        being processed: only an intent waiting for a payment method or a confirmation can be."""
        with _stripe_errors():
            intent = self._client.v1.payment_intents.retrieve(ref, options=self._options()).to_dict()
        if intent.get("status") not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            return False
        with _stripe_errors():
            self._client.v1.payment_intents.cancel(ref, options=self._options(f"cancel:{ref}"))
        return True

    # -- Connect: platform calls (no Stripe-Account) ------------------------------------------

    def create_account(self, *, email: str | None, country: str | None = None, idempotency_key: str) -> str:
        """An Express connected account; its id (``acct_...``)."""
        params: dict[str, Any] = {
            "type": "express",
            "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
        }
        if email:
            params["email"] = email
        if country:
            params["country"] = country.upper()
        with _stripe_errors():
            account = self._client.v1.accounts.create(params, self._options(idempotency_key, platform=True))
        return str(account["id"])

    def account_link(self, account: str, *, refresh_url: str, return_url: str) -> str:
        """A one-time onboarding URL for the account's owner."""
        params = {"account": account, "refresh_url": refresh_url, "return_url": return_url,
                  "type": "account_onboarding"}
        with _stripe_errors():
            link = self._client.v1.account_links.create(params, self._options(platform=True))
        return str(link["url"])

    def account_status(self, account: str) -> AccountStatus:
        with _stripe_errors():
            data = self._client.v1.accounts.retrieve(account, options=self._options(platform=True)).to_dict()
        return account_status_of(data)

    # -- Connect: the account's money (Stripe-Account when built with account=) --------------

    def balance(self) -> dict:
        """``{"available": [{"amount", "currency"}], "pending": [...]}``."""
        with _stripe_errors():
            data = self._client.v1.balance.retrieve(options=self._options()).to_dict()
        return {
            key: [{"amount": int(row["amount"]), "currency": _currency(row.get("currency"))}
                  for row in data.get(key) or []]
            for key in ("available", "pending")
        }

    def transactions(self, limit: int = 20) -> list[dict]:
        """The newest balance transactions (charges, refunds, payouts, fees...)."""
        with _stripe_errors():
            page = self._client.v1.balance_transactions.list({"limit": limit}, self._options()).to_dict()
        return [
            {
                "id": row["id"],
                "amount": int(row["amount"]),
                "net": int(row.get("net") or 0),
                "fee": int(row.get("fee") or 0),
                "currency": _currency(row.get("currency")),
                "type": row.get("type"),
                "status": row.get("status"),
                "description": row.get("description"),
                "created": _iso(row.get("created")),
            }
            for row in page.get("data") or []
        ]

    def payouts(self, limit: int = 20) -> list[dict]:
        with _stripe_errors():
            page = self._client.v1.payouts.list({"limit": limit}, self._options()).to_dict()
        return [_payout(row) for row in page.get("data") or []]

    def create_payout(self, amount: int, currency: str, *, idempotency_key: str) -> dict:
        """Pay ``amount`` of the available balance out to the account's bank."""
        params = {"amount": amount, "currency": currency.lower()}
        with _stripe_errors():
            payout = self._client.v1.payouts.create(params, self._options(idempotency_key)).to_dict()
        return _payout(payout)

    # -- helpers -----------------------------------------------------------------------------

    def _options(self, idempotency_key: str | None = None, *, platform: bool = False) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        if self.account and not platform:
            options["stripe_account"] = self.account
        return options

    def _retrieve_session(self, ref: str) -> dict:
        with _stripe_errors():
            return self._client.v1.checkout.sessions.retrieve(ref, options=self._options()).to_dict()


def intent_state(intent: dict) -> PaymentState:
    status = intent.get("status")
    if status == "succeeded":
        state, amount = SUCCEEDED, intent.get("amount_received")
    elif status == "canceled" or (status == "requires_payment_method" and intent.get("last_payment_error")):
        state, amount = FAILED, intent.get("amount")
    else:
        state, amount = PENDING, intent.get("amount")
    return PaymentState(
        ref=intent["id"],
        status=state,
        amount=int(amount or 0),
        currency=_currency(intent.get("currency")),
        charge_ref=intent["id"],
        metadata=_metadata(intent),
    )


def account_status_of(account: dict) -> AccountStatus:
    requirements = account.get("requirements") or {}
    due: list[str] = []
    for field_name in [*(requirements.get("currently_due") or []), *(requirements.get("past_due") or [])]:
        if field_name not in due:
            due.append(field_name)
    return AccountStatus(
        id=account["id"],
        charges_enabled=bool(account.get("charges_enabled")),
        payouts_enabled=bool(account.get("payouts_enabled")),
        details_submitted=bool(account.get("details_submitted")),
        requirements_due=due,
    )


# -- webhooks --------------------------------------------------------------------------------


def parse_webhook(raw: bytes, signature_header: str | None, secrets: list[str], *,
                  tolerance: int = WEBHOOK_TOLERANCE) -> WebhookEvent:
    """Verify a webhook body against each endpoint secret in turn (platform, Connect), then read it.

    Raises ``SignatureError`` (short reason) when the header is missing, no secret verifies it, the
    timestamp is outside ``tolerance``, or the body is not a JSON event with an id and a type."""
    if not signature_header:
        raise SignatureError("missing Stripe-Signature header")
    candidates = [secret for secret in secrets if secret]
    if not candidates:
        raise SignatureError("no webhook secret configured")
    reasons: list[str] = []
    for secret in candidates:
        try:
            stripe.WebhookSignature.verify_header(raw, signature_header, secret, tolerance)
            break
        except stripe.SignatureVerificationError as exc:
            reasons.append(_signature_reason(exc))
        except UnicodeDecodeError:
            raise SignatureError("body is not UTF-8") from None
    else:
        # a stale timestamp is only reported once the signature matched: the more telling reason
        stale = [reason for reason in reasons if reason.startswith("timestamp")]
        raise SignatureError((stale or reasons)[-1])
    try:
        payload = json.loads(raw)
    except ValueError:
        raise SignatureError("body is not JSON") from None
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("type"):
        raise SignatureError("body is not an event (no id or type)")
    obj = _event_object(payload)
    return WebhookEvent(
        id=str(payload["id"]),
        type=str(payload["type"]),
        payload=payload,
        account=payload.get("account"),
        object_ref=obj.get("id"),
        metadata=_metadata(obj),
    )


def describe(event: WebhookEvent) -> Fact:
    """What a verified event means, in the neutral words of ``integrations.base``."""
    obj = _event_object(event.payload)
    kind = event.type
    metadata = _metadata(obj)
    if kind == "payment_intent.succeeded":
        return Fact(PAYMENT_SUCCEEDED, ref=obj.get("id"), amount=_int(obj.get("amount_received")),
                    currency=_currency(obj.get("currency")), metadata=metadata)
    if kind == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        return Fact(PAYMENT_FAILED, ref=obj.get("id"), amount=_int(obj.get("amount")),
                    currency=_currency(obj.get("currency")), metadata=metadata,
                    detail={"reason": error.get("message")})
    if kind == "checkout.session.completed":
        common = {"ref": obj.get("id"), "alt_ref": _id_of(obj.get("payment_intent")),
                  "amount": _int(obj.get("amount_total")), "currency": _currency(obj.get("currency")),
                  "metadata": metadata}
        payment_status = obj.get("payment_status")
        if payment_status in PAID_SESSION_STATUSES:
            return Fact(PAYMENT_SUCCEEDED, **common)
        # an asynchronous method (bank debit...): paid later, announced by payment_intent.succeeded
        return Fact(IGNORED, **common, detail={"reason": "completed, payment not yet received",
                                               "payment_status": payment_status})
    if kind == "checkout.session.expired":
        return Fact(PAYMENT_EXPIRED, ref=obj.get("id"), alt_ref=_id_of(obj.get("payment_intent")),
                    amount=_int(obj.get("amount_total")), currency=_currency(obj.get("currency")),
                    metadata=metadata)
    if kind == "charge.refunded":
        refunds = obj.get("refunds")
        refund_ids = [r["id"] for r in (refunds.get("data") or []) if isinstance(r, dict) and r.get("id")] \
            if isinstance(refunds, dict) else []
        return Fact(REFUNDED, ref=_id_of(obj.get("payment_intent")) or obj.get("id"),
                    amount=_int(obj.get("amount_refunded")), currency=_currency(obj.get("currency")),
                    metadata=metadata, detail={"charge": obj.get("id"), "refunds": refund_ids})
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        detail = {"dispute": obj.get("id"), "reason": obj.get("reason"), "status": obj.get("status"),
                  "charge": _id_of(obj.get("charge"))}
        if kind == "charge.dispute.closed":
            detail["outcome"] = "won" if obj.get("status") in ("won", "warning_closed") else "lost"
        return Fact(DISPUTE_OPENED if kind == "charge.dispute.created" else DISPUTE_CLOSED,
                    ref=_id_of(obj.get("payment_intent")) or _id_of(obj.get("charge")),
                    amount=_int(obj.get("amount")), currency=_currency(obj.get("currency")),
                    metadata=metadata, detail=detail)
    if kind == "account.updated" and obj.get("id"):
        status = account_status_of(obj)
        return Fact(ACCOUNT_UPDATED, ref=status.id, metadata=metadata, detail=asdict(status))
    return Fact(IGNORED, ref=event.object_ref, metadata=metadata, detail={"type": kind})


# -- small helpers ---------------------------------------------------------------------------


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        raise provider_error(exc) from exc


def provider_error(exc: stripe.StripeError) -> ProviderError:
    """A Stripe error on this side of the interface: retryable or refused, with Stripe's code."""
    status = exc.http_status
    code = exc.code or (exc.error.code if exc.error is not None else None)
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        retryable = True
    elif isinstance(exc, stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError
                    | stripe.AuthenticationError | stripe.PermissionError):
        retryable = False
    else:  # APIError and the rest: Stripe's side, or a conflict
        retryable = status is None or status >= 500 or status == 409
    message = exc.user_message or type(exc).__name__
    return ProviderError(f"Stripe: {message}", retryable=retryable, code=code)


def _signature_reason(exc: stripe.SignatureVerificationError) -> str:
    message = (exc.user_message or "").lower()
    if "tolerance" in message:
        return "timestamp outside the tolerance"
    if "unable to extract" in message:
        return "malformed Stripe-Signature header"
    if "expected scheme" in message:
        return "no v1 signature in the header"
    return "signature does not match"


def _event_object(payload: dict) -> dict:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def _metadata(obj: dict) -> dict[str, str]:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return {}
    return {str(key): str(value) for key, value in metadata.items()}


def _id_of(value: Any) -> str | None:
    """An expandable field: an id, or the expanded object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _currency(value: str | None) -> str:
    return (value or "").upper()


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(int(timestamp), UTC).isoformat()


def _payout(row: dict) -> dict:
    return {
        "id": row["id"],
        "amount": int(row["amount"]),
        "currency": _currency(row.get("currency")),
        "status": row.get("status"),
        "arrival_date": _iso(row.get("arrival_date")),
        "created": _iso(row.get("created")),
        "description": row.get("description"),
    }
