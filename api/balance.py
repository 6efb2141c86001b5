"""The balance ledger (RECONCILE.md "Money"): every credit or debit is a row and the balance is
their sum; it never goes negative. The signed-in user's history, and an admin's correction."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g

from services import balance as balance_service
from services import users as user_service
from services.money import to_major, to_minor
from services.pagination import paginate

from .access import access, require_user
from .schemas.common import PageQuery, page_of
from .schemas.orders import BalanceAdjustIn, BalanceAdjustOut, BalanceTransactionOut

bp = APIBlueprint("api_balance", __name__, url_prefix="/api", tag="Balance")


@bp.get("/user/balance/history")
@access("user")
@bp.input(PageQuery, location="query", arg_name="query")
@bp.output(page_of(BalanceTransactionOut))
def balance_history(query: PageQuery):
    """The signed-in user's balance ledger (User+), newest first, paginated.

    Not in the endpoint table: RECONCILE.md makes the balance a ledger, and this shows it. Each row
    is a signed `amount` (major units) of kind `topup`, `purchase`, `refund`, `review_reward`,
    `adjustment` or `gift`, with the `balance_after` it left, its `reason` and its `order_id`.
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
