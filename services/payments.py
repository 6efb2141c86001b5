"""Payment methods: which exist, what a shopper calls them, and which a store can take right now.

One rule, used by the checkout page, the API's checkout and ``checkout.place_order``: a method
can be used when the store has enabled it AND the platform can take it. Card (Stripe) and crypto
(Hoodpay) payments arrive with the payments issue; until their providers are built they are
listed as "coming soon" and an order for them is refused with ``payment_method_unavailable``.
"""
from __future__ import annotations

from models import PAYMENT_METHODS, Store, User

from .errors import Invalid
from .stores import settings_of

LABELS = {"BALANCE": "Account balance", "MANUAL": "Manual payment", "STRIPE": "Card (Stripe)",
          "HOODPAY": "Crypto (Hoodpay)"}
HINTS = {"MANUAL": "Pay the store directly; your items are delivered once it confirms the payment."}
# Methods the platform can take today (the payments issue adds the providers).
AVAILABLE = ("BALANCE", "MANUAL")
assert set(LABELS) == set(PAYMENT_METHODS)


def enabled_methods(store: Store) -> list[str]:
    """What the store offers (its settings), in the canonical order."""
    return settings_of(store).enabled_methods()


def usable_methods(store: Store) -> list[str]:
    """What a shopper can pay with right now: enabled by the store and available on the platform."""
    return [m for m in enabled_methods(store) if m in AVAILABLE]


def check_method(store: Store, method: str | None, *, buyer: User | None) -> str:
    """The method, upper-cased, if this buyer can pay with it now; otherwise a clear refusal."""
    method = (method or "").strip().upper()
    usable = usable_methods(store)
    if method not in usable:
        if method not in LABELS:
            sentence = f"{method or 'That'} is not a payment method this store takes"
        elif method not in AVAILABLE:
            sentence = f"{LABELS[method]} cannot be used here yet"
        else:
            sentence = f"{LABELS[method]} is not offered by this store"
        raise Invalid(sentence, code="payment_method_unavailable",
                      details={"payment_method": [f"use one of: {', '.join(usable) or 'none'}"]})
    if method == "BALANCE" and buyer is None:
        raise Invalid("Sign in to pay with your balance", code="balance_needs_account",
                      details={"payment_method": ["sign in to pay with your balance"]})
    return method


def options(store: Store, buyer: User | None, total: int) -> list[dict]:
    """The checkout page's choices: every enabled method, with whether it can be chosen and why not."""
    usable = usable_methods(store)
    out = []
    for name in enabled_methods(store):
        ready, hint = name in usable, HINTS.get(name, "" if name in usable else "Coming soon")
        if name == "BALANCE":
            if buyer is None:
                ready, hint = False, "Sign in to pay with your balance"
            elif buyer.balance < total:
                hint = "Your balance is too low for this order"
        out.append({"name": name, "label": LABELS[name], "ready": ready, "hint": hint,
                    "coming_soon": name not in AVAILABLE,
                    "affordable": name != "BALANCE" or (buyer is not None and buyer.balance >= total)})
    return out
