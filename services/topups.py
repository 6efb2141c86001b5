"""Balance top-ups (Seed B): the shopper pays a provider, the balance is credited once when the
payment succeeds (``services.payments.credit_topup``, through the ``BalanceTopUp`` row)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from extensions import db
from models import BalanceTopUp, BalanceTransaction, Payment, Store, User

from . import payments
from .errors import Invalid, NotFound
from .money import major_amounts
from .pagination import paginate
from .stores import settings_of

STALE_AFTER = timedelta(hours=24)


def limits(store: Store) -> tuple[int, int]:
    settings = settings_of(store)
    return settings.topup_min, settings.topup_max


def methods(store: Store, usable: list[str] | None = None) -> list[str]:
    """How a top-up can be paid here (a provider: balance cannot top up balance). ``usable``: the
    store's usable methods when the caller has them already (the checkout page's options)."""
    return [m for m in (payments.usable_methods(store) if usable is None else usable) if m in payments.PROVIDER_METHODS]


def start(store: Store, user: User, amount: int, method: str | None, *, success_url: str,
          cancel_url: str) -> tuple[BalanceTopUp, Payment]:
    """A PENDING top-up and its payment at the provider (the answer's ``redirect_url``)."""
    low, high = limits(store)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise Invalid("Enter an amount to add", code="amount_out_of_range", details={"amount": ["a whole amount"]})
    if not low <= amount <= high:  # 0 and negative amounts too
        raise Invalid("Top-ups go from {low} to {high}", amounts={"low": (low, store.currency), "high": (high, store.currency)},
                      code="amount_out_of_range", details={"amount": ["between {low} and {high}"],
                                                           **major_amounts(store.currency, min=low, max=high)})
    method = (method or "").strip().upper()
    usable = methods(store)
    if not method and len(usable) == 1:
        method = usable[0]
    if method not in usable:
        label = payments.LABELS.get(method, method or "That method")
        raise Invalid(f"{label} cannot be used to top up here" if usable else "Top-ups are not available at this store",
                      code="payment_method_unavailable",
                      details={"payment_method": [f"use one of: {', '.join(usable) or 'none'}"]})
    topup = BalanceTopUp(user_id=user.id, amount=amount, currency=store.currency, payment_method=method,
                         status="PENDING")
    db.session.add(topup)
    db.session.flush()
    payment = payments.start_topup_payment(store, topup, user, success_url=success_url, cancel_url=cancel_url)
    return topup, payment


def list_topups(user: User, *, page: int = 1, page_size: int = 20) -> dict:
    stmt = select(BalanceTopUp).where(BalanceTopUp.user_id == user.id).order_by(BalanceTopUp.created_at.desc())
    return paginate(stmt, page=page, page_size=page_size)


def get_topup(topup_id: str, user: User | None = None) -> BalanceTopUp:
    topup = db.session.get(BalanceTopUp, topup_id)
    if topup is None or (user is not None and topup.user_id != user.id):
        raise NotFound("No such top-up", code="topup_not_found")
    return topup


def balance_after(topup: BalanceTopUp) -> int | None:
    """The buyer's balance right after this top-up was credited (its ledger row), whatever came
    after it (a purchase before the email went out); None while it is not credited."""
    if not topup.transaction_id:
        return None
    return db.session.scalar(select(BalanceTransaction.balance_after).where(BalanceTransaction.id == topup.transaction_id))


def expire_stale(now: datetime | None = None) -> int:
    """Top-ups left unpaid for a day are EXPIRED (a late success still credits them)."""
    cutoff = (now or datetime.now(UTC)) - STALE_AFTER
    return db.session.execute(update(BalanceTopUp).where(BalanceTopUp.status == "PENDING",
                                                         BalanceTopUp.created_at < cutoff)
                              .values(status="EXPIRED").execution_options(synchronize_session=False)).rowcount
