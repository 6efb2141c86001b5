"""Balance top-ups: the order side. A shopper starts one with a provider method; the provider's
confirmation completes it exactly once (a guarded transition), crediting the ledger once,
however often the confirmation arrives. The payments issue adds the providers' redirects."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from extensions import db
from models import BalanceTopUp, Store, User

from . import balance
from .errors import Invalid, NotFound
from .stores import settings_of

PROVIDER_METHODS = ("STRIPE", "HOODPAY")
MIN_TOPUP = 100  # minor units
MAX_TOPUP = 1_000_000


def start_topup(store: Store, user: User, amount: int, method: str) -> BalanceTopUp:
    method = (method or "").upper()
    if method not in PROVIDER_METHODS or method not in settings_of(store).enabled_methods():
        raise Invalid("Top-ups are paid by card or crypto: that payment method is not available here",
                      code="payment_method_unavailable", details={"payment_method": [m for m in PROVIDER_METHODS
                                                                                     if m in settings_of(store).enabled_methods()]})
    if isinstance(amount, bool) or not isinstance(amount, int) or not MIN_TOPUP <= amount <= MAX_TOPUP:
        raise Invalid("The top-up amount is out of range", code="invalid_amount",
                      details={"amount": [f"between {MIN_TOPUP} and {MAX_TOPUP} minor units"]})
    topup = BalanceTopUp(user_id=user.id, amount=amount, currency=store.currency, payment_method=method)
    db.session.add(topup)
    db.session.flush()
    return topup


def complete_topup(topup_id: str, *, provider_ref: str | None = None) -> bool:
    """PENDING -> PAID and credit the balance. A replay is a no-op returning False."""
    claimed = db.session.execute(
        update(BalanceTopUp).where(BalanceTopUp.id == topup_id, BalanceTopUp.status == "PENDING")
        .values(status="PAID", paid_at=datetime.now(UTC), provider_ref=provider_ref)
        .returning(BalanceTopUp.user_id, BalanceTopUp.amount)
    ).first()
    if claimed is None:
        if db.session.get(BalanceTopUp, topup_id) is None:
            raise NotFound("No such top-up", code="topup_not_found")
        return False
    entry = balance.credit(claimed.user_id, claimed.amount, "topup", reason=f"Top-up {provider_ref or topup_id}")
    db.session.execute(update(BalanceTopUp).where(BalanceTopUp.id == topup_id).values(transaction_id=entry.id))
    return True


def fail_topup(topup_id: str, status: str = "FAILED") -> bool:
    return db.session.execute(
        update(BalanceTopUp).where(BalanceTopUp.id == topup_id, BalanceTopUp.status == "PENDING")
        .values(status=status)).rowcount == 1
