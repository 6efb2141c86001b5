"""Payments (Seed A "Payments"): Stripe Checkout and PaymentIntents for orders, refunds, Stripe
Connect for the store's own account, which methods the store takes, its Hoodpay keys, and the
callback inspector (every webhook event received, with what it did)."""
from __future__ import annotations

import uuid

from apiflask import APIBlueprint
from flask import current_app, g, request

from services import orders as order_service
from services import payment_accounts, payments, refunds, webhooks
from services.errors import Invalid, NotFound
from services.money import to_major
from transactions import write_lock

from .access import access, require_user
from .orders import order_detail
from .schemas.common import money_in, page_of
from .schemas.payments import (
    BalanceOut,
    ConnectStatusOut,
    EventQuery,
    HoodpaySettingsIn,
    HoodpaySettingsOut,
    IntentOut,
    LimitQuery,
    LinkOut,
    ListOut,
    MethodsIn,
    MethodsOut,
    OnboardIn,
    OrderPaymentIn,
    PaymentOut,
    PaymentRefundIn,
    PayoutIn,
    PayoutListOut,
    PayoutOut,
    RefundIn,
    RefundOut,
    RefundResultOut,
    SessionOut,
    WebhookEventOut,
)

bp = APIBlueprint("api_payments", __name__, url_prefix="/api", tag="Payments")

PAY_ERRORS = {404: "No such order of yours", 409: "`order_not_payable` (paid, expired, or not a provider method)",
              422: "`payment_method_unavailable` (the method is not configured)",
              502: "`payment_provider_error`: the provider could not be reached or refused"}


def _own_unpaid(order_id: str):
    user = require_user()
    order = order_service.get_order(order_id)
    if not order_service.can_view(order, user):
        raise NotFound("No such order", code="order_not_found")
    return order


def _site() -> str:
    return request.host_url.rstrip("/")


def _pay_pages(order) -> tuple[str, str]:
    page = _site() + order_service.order_path(order)
    return page + "?payment=done", page + "?payment=cancelled"


@bp.post("/checkout/create-session")
@access("user")
@bp.input(OrderPaymentIn, arg_name="body")
@bp.output(SessionOut, status_code=201)
@bp.doc(responses=PAY_ERRORS)
def create_session(body: OrderPaymentIn):
    """A hosted payment page for an unpaid order of yours (`{order_id}`): Stripe Checkout for a
    STRIPE order, Hoodpay's page for a HOODPAY one. Send the shopper to `url`; they come back to the
    order page. Asking again while the page is still open returns the same page."""
    order = _own_unpaid(body.order_id)
    success, cancel = _pay_pages(order)
    payment = payments.start_order_payment(g.store, order, success_url=success, cancel_url=cancel)
    return SessionOut(session_id=payment.provider_ref, url=payment.redirect_url, redirect_url=payment.redirect_url,
                      payment=PaymentOut.of(payment))


@bp.post("/payments/create-intent")
@access("user")
@bp.input(OrderPaymentIn, arg_name="body")
@bp.output(IntentOut, status_code=201)
@bp.doc(responses=PAY_ERRORS)
def create_intent(body: OrderPaymentIn):
    """A Stripe PaymentIntent for an unpaid STRIPE order of yours, for clients that collect the card
    themselves. Confirm it with `client_secret` (and `stripe_account`, when set) in Stripe.js; the
    order is paid when Stripe's `payment_intent.succeeded` arrives."""
    order = _own_unpaid(body.order_id)
    payment, client_secret = payments.start_intent(g.store, order)
    return IntentOut(payment_intent_id=payment.provider_ref, client_secret=client_secret,
                     amount=to_major(payment.amount, payment.currency), currency=payment.currency,
                     publishable_key=current_app.config.get("STRIPE_PUBLISHABLE_KEY"),
                     stripe_account=payment.account_ref, payment=PaymentOut.of(payment))


# --- refunds ----------------------------------------------------------------------------------

REFUND_ERRORS = {404: "No such order", 409: "`already_refunded`, `order_not_paid`, `order_disputed`, "
                                                "`nothing_to_refund` (nothing was paid: a gift)",
                 422: "`refund_exceeds_paid` (more than is left), a non-positive amount, a destination that "
                      "cannot take it (a guest has no balance; crypto is not refunded automatically)"}


def _refund(order_id: str, body: RefundIn) -> RefundResultOut:
    admin = require_user()
    order = order_service.get_order(order_id)
    amount = money_in(body.amount, order.currency, "amount") if body.amount is not None else None
    if amount == 0:
        raise Invalid("The refund amount must be positive", details={"amount": ["must be positive"]})
    done = refunds.refund(g.store, order, amount=amount, destination=body.destination, reason=body.reason or "",
                          actor=admin)
    order = order_service.get_order(order.id)
    reward = done.reward
    return RefundResultOut(refund=RefundOut.of(done.refund), order=order_detail(order, admin),
                           reward_taken_back=to_major(reward.taken_back if reward else 0, order.currency),
                           reward_not_recovered=to_major(reward.not_recovered if reward else 0, order.currency))


@bp.post("/orders/<order_id>/refund")
@access("admin")
@bp.input(RefundIn, arg_name="body")
@bp.output(RefundResultOut, status_code=201)
@bp.doc(responses=REFUND_ERRORS)
def refund_order(order_id: str, body: RefundIn):
    """Refund an order, fully or partly (Admin): `{amount?, destination?, reason?}`.

    Leave `amount` out to refund everything left. `destination`: `original` (the card for a Stripe
    payment, the balance otherwise), `provider` or `balance`. A refund never exceeds what was paid;
    delivered codes are not taken back. A card refund is sent to Stripe by a job (status PENDING
    until Stripe confirms); a balance refund is credited at once. A 5-star review reward paid for
    the order loses the share the refund removes: `reward_taken_back` is what was debited from the
    buyer's balance, `reward_not_recovered` what the balance did not hold (it never goes below zero)."""
    return _refund(order_id, body)


@bp.post("/payments/refund")
@access("admin")
@bp.input(PaymentRefundIn, arg_name="body")
@bp.output(RefundResultOut, status_code=201)
@bp.doc(responses=REFUND_ERRORS)
def refund_payment(body: PaymentRefundIn):
    """Seed A's spelling of `POST /api/orders/{order_id}/refund`: `{order_id, amount?, destination?, reason?}`."""
    return _refund(body.order_id, body)


# --- Stripe Connect ---------------------------------------------------------------------------

@bp.get("/payments/connect/status")
@access("admin")
@bp.output(ConnectStatusOut)
def connect_status():
    """The store's Stripe Connect account, as Stripe reports it now, and whether cards work."""
    write_lock()  # it keeps what Stripe says (a write from a GET)
    return payment_accounts.connect_status(g.store)


@bp.post("/payments/connect/onboard")
@access("admin")
@bp.input(OnboardIn, arg_name="body")
@bp.output(LinkOut)
@bp.doc(responses={502: "Stripe could not be reached", 503: "Stripe is not set up on the platform"})
def connect_onboard(body: OnboardIn):
    """Start (or continue) Stripe onboarding: answers an account link; send the admin to `url`.
    The account is created the first time. Stripe sends them back to `return_url` (default: the
    admin's payments page)."""
    admin = require_user()
    back = _site() + "/admin/payments"
    url = payment_accounts.connect_onboard(g.store, admin=admin, return_url=_safe_back(body.return_url, back),
                                           refresh_url=_safe_back(body.refresh_url, back))
    return {"url": url}


def _safe_back(url: str | None, default: str) -> str:
    """Only back to this store's own address (an open redirect otherwise)."""
    if url and url.startswith(_site() + "/"):
        return url
    if url:
        raise Invalid("return_url must be an address of this store", details={"return_url": ["not this store"]})
    return default


def _money(rows: list[dict]) -> list[dict]:
    return [{"amount": to_major(r["amount"], r["currency"]), "currency": r["currency"]} for r in rows]


@bp.get("/payments/connect/balance")
@access("admin")
@bp.output(BalanceOut)
def connect_balance():
    """The connected account's balance at Stripe: available and pending, per currency."""
    raw = payment_accounts.connect_balance(g.store)
    return {"available": _money(raw.get("available", [])), "pending": _money(raw.get("pending", []))}


def _major(row: dict, *names: str) -> dict:
    out = dict(row)
    for name in names:
        if isinstance(out.get(name), int):
            out[name] = to_major(out[name], out["currency"])
    return out


@bp.get("/payments/connect/transactions")
@access("admin")
@bp.input(LimitQuery, location="query", arg_name="query")
@bp.output(ListOut)
def connect_transactions(query: LimitQuery):
    """Recent balance transactions of the connected account (charges, refunds, fees, payouts)."""
    rows = payment_accounts.connect_transactions(g.store, limit=query.limit)
    return {"items": [_major(r, "amount", "net", "fee") for r in rows]}


@bp.get("/payments/connect/payouts")
@access("admin")
@bp.input(LimitQuery, location="query", arg_name="query")
@bp.output(PayoutListOut)
def connect_payouts(query: LimitQuery):
    """Recent payouts of the connected account to its bank."""
    return {"items": [_major(r, "amount") for r in payment_accounts.connect_payouts(g.store, limit=query.limit)]}


@bp.post("/payments/connect/payout")
@access("admin")
@bp.input(PayoutIn, arg_name="body")
@bp.output(PayoutOut, status_code=201)
@bp.doc(responses={422: "`payout_refused` (more than is available, ...) or a bad amount"})
def connect_payout(body: PayoutIn):
    """A manual payout from the available balance: `{amount, currency?, idempotency_key?}`. The same
    `idempotency_key` sent twice is one payout."""
    currency = (body.currency or g.store.currency).upper()
    amount = money_in(body.amount, currency, "amount")
    row = payment_accounts.connect_payout(g.store, amount, currency,
                                          request_key=body.idempotency_key or uuid.uuid4().hex)
    return _major(row, "amount")


# --- which methods, and the store's Hoodpay keys ---------------------------------------------------

@bp.get("/payments/methods")
@access("admin")
@bp.output(MethodsOut)
def list_methods():
    """Each payment method: enabled or not, and why it cannot take payments when it cannot."""
    return {"items": payments.method_states(g.store)}


@bp.put("/payments/methods")
@access("admin")
@bp.input(MethodsIn, arg_name="body")
@bp.output(MethodsOut)
@bp.doc(responses={422: "`payment_method_not_configured`: set the provider up first (the message says how)"})
def update_methods(body: MethodsIn):
    """Enable or disable methods: `{methods: {STRIPE: true, MANUAL: false}}`. A method that is not
    configured cannot be enabled."""
    return {"items": payments.set_methods(g.store, dict(body.methods))}


def _hoodpay_out() -> dict:
    return {**payment_accounts.hoodpay_settings(g.store), "webhook_url": payments.hoodpay_webhook_url(g.store)}


@bp.get("/payments/hoodpay")
@access("admin")
@bp.output(HoodpaySettingsOut)
def hoodpay_settings():
    """The store's Hoodpay keys as far as they are shown: set or not, and their last four characters."""
    return _hoodpay_out()


@bp.put("/payments/hoodpay")
@access("admin")
@bp.input(HoodpaySettingsIn, arg_name="body")
@bp.output(HoodpaySettingsOut)
@bp.doc(responses={422: "Missing fields, or Hoodpay refused the keys", 502: "Hoodpay could not be reached"})
def save_hoodpay(body: HoodpaySettingsIn):
    """Save the store's Hoodpay API key, business id and webhook secret (checked with Hoodpay first;
    stored encrypted). A field left out keeps its saved value."""
    payment_accounts.save_hoodpay(g.store, api_key=body.api_key, business_id=body.business_id,
                                  webhook_secret=body.webhook_secret)
    return _hoodpay_out()


# --- the callback inspector ------------------------------------------------------------------------

@bp.get("/payments/events")
@access("admin")
@bp.input(EventQuery, location="query", arg_name="query")
@bp.output(page_of(WebhookEventOut))
def list_events(query: EventQuery):
    """Every webhook event the store received, newest first: provider, type, related order or top-up,
    signature result, what processing did (or why it refused), and errors. Filter by `provider`,
    `status`, `type`, or `search` (an event id, a provider object id, an order id)."""
    page = webhooks.list_events(provider=query.provider, status=query.status, type=query.type, search=query.search,
                                page=query.page, page_size=query.page_size)
    numbers = order_service.numbers_of([row.order_id for row in page["items"] if row.order_id])
    return {**page, "items": [WebhookEventOut.of(row, numbers=numbers) for row in page["items"]]}


@bp.get("/payments/events/<event_id>")
@access("admin")
@bp.output(WebhookEventOut)
def get_event(event_id: str):
    """One webhook event with its raw payload."""
    row = webhooks.get_event(event_id)
    return WebhookEventOut.of(row, numbers=order_service.numbers_of([row.order_id] if row.order_id else []),
                              with_payload=True)


@bp.post("/payments/events/<event_id>/process")
@access("admin")
@bp.output(WebhookEventOut, status_code=202)
def process_event(event_id: str):
    """Process the event again (queued; safe, because applying an event twice changes nothing)."""
    return WebhookEventOut.of(webhooks.reprocess(event_id))
