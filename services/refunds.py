"""Refunds, full or partial: to the card (through the provider that took the money) or to the
buyer's store balance. A refund never exceeds what was paid: the amount is reserved on the order
with one guarded UPDATE, so two admins refunding at once cannot refund more than the total.
Delivered codes are not taken back; the order shows each refund and who made it. A review reward
paid for the order loses the share a refund removes (``reviews.settle_reward``), and gets it back
when the refund fails.

A card refund is sent by a job (``jobs.payments.send_refund``) with the idempotency key
``refund:<refund id>``: a retried job never refunds twice. If the provider refuses it, the
reservation is released and the admins are told.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from extensions import db
from integrations.base import ProviderError
from models import Order, Payment, Refund, Store, User
from transactions import enqueue_after_commit

from . import balance, orders, payment_accounts, reviews
from .errors import Conflict, Invalid, NotFound
from .money import format_money, major_amounts
from .payments import REFUND_EMAIL, confirm_refund, settle

DESTINATIONS = ("original", "provider", "balance")
SEND_REFUND = "jobs.payments.send_refund"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Refunded:
    """A refund made, and what it did to the review reward paid for the order (``reward``: None
    when it moved nothing; ``reviews.settle_reward``)."""

    refund: Refund
    reward: reviews.RewardChange | None = None


def paid_payment(order: Order) -> Payment | None:
    """The provider payment that paid the order (the one a card refund goes back to)."""
    return db.session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status == "SUCCEEDED")
                             .order_by(Payment.succeeded_at).limit(1))


def refundable(order: Order) -> int:
    return max(order.total - order.amount_refunded, 0)


def refund(store: Store, order: Order, *, amount: int | None, destination: str = "original", reason: str = "",
           actor: User) -> Refunded:
    """Refund ``amount`` (minor units; None = everything left) of a paid order. A review reward paid
    for the order loses the share the refund removes, in the same transaction (``reviews.settle_reward``;
    a balance refund is credited first)."""
    destination = (destination or "original").strip().lower()
    if destination not in DESTINATIONS:
        raise Invalid("Refund to the original payment or to the buyer's balance",
                      details={"destination": [f"one of: {', '.join(DESTINATIONS)}"]})
    if order.dispute_status == "open":
        raise Conflict("This order is disputed: answer the dispute at Stripe; refunds resume when it closes",
                       code="order_disputed")
    if order.payment_status == "REFUNDED":
        raise Conflict("This order is already fully refunded", code="already_refunded")
    if order.payment_status not in ("PAID", "PARTIALLY_REFUNDED"):
        raise Conflict(f"Only a paid order can be refunded (this one is {order.payment_status})",
                       code="order_not_paid")
    left = refundable(order)
    if left == 0:  # paid, yet nothing was charged: a gift, or an order that cost nothing
        what = "a gift" if order.is_gift else "it cost nothing"
        raise Conflict(f"Nothing was paid for this order ({what}): there is nothing to refund",
                       code="nothing_to_refund", details=major_amounts(order.currency, refundable=0))
    if amount is None:
        amount = left
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Invalid("The refund amount must be positive", details={"amount": ["must be positive"]})
    if amount > left:
        raise Invalid("At most {left} can be refunded on this order", amounts={"left": (left, order.currency)},
                      code="refund_exceeds_paid", details={"amount": ["at most {left}"],
                                                           **major_amounts(order.currency, refundable=left)})
    payment = paid_payment(order)
    if destination == "original":
        destination = "provider" if payment is not None else "balance"
    if destination == "provider" and payment is None:
        raise Invalid("This order was not paid through a payment provider: refund it to the buyer's balance",
                      details={"destination": ["no card or crypto payment to refund"]})
    if destination == "provider" and payment.provider == "HOODPAY":
        raise Invalid("Crypto payments cannot be refunded automatically: refund to the buyer's balance, or pay "
                      "them back from your wallet and record it", code="refund_unsupported",
                      details={"destination": ["use balance"]})
    if destination == "balance" and not order.buyer_id:
        raise Invalid("A guest has no balance: refund to the original payment",
                      details={"destination": ["the buyer has no account"]})
    reason = (reason or "").strip()[:500]
    # the reservation: never more than the total, even when two refunds race
    reserved = db.session.execute(
        update(Order).where(Order.id == order.id, Order.amount_refunded + amount <= Order.total,
                            Order.payment_status.in_(("PAID", "PARTIALLY_REFUNDED")))
        .values(amount_refunded=Order.amount_refunded + amount).execution_options(synchronize_session=False)).rowcount
    if reserved != 1:  # another refund took it first: say what is left now, as a sequential refund would
        db.session.refresh(order, ["amount_refunded", "payment_status"])
        left = refundable(order)
        raise Invalid("At most {left} can be refunded on this order", amounts={"left": (left, order.currency)},
                      code="refund_exceeds_paid", details={"amount": ["at most {left}"],
                                                           **major_amounts(order.currency, refundable=left)})
    row = Refund(order_id=order.id, payment_id=payment.id if destination == "provider" else None, amount=amount,
                 currency=order.currency, destination=destination, reason=reason, created_by_id=actor.id,
                 status="PENDING")
    db.session.add(row)
    db.session.flush()
    where = "to the buyer's balance" if destination == "balance" else f"to the {payment.provider.title()} payment"
    if destination == "balance":
        balance.credit(order.buyer_id, amount, "refund", order_id=order.id,
                       reason=f"Refund of order #{order.order_number}", actor_id=actor.id)
        row.status, row.completed_at = "SUCCEEDED", _now()
        enqueue_after_commit(REFUND_EMAIL, row.id, queue="emails")
    else:
        enqueue_after_commit(SEND_REFUND, row.id, queue="default")  # the buyer is emailed once it succeeds
    orders.event(order, "refund", f"Refund of {format_money(amount, order.currency)} {where} by {actor.username}"
                 + (f": {reason}" if reason else ""), actor=actor, refund_id=row.id, destination=destination)
    settle(order)
    return Refunded(row, reviews.settle_reward(order, actor=actor))


def send(refund_id: str) -> str:
    """The job's work: ask the provider for a PENDING card refund (idempotent)."""
    row = db.session.get(Refund, refund_id)
    if row is None or row.status != "PENDING" or row.destination != "provider":
        return "nothing to send"
    payment = db.session.get(Payment, row.payment_id) if row.payment_id else None
    order = db.session.get(Order, row.order_id)
    if payment is None or order is None:
        return fail(row, "the payment is gone")
    gateway = payment_accounts.stripe_gateway(payment.account_ref)
    ref = payment.intent_ref
    try:
        if not ref:
            ref = gateway.payment_state(payment.provider_ref).charge_ref
            payment.intent_ref = ref
        result = gateway.refund(ref, row.amount, idempotency_key=f"refund:{row.id}", reason=row.reason)
    except ProviderError as exc:
        if exc.retryable:
            raise  # the job retries with the same key
        return fail(row, str(exc))
    row.provider_ref = result.ref
    if result.status == "failed":
        return fail(row, "the provider could not refund it")
    if result.status == "succeeded":
        confirm_refund(row)
    db.session.flush()
    return f"refund {row.id} {result.status} at the provider ({result.ref})"


def fail_by_id(refund_id: str, reason: str) -> str:
    row = db.session.get(Refund, refund_id)
    return fail(row, reason) if row is not None else "no such refund"


def fail(row: Refund, reason: str) -> str:
    """A refund the provider refused: release its reservation and tell the admins."""
    # PENDING -> FAILED once, by a guarded UPDATE (as ``confirm_refund`` goes to SUCCEEDED): a second
    # failure, or one racing the provider's confirmation, finds it settled and releases nothing
    failed = db.session.execute(update(Refund).where(Refund.id == row.id, Refund.status == "PENDING")
                                .values(status="FAILED", failure_reason=reason[:500])
                                .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(row, ["status", "failure_reason"])
    if failed != 1:
        return "already settled"
    db.session.execute(update(Order).where(Order.id == row.order_id, Order.amount_refunded >= row.amount)
                       .values(amount_refunded=Order.amount_refunded - row.amount)
                       .execution_options(synchronize_session=False))
    order = db.session.get(Order, row.order_id, populate_existing=True)
    message = f"Refund of {format_money(row.amount, row.currency)} failed: {reason}"
    orders.event(order, "refund_failed", message, refund_id=row.id)
    settle(order)
    reviews.settle_reward(order)  # the buyer keeps more again: a reward this refund cut comes back
    enqueue_after_commit("jobs.emails.send_admin_alert", f"Refund failed on order #{order.order_number}", message,
                         order.id, queue="emails")
    return message


def refunds_of(order_id: str) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.created_at)))


def get_refund(refund_id: str) -> Refund:
    row = db.session.get(Refund, refund_id)
    if row is None:
        raise NotFound("No such refund", code="refund_not_found")
    return row
