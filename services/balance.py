"""The balance ledger. Every credit or debit is a row; ``users.balance`` caches the sum and is
changed only here, with guarded statements in the caller's transaction, so two concurrent
debits can never spend the same money and the balance never goes negative."""
from __future__ import annotations

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from extensions import db
from models import BalanceTransaction, User
from models.base import new_id, utcnow

from .errors import Conflict, Invalid, NotFound
from .money import format_money, major_amounts
from .stores import current_currency

MAX_AMOUNT = 10**12
# the guarded statements, built once (a checkout runs the debit): a credit adds; a debit takes
# only while the balance covers it, even under concurrency
_CREDIT = (update(User).where(User.id == bindparam("user_id")).values(balance=User.balance + bindparam("amount"))
           .returning(User.balance).execution_options(synchronize_session=False))
_DEBIT = (update(User).where(User.id == bindparam("user_id"), User.balance >= bindparam("needed"))
          .values(balance=User.balance - bindparam("needed"))
          .returning(User.balance).execution_options(synchronize_session=False))
# the user's row locked as a debit or credit locks it (PostgreSQL's FOR NO KEY UPDATE: the rows
# that only reference the user, an order of theirs, never wait for it); SQLite: the writer's BEGIN
# IMMEDIATE holds the whole database already
_LOCK = select(User.balance).where(User.id == bindparam("user_id")).with_for_update(key_share=True)


def _apply(user_id: str, amount: int, kind: str, *, reason: str = "", order_id: str | None = None,
           actor_id: str | None = None, flush: bool = True) -> BalanceTransaction:
    """Move the balance by ``amount`` (guarded) and write its ledger row. ``flush=False``: the row is
    written with the caller's next flush (a checkout, whose payment flushes right after)."""
    check_amount(amount)
    if amount < 0:  # the guard: no overdraft, even under concurrency
        row = db.session.execute(_DEBIT, {"user_id": user_id, "needed": -amount}).first()
    else:
        row = db.session.execute(_CREDIT, {"user_id": user_id, "amount": amount}).first()
    if row is None:
        if db.session.scalar(select(User.id).where(User.id == user_id)) is None:
            raise NotFound("No such user", code="user_not_found")
        currency = current_currency()
        raise Conflict(f"The balance is too low: this needs {format_money(-amount, currency)}",
                       code="insufficient_balance", details=major_amounts(currency, needed=-amount))
    entry = BalanceTransaction(id=new_id(), created_at=utcnow(), user_id=user_id, kind=kind, amount=amount,
                               balance_after=row[0], reason=reason[:255], order_id=order_id, created_by_id=actor_id)
    db.session.add(entry)
    if flush:
        db.session.flush()
    loaded = db.session.identity_map.get(db.session.identity_key(User, user_id))
    if loaded is not None:  # a loaded User shows the new balance (what the guarded UPDATE returned)
        set_committed_value(loaded, "balance", row[0])
    return entry


def locked_balance(user_id: str) -> int:
    """The user's balance with their row locked until the transaction ends: no other debit or
    credit moves it meanwhile, so a caller may take what there is (``reviews.settle_reward`` takes a
    reward back up to the balance, never below zero) and its ``debit`` of at most this succeeds."""
    found = db.session.execute(_LOCK, {"user_id": user_id}).first()
    if found is None:
        raise NotFound("No such user", code="user_not_found")
    return found[0]


def check_amount(amount: int) -> None:
    """A balance movement is not zero and at most ``MAX_AMOUNT`` either way. The amount came in major
    units of the store's currency (the API, the admin page), so the refusal speaks of those."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0 or abs(amount) > MAX_AMOUNT:
        currency = current_currency()
        limit = format_money(MAX_AMOUNT, currency)
        raise Invalid(f"The amount must be other than 0 and at most {limit} either way",
                      details={"amount": [f"not 0, from -{limit} to {limit}"],
                               **major_amounts(currency, max=MAX_AMOUNT)})


def credit(user_id: str, amount: int, kind: str, **kw) -> BalanceTransaction:
    if amount <= 0:
        raise Invalid("A credit must be positive", details={"amount": ["must be positive"]})
    return _apply(user_id, amount, kind, **kw)


def debit(user_id: str, amount: int, kind: str, **kw) -> BalanceTransaction:
    if amount <= 0:
        raise Invalid("A debit must be positive", details={"amount": ["must be positive"]})
    return _apply(user_id, -amount, kind, **kw)


def adjust(user: User, amount: int, reason: str, *, actor: User) -> BalanceTransaction:
    """An admin's correction, either way, with a reason (kept on the ledger row)."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why the balance changes", details={"reason": ["required"]})
    return _apply(user.id, amount, "adjustment", reason=reason, actor_id=actor.id)


def history(user_id: str):
    return (select(BalanceTransaction).where(BalanceTransaction.user_id == user_id)
            .order_by(BalanceTransaction.created_at.desc(), BalanceTransaction.id))


def ledger_sum(user_id: str) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(BalanceTransaction.amount), 0))
                             .where(BalanceTransaction.user_id == user_id)) or 0
