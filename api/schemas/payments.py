"""Payments: provider checkouts, refunds, top-ups, Connect, payment settings and webhook events."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, Field

from models import BalanceTopUp, Payment, Refund, WebhookEvent
from services.money import to_major

from .common import Amount, Id, Input, Output, PageQuery, Query
from .orders import OrderOut


class OrderPaymentIn(Input):
    order_id: Id = Field(validation_alias=AliasChoices("order_id", "orderId"))


class PaymentOut(Output):
    id: str
    provider: str
    kind: str
    status: str
    amount: float
    currency: str
    provider_ref: str | None
    redirect_url: str | None
    created_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        return cls(id=payment.id, provider=payment.provider, kind=payment.kind, status=payment.status,
                   amount=to_major(payment.amount, payment.currency), currency=payment.currency,
                   provider_ref=payment.provider_ref, redirect_url=payment.redirect_url, created_at=payment.created_at)


class SessionOut(Output):
    """A Stripe Checkout Session (or Hoodpay payment page) for an order: send the shopper to `url`."""

    session_id: str
    url: str
    redirect_url: str
    payment: PaymentOut


class IntentOut(Output):
    """A PaymentIntent for clients that collect the card themselves (Stripe.js / mobile SDKs)."""

    payment_intent_id: str
    client_secret: str
    amount: float
    currency: str
    publishable_key: str | None
    stripe_account: str | None = Field(description="The connected account to pass to Stripe.js, if any")
    payment: PaymentOut


class RefundIn(Input):
    amount: Amount | None = Field(default=None, description="Major units; leave out to refund everything left")
    destination: Literal["original", "provider", "balance"] = Field(
        "original", description="`original` (the card, or balance for balance-paid orders), `provider` or `balance`")
    reason: str | None = Field(default=None, max_length=500)


class PaymentRefundIn(RefundIn):
    order_id: Id = Field(validation_alias=AliasChoices("order_id", "orderId"))


class RefundOut(Output):
    id: str
    order_id: str
    amount: float
    currency: str
    destination: str
    status: str
    reason: str
    provider_ref: str | None
    failure_reason: str | None
    created_by_id: str | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, row: Refund) -> RefundOut:
        return cls(id=row.id, order_id=row.order_id, amount=to_major(row.amount, row.currency), currency=row.currency,
                   destination=row.destination, status=row.status, reason=row.reason, provider_ref=row.provider_ref,
                   failure_reason=row.failure_reason, created_by_id=row.created_by_id, created_at=row.created_at,
                   completed_at=row.completed_at)


class RefundResultOut(Output):
    refund: RefundOut
    order: OrderOut
    reward_taken_back: float = Field(0, description="Of the 5-star review reward paid for this order, what this "
                                     "refund took back from the buyer's balance (major units; the reward "
                                     "keeps the share of what the buyer still keeps)")
    reward_not_recovered: float = Field(0, description="What the take-back wanted beyond what the buyer's balance "
                                        "held (major units): the balance never goes below zero")


class TopUpIn(Input):
    amount: Amount = Field(description="Major units, within the store's top-up limits")
    payment_method: str | None = Field(default=None, max_length=20,
                                       validation_alias=AliasChoices("payment_method", "paymentMethod", "method"),
                                       description="STRIPE or HOODPAY (the only one the store takes, if left out)")


class TopUpOut(Output):
    id: str
    amount: float
    currency: str
    payment_method: str
    status: str
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, topup: BalanceTopUp) -> TopUpOut:
        return cls(id=topup.id, amount=to_major(topup.amount, topup.currency), currency=topup.currency,
                   payment_method=topup.payment_method, status=topup.status, created_at=topup.created_at,
                   paid_at=topup.paid_at)


class TopUpStartOut(Output):
    topup: TopUpOut
    redirect_url: str


class ConnectStatusOut(Output):
    connected: bool
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: list[str]
    uses_platform_account: bool
    ready: bool
    reason: str | None


class OnboardIn(Input):
    return_url: str | None = Field(default=None, max_length=500, description="Where Stripe sends the admin back")
    refresh_url: str | None = Field(default=None, max_length=500, description="Where an expired link sends them")


class LinkOut(Output):
    url: str


class MoneyOut(Output):
    amount: float
    currency: str


class BalanceOut(Output):
    available: list[MoneyOut]
    pending: list[MoneyOut]


class LimitQuery(Query):
    limit: int = Field(20, ge=1, le=100)


class StripeTransactionOut(Output):
    id: str
    amount: float
    net: float | None = None
    fee: float | None = None
    currency: str
    type: str | None = None
    status: str | None = None
    description: str | None = None
    created: str | None = None


class PayoutOut(Output):
    id: str
    amount: float
    currency: str
    status: str | None = None
    arrival_date: str | None = None
    created: str | None = None
    description: str | None = None


class ListOut(Output):
    items: list[StripeTransactionOut]


class PayoutListOut(Output):
    items: list[PayoutOut]


class PayoutIn(Input):
    amount: Amount = Field(description="Major units")
    currency: str | None = Field(default=None, min_length=3, max_length=3, description="The store's currency if left out")
    idempotency_key: str | None = Field(default=None, max_length=100,
                                        description="Send the same key again to repeat a request safely")


class MethodStateOut(Output):
    name: str
    label: str
    enabled: bool
    problem: str | None = Field(description="Why it cannot take payments now (None: ready)")


class MethodsOut(Output):
    items: list[MethodStateOut]


class MethodsIn(Input):
    methods: dict[Literal["BALANCE", "MANUAL", "STRIPE", "HOODPAY"], bool]


class HoodpaySettingsIn(Input):
    api_key: str | None = Field(default=None, max_length=500, description="Leave out to keep the saved key")
    business_id: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=500, description="Leave out to keep the saved one")


class HoodpaySettingsOut(Output):
    configured: bool
    from_environment: bool
    business_id: str | None
    api_key_hint: str | None
    webhook_secret_hint: str | None
    webhook_url: str | None


class WebhookReceiptOut(Output):
    received: bool
    id: str
    duplicate: bool
    status: str


class EventQuery(PageQuery):
    provider: Literal["STRIPE", "HOODPAY", "stripe", "hoodpay"] | None = None
    status: Literal["RECEIVED", "PROCESSED", "IGNORED", "REFUSED", "FAILED"] | None = None
    type: str | None = Field(default=None, max_length=80)
    search: str | None = Field(default=None, max_length=120)


class WebhookEventOut(Output):
    id: str
    provider: str
    event_id: str
    type: str
    status: str
    result: str
    error: str | None
    signature: str
    account_ref: str | None
    object_ref: str | None
    order_id: str | None
    order_number: int | None = None
    topup_id: str | None
    payment_id: str | None
    deliveries: int
    attempts: int
    created_at: datetime
    processed_at: datetime | None
    payload: str | None = Field(default=None, description="The raw body as received (one event only)")

    @classmethod
    def of(cls, row: WebhookEvent, *, numbers: dict[str, int] | None = None, with_payload: bool = False):
        return cls(id=row.id, provider=row.provider, event_id=row.event_id, type=row.type, status=row.status,
                   result=row.result, error=row.error, signature=row.signature, account_ref=row.account_ref,
                   object_ref=row.object_ref, order_id=row.order_id,
                   order_number=(numbers or {}).get(row.order_id) if row.order_id else None,
                   topup_id=row.topup_id, payment_id=row.payment_id, deliveries=row.deliveries,
                   attempts=row.attempts, created_at=row.created_at, processed_at=row.processed_at,
                   payload=row.payload if with_payload else None)
