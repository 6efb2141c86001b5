"""The payment provider interface: create a payment (for an order or a top-up), read its status,
refund it, and turn a signed webhook into an event.

Amounts are integer minor units and currencies upper-case ISO codes on this side of the
interface, whatever the provider speaks. Every outgoing POST carries the caller's deterministic
idempotency key (``checkout:<order id>``, ``refund:<refund id>``), so a retried job never
charges or refunds twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# What a provider says about a payment, on this side of the interface.
PENDING, SUCCEEDED, FAILED, EXPIRED = "pending", "succeeded", "failed", "expired"


class ProviderError(Exception):
    """The provider refused or could not be reached. ``retryable``: worth trying again later
    (network, timeout, 5xx, rate limit); otherwise the request itself was refused."""

    def __init__(self, message: str, *, retryable: bool = False, code: str | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class SignatureError(Exception):
    """A webhook whose signature does not verify (missing, wrong, or too old)."""


@dataclass(frozen=True)
class PaymentRequest:
    amount: int  # minor units, > 0
    currency: str  # ISO 4217, upper case
    description: str  # one line shown on the provider's page ("Order #12 at Demo Store")
    success_url: str  # where the shopper returns after paying
    cancel_url: str  # where the shopper returns after giving up
    notify_url: str | None = None  # webhook URL, for providers that take it per payment (Hoodpay)
    email: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # store_id, purpose, order_id / topup_id


@dataclass(frozen=True)
class Checkout:
    """A payment created at the provider."""

    ref: str  # the id we key on: Stripe Checkout Session / PaymentIntent id, Hoodpay payment id
    redirect_url: str | None  # the provider's hosted page (None for a PaymentIntent)
    client_secret: str | None = None  # PaymentIntent: for clients that collect the card themselves


@dataclass(frozen=True)
class PaymentState:
    """What the provider says about a payment now."""

    ref: str
    status: str  # PENDING | SUCCEEDED | FAILED | EXPIRED
    amount: int  # minor units actually paid (or asked, while pending)
    currency: str
    charge_ref: str | None = None  # what a refund names (Stripe PaymentIntent id)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    ref: str
    status: str  # "succeeded" | "pending" | "failed"
    amount: int


@dataclass(frozen=True)
class WebhookEvent:
    """A verified notification, before anything is applied."""

    id: str  # the provider's event id (unique per provider): the dedupe key
    type: str  # e.g. "checkout.session.completed", "payment:completed"
    payload: dict  # the whole parsed body
    account: str | None = None  # Stripe Connect account the event belongs to, if any
    object_ref: str | None = None  # id of the payment object it is about (session, intent, charge, payment)
    metadata: dict[str, str] = field(default_factory=dict)


class PaymentProvider(Protocol):
    name: str  # "STRIPE" | "HOODPAY"

    def create_payment(self, request: PaymentRequest, *, idempotency_key: str) -> Checkout: ...

    def payment_state(self, ref: str) -> PaymentState: ...

    def refund(self, ref: str, amount: int, *, idempotency_key: str, reason: str = "") -> RefundResult: ...


# What an event means, in the provider's neutral words (services.payments applies it).
PAYMENT_SUCCEEDED = "payment_succeeded"
PAYMENT_FAILED = "payment_failed"
PAYMENT_EXPIRED = "payment_expired"
REFUNDED = "refunded"  # amount = the payment's refunded total so far (cumulative, so replays agree)
DISPUTE_OPENED = "dispute_opened"
DISPUTE_CLOSED = "dispute_closed"  # detail["outcome"]: "won" | "lost"
ACCOUNT_UPDATED = "account_updated"  # detail: AccountStatus fields
IGNORED = "ignored"  # a type we do not act on


@dataclass(frozen=True)
class Fact:
    kind: str
    ref: str | None = None  # the payment object: Checkout Session / PaymentIntent id, Hoodpay payment id
    alt_ref: str | None = None  # its other id (a session's PaymentIntent) when the event names both
    amount: int | None = None  # minor units
    currency: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # what we attached at creation (payment_id, ...)
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AccountStatus:
    """A Stripe Connect account as the platform sees it."""

    id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str] = field(default_factory=list)
