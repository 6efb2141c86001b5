"""The balance ledger (RECONCILE.md "Money"): every credit or debit is a row and the balance is
their sum; it never goes negative. The signed-in user's history, and an admin's correction."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g, request

from services import balance as balance_service
from services import topups as topup_service
from services import users as user_service
from services.money import to_major, to_minor
from services.pagination import paginate

from .access import access, require_user
from .schemas.common import PageQuery, page_of
from .schemas.orders import BalanceAdjustIn, BalanceAdjustOut, BalanceTransactionOut
from .schemas.payments import TopUpIn, TopUpOut, TopUpStartOut

bp = APIBlueprint("api_balance", __name__, url_prefix="/api", tag="Balance")


@bp.get("/user/balance/history")
@access("user")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(BalanceTransactionOut))
def balance_history(query: PageQuery):
    """The signed-in user's balance ledger (User+), newest first, paginated.

    Not in the endpoint table: RECONCILE.md makes the balance a ledger, and this shows it. Each row
    is a signed `amount` (major units) of kind `topup`, `purchase`, `refund`, `review_reward`,
    `adjustment` or `gift`, with the `balance_after` it left, its `reason` and its `order_id`. A
    negative `review_reward` is a reward taken back because its order was refunded afterwards.
    """
    user = require_user()
    page = paginate(balance_service.history(user.id), page=query.page, page_size=query.page_size)
    return {**page, "items": [BalanceTransactionOut.of(row, g.store.currency) for row in page["items"]]}


@bp.post("/admin/users/<user_id>/balance")
@access("admin")
@bp.input(BalanceAdjustIn, arg_name="body")
@bp.output(BalanceAdjustOut, status_code=201)
@bp.doc(responses={404: "No such user in this store",
                   409: "A debit larger than the balance (`insufficient_balance`): it never goes negative",
                   422: "A zero, absurd or over-precise amount, or no reason"})
def adjust_balance(user_id: str, body: BalanceAdjustIn):
    """Credit or debit a user's balance by hand (Admin): `{amount, reason}`.

    Not in the endpoint table: the ledger needs an admin correction. `amount` is in major units and
    signed (`5` credits 5.00, `-5` debits it); the `reason` is kept on the ledger row. Answers 201
    with the new balance and the ledger row.
    """
    admin = require_user()
    user = user_service.get_user(user_id)
    currency = g.store.currency
    row = balance_service.adjust(user, to_minor(body.amount, currency), body.reason, actor=admin)
    return BalanceAdjustOut(user_id=user.id, balance=to_major(row.balance_after, currency), currency=currency,
                            transaction=BalanceTransactionOut.of(row, currency))


@bp.post("/user/balance/top-up")
@access("user")
@bp.input(TopUpIn, arg_name="body")
@bp.output(TopUpStartOut, status_code=201)
@bp.doc(responses={422: "`amount_out_of_range` (0, negative, or outside the store's limits), "
                        "`payment_method_unavailable`",
                   502: "`payment_provider_error`: the provider could not be reached"})
def top_up(body: TopUpIn):
    """Add money to your balance (User+): `{amount, payment_method?}` (STRIPE or HOODPAY).

    Answers 201 with the PENDING top-up and `redirect_url`, the provider's payment page. The balance
    is credited once, when the provider confirms the payment (its webhook)."""
    user = require_user()
    page = request.host_url.rstrip("/") + "/account/balance"
    # the store's limits decide, so 0, a negative or an absurd amount is `amount_out_of_range` too
    amount = to_minor(body.amount, g.store.currency, field="amount")
    topup, payment = topup_service.start(g.store, user, amount, body.payment_method,
                                         success_url=page + "?topup=done", cancel_url=page + "?topup=cancelled")
    return TopUpStartOut(topup=TopUpOut.of(topup), redirect_url=payment.redirect_url)


@bp.get("/user/balance/top-ups")
@access("user")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(TopUpOut))
def list_top_ups(query: PageQuery):
    """Your top-ups, newest first, with their status (PENDING, PAID, FAILED, EXPIRED)."""
    page = topup_service.list_topups(require_user(), page=query.page, page_size=query.page_size)
    return {**page, "items": [TopUpOut.of(t) for t in page["items"]]}
