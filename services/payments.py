"""Payments: which methods a shopper can use, starting a provider payment for an order or a
top-up, and what a provider's event means for them.

A method can be used when the store has enabled it AND it is configured (Stripe: the platform's
keys and the store's Connect account with charges enabled; Hoodpay: the store's keys). An admin
cannot enable a method that is not configured, and is told why.

What an event does is decided by a transition table, as Indico's payment transitions do: the
pair (where the order or top-up stands, what the provider says) names one action. Paid is final:
a late failure, an expiry or a replay of the success changes nothing. Every action is written so
that applying the same fact twice, or two copies at once, changes things once (guarded UPDATEs).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from extensions import db
from integrations import base as facts
from integrations.base import Fact, PaymentRequest, ProviderError
from models import PAYMENT_METHODS, BalanceTopUp, Order, OrderLine, Payment, Refund, StockItem, Store, User, Variant
from transactions import enqueue_after_commit

from . import balance, coupons, metrics, moloni, orders, payment_accounts, reviews, stock
from .errors import Conflict, DomainError, Invalid
from .money import format_money
from .stores import base_url, settings_of, update_settings

LABELS = {"BALANCE": "Account balance", "MANUAL": "Manual payment", "STRIPE": "Card (Stripe)",
          "HOODPAY": "Crypto (Hoodpay)"}
HINTS = {"MANUAL": "Pay the store directly; your items are delivered once it confirms the payment.",
         "STRIPE": "You pay on Stripe's secure page and come straight back to your order.",
         "HOODPAY": "You pay in crypto on Hoodpay's page; your items arrive once the payment confirms."}
PROVIDER_METHODS = ("STRIPE", "HOODPAY")
assert set(LABELS) == set(PAYMENT_METHODS)


def _now() -> datetime:
    return datetime.now(UTC)


# --- which methods ---------------------------------------------------------------------------

def enabled_methods(store: Store) -> list[str]:
    """What the store offers (its settings), in the canonical order."""
    return settings_of(store).enabled_methods()


def usable_methods(store: Store) -> list[str]:
    """What a shopper can pay with right now: enabled by the store and configured."""
    return [m for m in enabled_methods(store) if payment_accounts.readiness(store, m) is None]


def check_method(store: Store, method: str | None, *, buyer: User | None) -> str:
    """The method, upper-cased, if this buyer can pay with it now; otherwise a clear refusal."""
    method = (method or "").strip().upper()
    usable = usable_methods(store)
    if method not in usable:
        if method not in LABELS:
            sentence = f"{method or 'That'} is not a payment method this store takes"
        elif method in enabled_methods(store):
            sentence = f"{LABELS[method]} is not available at this store right now"
        else:
            sentence = f"{LABELS[method]} is not offered by this store"
        raise Invalid(sentence, code="payment_method_unavailable",
                      details={"payment_method": [f"use one of: {', '.join(usable) or 'none'}"]})
    if method == "BALANCE" and buyer is None:
        raise Invalid("Sign in to pay with your balance", code="balance_needs_account",
                      details={"payment_method": ["sign in to pay with your balance"]})
    return method


def options(store: Store, buyer: User | None, total: int) -> list[dict]:
    """The checkout page's choices: the methods a shopper can use (enabled and configured), with
    whether this buyer can choose each and why not (balance: signed in, enough of it)."""
    out = []
    for name in usable_methods(store):
        ready, hint = True, HINTS.get(name, "")
        if name == "BALANCE":
            if buyer is None:
                ready, hint = False, "Sign in to pay with your balance"
            elif buyer.balance < total:
                hint = "Your balance is too low for this order"
        out.append({"name": name, "label": LABELS[name], "ready": ready, "hint": hint,
                    "affordable": name != "BALANCE" or (buyer is not None and buyer.balance >= total)})
    return out


def method_states(store: Store) -> list[dict]:
    """For the admin: each method, whether it is enabled, and whether (or why not) it can be."""
    enabled = set(enabled_methods(store))
    return [{"name": name, "label": LABELS[name], "enabled": name in enabled,
             "problem": payment_accounts.readiness(store, name)} for name in PAYMENT_METHODS]


def set_methods(store: Store, wanted: dict[str, bool]) -> list[dict]:
    """Enable or disable methods. Enabling one that is not configured is refused with the reason."""
    unknown = [name for name in wanted if name not in LABELS]
    if unknown:
        raise Invalid("Unknown payment method", details={name: ["unknown"] for name in unknown})
    current = {m["name"]: m["enabled"] for m in method_states(store)}
    problems = {name: [payment_accounts.readiness(store, name)] for name, on in wanted.items()
                if on and not current[name] and payment_accounts.readiness(store, name)}
    if problems:
        first = next(iter(problems))
        raise Invalid(f"{LABELS[first]} cannot be enabled yet: {problems[first][0]}",
                      code="payment_method_not_configured", details=problems)
    current.update(wanted)
    update_settings(store, {"payment_methods": [{"name": n, "enabled": on} for n, on in current.items()]})
    return method_states(store)


# --- starting a payment ------------------------------------------------------------------------

def can_pay_now(store: Store, order: Order) -> bool:
    """Whether the order page offers "Pay now" (an unpaid provider order whose method works)."""
    return (order.status == "PENDING" and order.payment_status == "UNPAID" and order.total > 0
            and order.payment_method in PROVIDER_METHODS and payment_accounts.readiness(store, order.payment_method) is None)


def attempt_over(order: Order) -> bool:
    """Whether the order's latest provider payment attempt ended unpaid (cancelled, failed or its
    page expired): a shopper sent back "done" (Hoodpay has no cancel address) is then told so and
    offered Pay now, not left on a page that waits for a confirmation that will never come."""
    status = db.session.scalar(select(Payment.status).where(Payment.order_id == order.id)
                               .order_by(Payment.created_at.desc()).limit(1))
    return status in ("FAILED", "EXPIRED")


def hoodpay_webhook_url(store: Store) -> str:
    return f"{base_url(store)}/api/webhooks/hoodpay"


def _open_attempt(order_id: str | None, topup_id: str | None, provider: str, kind: str) -> Payment | None:
    """A pending attempt that can be offered again (Pay now twice is one hosted page)."""
    stmt = select(Payment).where(Payment.provider == provider, Payment.kind == kind, Payment.status == "PENDING",
                                 Payment.provider_ref.isnot(None))
    stmt = stmt.where(Payment.order_id == order_id) if order_id else stmt.where(Payment.topup_id == topup_id)
    return db.session.scalar(stmt.order_by(Payment.created_at.desc()).limit(1))


def _start(store: Store, payment: Payment, request: PaymentRequest, *, what: str) -> str | None:
    """Ask the provider for the payment (key ``payment:<id>``: a retry creates nothing new).
    Returns the PaymentIntent's client secret (for ``intent``; never stored)."""
    account = None
    if payment.provider == "STRIPE":
        account = payment_accounts.stripe_target(store)[1]
    gateway = payment_accounts.gateway_for(store, payment.provider)
    try:
        if payment.kind == "intent":
            created = gateway.create_intent(request, idempotency_key=f"payment:{payment.id}")
            payment.intent_ref = created.ref
        else:
            created = gateway.create_payment(request, idempotency_key=f"payment:{payment.id}")
    except ProviderError as exc:
        raise payment_accounts.provider_failure(exc, what) from exc
    payment.provider_ref, payment.redirect_url, payment.account_ref = created.ref, created.redirect_url, account
    db.session.flush()
    return created.client_secret


def start_order_payment(store: Store, order: Order, *, success_url: str, cancel_url: str) -> Payment:
    """A hosted payment page for an unpaid order (the same page again while it is open)."""
    _check_payable(order)
    existing = _open_attempt(order.id, None, order.payment_method, "checkout")
    if existing is not None and existing.amount == order.total:
        return existing
    _close_others(order, keep=None)
    payment = _order_attempt(store, order, "checkout", success_url, cancel_url)
    return payment


def start_intent(store: Store, order: Order) -> tuple[Payment, str]:
    """A Stripe PaymentIntent for an unpaid card order, for clients that collect the card
    themselves: the attempt and its client secret (shown once, never stored)."""
    _check_payable(order)
    if order.payment_method != "STRIPE":
        raise Conflict("A PaymentIntent is for card payments (Stripe)", code="order_not_payable")
    existing = _open_attempt(order.id, None, "STRIPE", "intent")
    if existing is not None and existing.amount == order.total:
        # asked again (a reload, a retry): the same intent, so the shopper cannot pay two
        return existing, _reopen_intent(store, existing)
    _close_others(order, keep=None)
    page = base_url(store) + orders.order_path(order)
    payment = Payment(provider="STRIPE", purpose="order", kind="intent", order_id=order.id, amount=order.total,
                      currency=order.currency)
    secret = _order_request(store, order, payment, page, page)
    return payment, secret or ""


def _close_others(order: Order, *, keep: Payment | None) -> None:
    """One open way to pay an order at a time: before a new page or intent, close the open ones
    (a shopper who could pay two would pay twice). One that can no longer be closed has been paid
    meanwhile: then no new one is started."""
    try:
        closed = _close_attempts(order.id, keep=keep)
    except ProviderError as exc:
        raise payment_accounts.provider_failure(exc, "Starting the payment") from exc
    if closed is None:
        raise Conflict("This order was just paid: its payment is being confirmed. Reload the order in a moment",
                       code="order_not_payable")


def _check_payable(order: Order) -> None:
    if order.payment_method not in PROVIDER_METHODS:
        raise Conflict(f"This order is paid by {LABELS.get(order.payment_method, order.payment_method)}, "
                       "not through a payment provider", code="order_not_payable")
    if order.payment_status != "UNPAID" or order.status != "PENDING":
        raise Conflict(f"This order cannot be paid now (it is {order.status}, {order.payment_status})",
                       code="order_not_payable")
    if order.total <= 0:
        raise Conflict("This order has nothing to pay", code="order_not_payable")


def _order_attempt(store: Store, order: Order, kind: str, success_url: str, cancel_url: str) -> Payment:
    payment = Payment(provider=order.payment_method, purpose="order", kind=kind, order_id=order.id,
                      amount=order.total, currency=order.currency)
    _order_request(store, order, payment, success_url, cancel_url)
    return payment


def _order_request(store: Store, order: Order, payment: Payment, success_url: str, cancel_url: str) -> str | None:
    db.session.add(payment)
    db.session.flush()
    request = PaymentRequest(
        amount=order.total, currency=order.currency, description=f"Order #{order.order_number} at {store.name}",
        success_url=success_url, cancel_url=cancel_url, notify_url=hoodpay_webhook_url(store), email=order.email,
        metadata={"store_id": store.id, "payment_id": payment.id, "purpose": "order", "order_id": order.id,
                  "order_number": str(order.order_number)})
    secret = _start(store, payment, request, what="Starting the payment")
    orders.event(order, "payment_started", f"Payment started with {LABELS[order.payment_method]}",
                 payment_id=payment.id, provider_ref=payment.provider_ref)
    return secret


def _reopen_intent(store: Store, payment: Payment) -> str:
    """The client secret of an open PaymentIntent (not stored: read back from Stripe)."""
    gateway = payment_accounts.gateway_for(store, payment.provider, account=payment.account_ref)
    try:
        return gateway.reopen_intent(payment.provider_ref).client_secret or ""
    except ProviderError as exc:
        raise payment_accounts.provider_failure(exc, "Starting the payment") from exc


def start_topup_payment(store: Store, topup: BalanceTopUp, user: User, *, success_url: str,
                        cancel_url: str) -> Payment:
    payment = Payment(provider=topup.payment_method, purpose="topup", kind="checkout", topup_id=topup.id,
                      amount=topup.amount, currency=topup.currency)
    db.session.add(payment)
    db.session.flush()
    request = PaymentRequest(
        amount=topup.amount, currency=topup.currency, description=f"Balance top-up at {store.name}",
        success_url=success_url, cancel_url=cancel_url, notify_url=hoodpay_webhook_url(store), email=user.email,
        metadata={"store_id": store.id, "payment_id": payment.id, "purpose": "topup", "topup_id": topup.id})
    _start(store, payment, request, what="Starting the top-up")
    topup.provider_ref = payment.provider_ref
    db.session.flush()
    return payment


# --- what an event means ------------------------------------------------------------------------

@dataclass
class Outcome:
    status: str  # PROCESSED | IGNORED | REFUSED (WebhookEvent statuses)
    result: str  # one sentence for the inspector
    payment: Payment | None = None
    order_id: str | None = None
    topup_id: str | None = None


def _refused(reason: str, payment: Payment | None = None) -> Outcome:
    return Outcome("REFUSED", reason, payment, payment.order_id if payment else None,
                   payment.topup_id if payment else None)


# (where the order stands, what the provider says) -> action. Anything not listed is refused.
ORDER_TRANSITIONS: dict[str, dict[str, str]] = {
    "UNPAID": {facts.PAYMENT_SUCCEEDED: "pay", facts.PAYMENT_FAILED: "note_failure",
               facts.PAYMENT_EXPIRED: "note_expiry"},
    "PAID": {facts.PAYMENT_SUCCEEDED: "noop_paid", facts.PAYMENT_FAILED: "noop_paid",
             facts.PAYMENT_EXPIRED: "noop_paid", facts.REFUNDED: "record_refund",
             facts.DISPUTE_OPENED: "open_dispute", facts.DISPUTE_CLOSED: "close_dispute"},
    "DISPUTED": {facts.PAYMENT_SUCCEEDED: "noop_paid", facts.PAYMENT_FAILED: "noop_paid",
                 facts.PAYMENT_EXPIRED: "noop_paid", facts.REFUNDED: "record_refund",
                 facts.DISPUTE_OPENED: "open_dispute", facts.DISPUTE_CLOSED: "close_dispute"},
}
ORDER_TRANSITIONS["PARTIALLY_REFUNDED"] = ORDER_TRANSITIONS["PAID"]
ORDER_TRANSITIONS["REFUNDED"] = ORDER_TRANSITIONS["PAID"]

TOPUP_TRANSITIONS: dict[str, dict[str, str]] = {
    "PENDING": {facts.PAYMENT_SUCCEEDED: "credit", facts.PAYMENT_FAILED: "fail_topup",
                facts.PAYMENT_EXPIRED: "expire_topup"},
    "FAILED": {facts.PAYMENT_SUCCEEDED: "credit", facts.PAYMENT_FAILED: "noop",
               facts.PAYMENT_EXPIRED: "expire_topup"},
    "EXPIRED": {facts.PAYMENT_SUCCEEDED: "credit", facts.PAYMENT_FAILED: "noop", facts.PAYMENT_EXPIRED: "noop"},
    "PAID": {facts.PAYMENT_SUCCEEDED: "noop_paid", facts.PAYMENT_FAILED: "noop_paid",
             facts.PAYMENT_EXPIRED: "noop_paid"},
}


def find_payment(provider: str, fact: Fact) -> Payment | None:
    """The bound store's attempt the fact is about: by the id we attached, else by the provider's ids."""
    payment_id = (fact.metadata or {}).get("payment_id")
    if payment_id:
        payment = db.session.scalar(select(Payment).where(Payment.id == str(payment_id)[:36],
                                                          Payment.provider == provider))
        if payment is not None:
            return payment
    refs = [r for r in (fact.ref, fact.alt_ref) if r]
    if not refs:
        return None
    return db.session.scalar(select(Payment).where(
        Payment.provider == provider, (Payment.provider_ref.in_(refs)) | (Payment.intent_ref.in_(refs)))
        .order_by(Payment.created_at).limit(1))


def _check_money(payment: Payment, fact: Fact) -> str | None:
    """Why the fact's amount or currency cannot be this payment's (None when they fit)."""
    if fact.currency and fact.currency.upper() != payment.currency:
        return f"currency {fact.currency.upper()} does not match the payment's {payment.currency}"
    if fact.amount is None:
        return None
    if fact.kind == facts.PAYMENT_SUCCEEDED and fact.amount != payment.amount:
        return (f"amount {format_money(fact.amount, payment.currency)} does not match the payment's "
                f"{format_money(payment.amount, payment.currency)}")
    if fact.kind in (facts.REFUNDED, facts.DISPUTE_OPENED) and not 0 <= fact.amount <= payment.amount:
        return f"amount {format_money(fact.amount, payment.currency)} is more than was paid"
    return None


def apply_fact(provider: str, fact: Fact) -> Outcome:
    """Apply one provider fact to the bound store's order or top-up, through the tables above."""
    payment = find_payment(provider, fact)
    if payment is None:
        return _refused("no payment of this store matches this event")
    problem = _check_money(payment, fact)
    if problem:
        return _refused(problem, payment)
    if fact.alt_ref and payment.kind == "checkout" and not payment.intent_ref and fact.alt_ref.startswith("pi_"):
        payment.intent_ref = fact.alt_ref
    if fact.kind == facts.PAYMENT_SUCCEEDED and fact.ref and fact.ref.startswith("pi_") and not payment.intent_ref:
        payment.intent_ref = fact.ref
    if payment.purpose == "topup":
        return _apply_to_topup(payment, fact)
    return _apply_to_order(payment, fact)


def _lock_order(order_id: str) -> Order | None:
    """The order, locked for this transaction (two events for one order apply one after the other)."""
    stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _apply_to_order(payment: Payment, fact: Fact) -> Outcome:
    order = _lock_order(payment.order_id) if payment.order_id else None
    if order is None:
        return _refused("the order of this payment no longer exists", payment)
    action = ORDER_TRANSITIONS.get(order.payment_status, {}).get(fact.kind)
    if action is None:
        return _refused(f"a {fact.kind.replace('_', ' ')} cannot apply to an order that is {order.payment_status}",
                        payment)
    result = ACTIONS[action](order, payment, fact)
    status = "IGNORED" if action.startswith("noop") else "PROCESSED"
    return Outcome(status, result, payment, order.id, None)


def _mark_attempt(payment: Payment, status: str, reason: str | None = None) -> None:
    if payment.status == "SUCCEEDED" and status != "SUCCEEDED":
        return  # paid is final for the attempt too
    if status == "SUCCEEDED" and payment.status != "SUCCEEDED":
        metrics.payment_confirmed(payment.provider, payment.purpose)  # counted when this commits
    payment.status = status
    if status == "SUCCEEDED":
        payment.succeeded_at = payment.succeeded_at or _now()
    if reason:
        payment.failure_reason = reason[:500]
    db.session.flush()


def _pay(order: Order, payment: Payment, fact: Fact) -> str:
    _mark_attempt(payment, "SUCCEEDED")
    via = f"{LABELS[payment.provider]} ({payment.provider_ref})"
    if order.status == "PENDING":
        if orders.mark_paid(order, via=via, provider_ref=payment.provider_ref):
            return f"order #{order.order_number} paid and delivered"
        return f"order #{order.order_number} was already paid"
    return _pay_late(order, payment, via)


def _pay_late(order: Order, payment: Payment, via: str) -> str:
    """Money arrived for an order that lapsed meanwhile (its stock went back). An EXPIRED order
    takes its stock (and its coupon use) again and is delivered when there is enough; otherwise,
    and for an order a person CANCELLED or FAILED (which must stay so), the money is kept on
    record (PAID, so it can be refunded) and the admins are told to deliver or refund by hand."""
    if order.status in ("CANCELLED", "FAILED"):
        claimed = db.session.execute(
            update(Order).where(Order.id == order.id, Order.payment_status == "UNPAID")
            .values(payment_status="PAID", paid_at=_now(), provider_ref=payment.provider_ref)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return f"order #{order.order_number} changed meanwhile; nothing done"
        db.session.refresh(order)
        orders.record_sale(order)
        message = (f"Paid by {via} after the order was {order.status.lower()}: nothing was delivered. "
                   "Refund the buyer")
        orders.event(order, "paid_late", message)
        enqueue_after_commit(ADMIN_ALERT, f"Order #{order.order_number} paid after it was {order.status.lower()}",
                             message, order.id, queue="emails")
        return f"order #{order.order_number} is {order.status} but was paid: money recorded, admins told to refund"
    lines = list(db.session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                    .order_by(OrderLine.position)))
    reclaimed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.payment_status == "UNPAID", Order.status == "EXPIRED")
        .values(status="PENDING", cancelled_at=None).execution_options(synchronize_session=False)).rowcount
    if reclaimed != 1:
        return f"order #{order.order_number} changed meanwhile; nothing done"
    db.session.refresh(order)
    try:
        with db.session.begin_nested():
            for line in lines:
                variant = db.session.get(Variant, line.variant_id) if line.variant_id else None
                if variant is None or variant.deleted_at is not None:
                    raise Conflict("the product is gone", code="out_of_stock")
                stock.allocate(order, line, variant, line.quantity)
            coupons.restore(order)
    except DomainError:
        short = True
    else:
        short = False
    if not short:
        orders.mark_paid(order, via=via + ", after the order had lapsed", provider_ref=payment.provider_ref)
        return f"order #{order.order_number} was {order.status} when paid: stock taken again, paid and delivered"
    order.payment_status, order.status, order.paid_at = "PAID", "PROCESSING", _now()
    order.provider_ref = payment.provider_ref
    orders.record_sale(order, lines)
    message = (f"Paid by {via} after the order had lapsed, but its items are no longer in stock: "
               "deliver by hand or refund")
    orders.event(order, "paid_late", message)
    db.session.flush()
    enqueue_after_commit(ADMIN_ALERT, f"Order #{order.order_number} paid after it lapsed", message, order.id,
                         queue="emails")
    return f"order #{order.order_number} paid after it lapsed; out of stock, admins told"


def _note_failure(order: Order, payment: Payment, fact: Fact) -> str:
    """A declined card: Stripe keeps the page (or the intent) open for another try, so the attempt
    stays PENDING (offered again, closed with the order); only the reason is noted. A Hoodpay
    payment that is cancelled is over."""
    reason = (fact.detail or {}).get("reason") or "declined"
    if payment.provider == "HOODPAY":
        _mark_attempt(payment, "FAILED", reason)  # a cancelled Hoodpay payment is over: pay now opens a new one
    else:
        payment.failure_reason = reason[:500]
        db.session.flush()
    orders.event(order, "payment_failed", f"Payment failed: {reason}"[:500], payment_id=payment.id)
    return f"payment failed ({reason}); order #{order.order_number} still awaits payment"


def _note_expiry(order: Order, payment: Payment, fact: Fact) -> str:
    _mark_attempt(payment, "EXPIRED")
    return f"payment page expired; order #{order.order_number} still awaits payment until it expires"


def _noop_paid(order: Order, payment: Payment, fact: Fact) -> str:
    if fact.kind == facts.PAYMENT_SUCCEEDED and payment.status != "SUCCEEDED":
        # another attempt of an order already paid: money taken twice, a person must give it back
        _mark_attempt(payment, "SUCCEEDED")
        message = (f"A second payment ({LABELS[payment.provider]} {payment.provider_ref}) arrived for order "
                   f"#{order.order_number}, which was already paid: refund it at the provider")
        orders.event(order, "duplicate_payment", message, payment_id=payment.id)
        enqueue_after_commit(ADMIN_ALERT, f"Order #{order.order_number} paid twice", message, order.id,
                             queue="emails")
        return "second payment for a paid order: recorded, admins told"
    return f"order #{order.order_number} is {order.payment_status}: nothing to change"


def settled_payment_status(order: Order) -> str:
    if order.dispute_status in ("open", "lost"):
        return "DISPUTED"
    if order.total and order.amount_refunded >= order.total:
        return "REFUNDED"
    return "PARTIALLY_REFUNDED" if order.amount_refunded > 0 else "PAID"


def settle(order: Order) -> None:
    """Payment status (and REFUNDED status) from the order's amounts and dispute."""
    db.session.refresh(order, ["amount_refunded", "dispute_status", "payment_status", "status"])
    order.payment_status = settled_payment_status(order)
    if order.payment_status == "REFUNDED" and order.status != "REFUNDED":
        order.status, order.refunded_at = "REFUNDED", order.refunded_at or _now()
        moloni.on_refunded(order)  # its Moloni invoice gets a credit note, once
    db.session.flush()


def confirm_refund(refund: Refund) -> bool:
    """A card refund the provider confirmed (the refund's answer or ``charge.refunded``, whichever
    comes first): SUCCEEDED once, and only then is the buyer told that money is on its way."""
    done = db.session.execute(update(Refund).where(Refund.id == refund.id, Refund.status == "PENDING")
                              .values(status="SUCCEEDED", completed_at=_now())
                              .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(refund, ["status", "completed_at"])
    if done == 1:
        enqueue_after_commit(REFUND_EMAIL, refund.id, queue="emails")
    return done == 1


def _record_refund(order: Order, payment: Payment, fact: Fact) -> str:
    """``charge.refunded`` carries the payment's refunded total. Refunds we made are confirmed;
    what exceeds them was refunded at the provider (its dashboard) and is booked here."""
    total = int(fact.amount or 0)
    if payment.provider_ref != order.provider_ref:
        # a second payment of an order already paid (refunded as its alert asked): not the order's money
        if total > payment.amount_refunded:
            payment.amount_refunded = total
            orders.event(order, "refund", f"The second payment {payment.provider_ref} was refunded at "
                         f"{LABELS[payment.provider]} ({format_money(total, payment.currency)})")
        db.session.flush()
        return f"second payment of order #{order.order_number} refunded; the order's payment is untouched"
    ours = list(db.session.scalars(select(Refund).where(Refund.payment_id == payment.id,
                                                        Refund.destination == "provider",
                                                        Refund.status != "FAILED")))
    known = sum(r.amount for r in ours)
    for refund in ours:
        if refund.status == "PENDING" and total >= known:
            confirm_refund(refund)
    if total > payment.amount_refunded:
        payment.amount_refunded = total
    extra = total - known
    if extra <= 0:
        db.session.flush()
        return f"refund of order #{order.order_number} confirmed ({format_money(total, payment.currency)} in all)"
    grown = db.session.execute(
        update(Order).where(Order.id == order.id, Order.amount_refunded + extra <= Order.total)
        .values(amount_refunded=Order.amount_refunded + extra).execution_options(synchronize_session=False)).rowcount
    if grown != 1:
        return _refused_text(order, "the provider reports more refunded than the order's total")
    db.session.add(Refund(order_id=order.id, payment_id=payment.id, amount=extra, currency=payment.currency,
                          destination="provider", status="SUCCEEDED", reason="Refunded at the provider",
                          completed_at=_now()))
    orders.event(order, "refund", f"Refunded {format_money(extra, payment.currency)} at {LABELS[payment.provider]}",
                 destination="provider")
    db.session.flush()
    settle(order)
    reviews.settle_reward(order)  # a review reward loses the share this refund removes
    return f"order #{order.order_number}: {format_money(extra, payment.currency)} refunded at the provider booked"


def _refused_text(order: Order, reason: str) -> str:
    orders.event(order, "payment_problem", reason)
    return reason


def first_reveal(order: Order) -> dict:
    """The evidence for a dispute: when and from where the buyer first saw the codes."""
    row = db.session.execute(select(func.min(StockItem.first_revealed_at), func.count(StockItem.id))
                             .where(StockItem.order_id == order.id, StockItem.is_sold.is_(True))).one()
    ip = db.session.scalar(select(StockItem.first_revealed_ip).where(
        StockItem.order_id == order.id, StockItem.first_revealed_at.isnot(None))
        .order_by(StockItem.first_revealed_at).limit(1))
    return {"first_revealed_at": row[0].isoformat() if row[0] else None, "first_revealed_ip": ip,
            "items_delivered": row[1], "paid_at": order.paid_at.isoformat() if order.paid_at else None}


def _open_dispute(order: Order, payment: Payment, fact: Fact) -> str:
    detail = fact.detail or {}
    opened = db.session.execute(
        update(Order).where(Order.id == order.id, Order.dispute_status.is_(None))
        .values(dispute_status="open", payment_status="DISPUTED").execution_options(synchronize_session=False)
    ).rowcount
    if opened != 1:  # open already, or closed (a late or replayed "created" never reopens it)
        return f"dispute on order #{order.order_number} already {order.dispute_status}"
    db.session.refresh(order)
    evidence = first_reveal(order)
    orders.event(order, "dispute", f"Dispute opened ({detail.get('reason') or 'no reason given'}): "
                 f"{format_money(int(fact.amount or 0), payment.currency)}", dispute=detail.get("dispute"),
                 evidence=evidence)
    enqueue_after_commit(DISPUTE_EMAIL, order.id, detail.get("dispute"), detail.get("reason"), queue="emails")
    return f"order #{order.order_number} DISPUTED; admins emailed with the first-reveal evidence"


def _close_dispute(order: Order, payment: Payment, fact: Fact) -> str:
    outcome = "won" if (fact.detail or {}).get("outcome") == "won" else "lost"
    closed = db.session.execute(
        update(Order).where(Order.id == order.id, Order.dispute_status.is_distinct_from(outcome))
        .values(dispute_status=outcome).execution_options(synchronize_session=False)).rowcount
    if closed != 1:
        return f"dispute on order #{order.order_number} already closed as {outcome}"
    settle(order)
    orders.event(order, "dispute_closed", f"Dispute closed: {outcome}", dispute=(fact.detail or {}).get("dispute"))
    reviews.settle_reward(order)  # a lost dispute takes a paid review reward back, as a full refund does
    return f"dispute on order #{order.order_number} closed: {outcome}"


def _apply_to_topup(payment: Payment, fact: Fact) -> Outcome:
    topup = db.session.get(BalanceTopUp, payment.topup_id, populate_existing=True) if payment.topup_id else None
    if topup is None:
        return _refused("the top-up of this payment no longer exists", payment)
    action = TOPUP_TRANSITIONS.get(topup.status, {}).get(fact.kind)
    if action is None:
        return _refused(f"a {fact.kind.replace('_', ' ')} cannot apply to a top-up that is {topup.status}", payment)
    if action == "credit":
        _mark_attempt(payment, "SUCCEEDED")
        result = credit_topup(topup)
    elif action in ("fail_topup", "expire_topup"):
        status = "FAILED" if action == "fail_topup" else "EXPIRED"
        _mark_attempt(payment, status, (fact.detail or {}).get("reason"))
        db.session.execute(update(BalanceTopUp).where(BalanceTopUp.id == topup.id, BalanceTopUp.status != "PAID")
                           .values(status=status).execution_options(synchronize_session=False))
        result = f"top-up {status.lower()}"
    else:
        result = f"top-up is {topup.status}: nothing to change"
    status = "IGNORED" if action.startswith("noop") else "PROCESSED"
    return Outcome(status, result, payment, None, topup.id)


def credit_topup(topup: BalanceTopUp) -> str:
    """Credit a paid top-up to the ledger, once: the guarded UPDATE lets one caller through."""
    claimed = db.session.execute(
        update(BalanceTopUp).where(BalanceTopUp.id == topup.id, BalanceTopUp.status != "PAID")
        .values(status="PAID", paid_at=_now()).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return "top-up already credited"
    entry = balance.credit(topup.user_id, topup.amount, "topup", reason="Balance top-up")
    db.session.execute(update(BalanceTopUp).where(BalanceTopUp.id == topup.id)
                       .values(transaction_id=entry.id).execution_options(synchronize_session=False))
    enqueue_after_commit(TOPUP_EMAIL, topup.id, queue="emails")
    return f"top-up of {format_money(topup.amount, topup.currency)} credited"


ACTIONS = {"pay": _pay, "note_failure": _note_failure, "note_expiry": _note_expiry, "noop_paid": _noop_paid,
           "record_refund": _record_refund, "open_dispute": _open_dispute, "close_dispute": _close_dispute}

ADMIN_ALERT = "jobs.emails.send_admin_alert"
DISPUTE_EMAIL = "jobs.emails.send_dispute_email"
TOPUP_EMAIL = "jobs.emails.send_topup_email"
REFUND_EMAIL = "jobs.emails.send_refund_email"


def close_open_attempts(order_id: str) -> int:
    """An order that expired or was cancelled: close its open payment pages and intents so that
    they can no longer be paid. Stripe Checkout Sessions are expired and PaymentIntents cancelled
    at Stripe; Hoodpay's pages lapse by themselves. One paid meanwhile (its event not here yet) is
    left to its event, which the table applies to the lapsed order."""
    return _close_attempts(order_id, keep=None) or 0


def _close_attempts(order_id: str, *, keep: Payment | None) -> int | None:
    """Close the order's open attempts (but ``keep``): how many, or None when one could not be
    closed because it was paid meanwhile."""
    closed, paid_meanwhile = 0, False
    for payment in db.session.scalars(select(Payment).where(Payment.order_id == order_id,
                                                            Payment.status == "PENDING")).all():
        if keep is not None and payment.id == keep.id:
            continue
        if payment.provider == "STRIPE" and payment.provider_ref:
            gateway = payment_accounts.stripe_gateway(payment.account_ref)
            try:
                close = gateway.cancel_intent if payment.kind == "intent" else gateway.expire_session
                if not close(payment.provider_ref) and \
                        gateway.payment_state(payment.provider_ref).status == facts.SUCCEEDED:
                    paid_meanwhile = True  # its event is on its way
                    continue
            except ProviderError as exc:
                if exc.retryable:
                    raise  # the job retries; a shopper's request says the provider is unreachable
        payment.status = "EXPIRED"
        closed += 1
    db.session.flush()
    return None if paid_meanwhile else closed
