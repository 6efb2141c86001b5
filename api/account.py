"""Seed B account routes (Group 3: the signed-in user) and the balance ledger.

The balance is a ledger (RECONCILE.md "Money"): every credit or debit is a row and the balance
is their sum; it never goes negative.
"""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import g
from sqlalchemy import select

from extensions import db
from models import User
from services import account as account_service
from services import auth as auth_service
from services import balance as balance_service
from services import orders as order_service
from services.errors import Invalid, NotFound
from services.money import to_major, to_minor
from services.pagination import paginate

from .access import access, require_user
from .orders import orders_out
from .schemas.account import PersonalOut, ProfileUpdateIn
from .schemas.auth import UserOut
from .schemas.common import PageQuery, page_of
from .schemas.orders import BalanceAdjustIn, BalanceAdjustOut, BalanceTransactionOut

bp = APIBlueprint("api_account", __name__, url_prefix="/api", tag="Account and Balance")

RECENT_ORDERS = 5


@bp.get("/user/personal")
@access("user")
@bp.output(PersonalOut)
def personal():
    """Seed B: the signed-in user's profile, balance (major units, with `currency`) and their
    latest orders (`recent_orders`, newest first, without deliverables) with `order_count`."""
    user = require_user()
    page = order_service.list_orders(buyer_id=user.id, page=1, page_size=RECENT_ORDERS)
    return PersonalOut(**UserOut.of(user, g.store).model_dump(), order_count=page["total"],
                       recent_orders=orders_out(page["items"]))


@bp.put("/user/profile/update")
@access("user")
@bp.input(ProfileUpdateIn, arg_name="body")
@bp.output(UserOut)
@bp.doc(responses={409: "The email is used by another account of this store (`email_taken`)",
                   422: "Wrong `current_password`, an invalid email, a weak password, or nothing to change"})
def update_profile(body: ProfileUpdateIn):
    """Seed B: change the signed-in user's `email` and/or `password`, confirmed with `current_password`.

    An email is unique per store (409 `email_taken`). Answers the user.
    """
    user = require_user()
    if body.email is None and body.password is None:
        raise Invalid("Send a new email or a new password", code="nothing_to_change",
                      details={"email": ["email or password required"]})
    if body.email is not None:
        account_service.change_email(user, body.email, body.current_password)
    if body.password is not None:
        auth_service.change_password(user, body.current_password, body.password)
    return UserOut.of(user, g.store)


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
    user = db.session.scalar(select(User).where(User.id == user_id))
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    currency = g.store.currency
    row = balance_service.adjust(user, to_minor(body.amount, currency), body.reason, actor=admin)
    return BalanceAdjustOut(user_id=user.id, balance=to_major(row.balance_after, currency), currency=currency,
                            transaction=BalanceTransactionOut.of(row, currency))
