"""A store's accounts at the payment providers: its Stripe Connect account and its Hoodpay keys;
whether a provider is ready to take money for a store (and why not); the client to call.

* Stripe: the platform's keys come from the environment; each store connects its own account
  (Connect, express) and takes card payments on it once Stripe enables charges. The default store
  of a single-store install may take them on the platform account (``STRIPE_DEFAULT_STORE_DIRECT``).
* Hoodpay: each store saves its API key, business id and webhook secret, encrypted at rest and
  shown back only as their last four characters. The default store may use the ``HOODPAY_*``
  environment settings until it saves its own.
"""
from __future__ import annotations

import json
from dataclasses import asdict

from flask import current_app
from sqlalchemy import select

from extensions import db
from integrations.base import AccountStatus, ProviderError
from integrations.hoodpay import HoodpayGateway
from integrations.stripe import StripeGateway
from models import PaymentAccount, Store, User

from . import crypto
from .errors import Conflict, Invalid, NotFound, Unavailable

HOODPAY_FIELDS = ("api_key", "business_id", "webhook_secret")


def account_of(provider: str) -> PaymentAccount | None:
    """The bound store's account at ``provider`` (STRIPE | HOODPAY)."""
    return db.session.scalar(select(PaymentAccount).where(PaymentAccount.provider == provider))


# --- readiness ---------------------------------------------------------------------------

def stripe_target(store: Store) -> tuple[bool, str | None, str]:
    """(ready, connected account or None for the platform account, why not)."""
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        return False, None, "Card payments are not set up on this platform yet (STRIPE_SECRET_KEY is missing)"
    account = account_of("STRIPE")
    if account is not None and account.account_ref:
        if account.charges_enabled:
            return True, account.account_ref, ""
        return False, account.account_ref, "Finish your Stripe onboarding: Stripe has not enabled charges yet"
    if store.is_default and config.get("STRIPE_DEFAULT_STORE_DIRECT"):
        return True, None, ""
    return False, None, "Connect a Stripe account first (Payments settings)"


def hoodpay_credentials(store: Store) -> dict | None:
    """The store's Hoodpay keys, decrypted (or the environment's, for the default store)."""
    account = account_of("HOODPAY")
    if account is not None and account.secrets:
        return json.loads(crypto.decrypt(account.secrets))
    config = current_app.config
    if store.is_default and all(config.get(f"HOODPAY_{name.upper()}") for name in HOODPAY_FIELDS):
        return {name: config[f"HOODPAY_{name.upper()}"] for name in HOODPAY_FIELDS}
    return None


def readiness(store: Store, method: str) -> str | None:
    """None when ``method`` can take money for ``store`` now; otherwise the reason, for an admin."""
    if method == "STRIPE":
        ready, _, reason = stripe_target(store)
        return None if ready else reason
    if method == "HOODPAY":
        return None if hoodpay_credentials(store) else "Save your Hoodpay API key, business id and webhook secret first"
    return None


# --- clients -----------------------------------------------------------------------------

def stripe_gateway(account: str | None = None) -> StripeGateway:
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        raise Unavailable("Card payments are not set up on this platform", code="payment_provider_unavailable")
    return StripeGateway(api_key=config["STRIPE_SECRET_KEY"], account=account, api_base=config.get("STRIPE_API_BASE"),
                         timeout=config.get("STRIPE_TIMEOUT", 20.0))


def hoodpay_gateway(store: Store, credentials: dict | None = None) -> HoodpayGateway:
    credentials = credentials or hoodpay_credentials(store)
    if not credentials:
        raise Unavailable("Crypto payments are not set up for this store", code="payment_provider_unavailable")
    config = current_app.config
    return HoodpayGateway(api_key=credentials["api_key"], business_id=credentials["business_id"],
                          api_base=config["HOODPAY_API_BASE"], timeout=config.get("HOODPAY_TIMEOUT", 20.0))


def gateway_for(store: Store, method: str, *, account: str | None = None):
    """The provider client that takes ``method`` payments for ``store`` (refused when not ready).
    ``account`` names the connected account a past Stripe payment was taken on."""
    reason = readiness(store, method)
    if method == "STRIPE":
        if account is None:
            if reason:
                raise Invalid(reason, code="payment_method_unavailable")
            account = stripe_target(store)[1]
        return stripe_gateway(account)
    if method == "HOODPAY":
        if reason:
            raise Invalid(reason, code="payment_method_unavailable")
        return hoodpay_gateway(store)
    raise Invalid(f"{method} is not paid through a provider", code="payment_method_unavailable")


def provider_failure(exc: ProviderError, what: str) -> Unavailable:
    """A provider that cannot be reached (or refuses) as the shopper's or admin's clear error."""
    message = f"{what} failed: the payment provider could not be reached. Try again in a moment" if exc.retryable \
        else f"{what} failed: the payment provider refused it ({exc})"
    return Unavailable(message, code="payment_provider_error", status=502,
                       details={"provider_code": exc.code} if exc.code else None)


# --- Hoodpay settings ----------------------------------------------------------------------

def _hint(value: str) -> str:
    return "…" + value[-4:] if len(value) > 4 else "…"


def hoodpay_settings(store: Store) -> dict:
    """What an admin sees of the store's Hoodpay keys: whether each is set, and its last four."""
    account = account_of("HOODPAY")
    hints = dict(account.secret_hints) if account is not None else {}
    from_env = account is None and hoodpay_credentials(store) is not None
    return {"configured": hoodpay_credentials(store) is not None, "from_environment": from_env,
            "business_id": account.account_ref if account is not None else None,
            "api_key_hint": hints.get("api_key"), "webhook_secret_hint": hints.get("webhook_secret"),
            "webhook_url": None}


def save_hoodpay(store: Store, *, api_key: str | None, business_id: str | None, webhook_secret: str | None,
                 check: bool = True) -> PaymentAccount:
    """Save the store's Hoodpay keys. A blank key or secret keeps the saved one (they are never
    shown back); the keys are checked against Hoodpay before they are kept."""
    account = account_of("HOODPAY")
    current = json.loads(crypto.decrypt(account.secrets)) if account is not None and account.secrets else {}
    given = {"api_key": (api_key or "").strip(), "business_id": (business_id or "").strip(),
             "webhook_secret": (webhook_secret or "").strip()}
    merged = {name: given[name] or current.get(name, "") for name in HOODPAY_FIELDS}
    missing = [name for name in HOODPAY_FIELDS if not merged[name]]
    if missing:
        raise Invalid("Hoodpay needs an API key, a business id and a webhook secret",
                      details={name: ["required"] for name in missing})
    too_long = [name for name in HOODPAY_FIELDS if len(merged[name]) > 500]
    if too_long:
        raise Invalid("That value is too long", details={name: ["at most 500 characters"] for name in too_long})
    if check:
        try:
            hoodpay_gateway(store, merged).check_credentials()
        except ProviderError as exc:
            if exc.retryable:
                raise provider_failure(exc, "Checking the Hoodpay keys") from exc
            raise Invalid(f"Hoodpay refused these keys: {exc}", code="provider_rejected_credentials",
                          details={"api_key": ["refused by Hoodpay"]}) from exc
    taken = db.session.scalar(select(PaymentAccount.store_id).where(
        PaymentAccount.provider == "HOODPAY", PaymentAccount.account_ref == merged["business_id"])
        .execution_options(all_stores=True))
    if taken is not None and taken != store.id:
        raise Conflict("That Hoodpay business is connected to another store", code="account_in_use",
                       details={"business_id": ["already connected elsewhere"]})
    if account is None:
        account = PaymentAccount(provider="HOODPAY")
        db.session.add(account)
    account.account_ref = merged["business_id"]
    account.secrets = crypto.encrypt(json.dumps(merged))
    account.secret_hints = {"api_key": _hint(merged["api_key"]), "webhook_secret": _hint(merged["webhook_secret"])}
    account.charges_enabled = True
    db.session.flush()
    return account


def remove_hoodpay(store: Store) -> None:
    account = account_of("HOODPAY")
    if account is not None:
        db.session.delete(account)
        db.session.flush()


# --- Stripe Connect --------------------------------------------------------------------------

def connect_onboard(store: Store, *, admin: User, return_url: str, refresh_url: str) -> str:
    """An account link for the store's Connect onboarding (the account is created the first time)."""
    gateway = stripe_gateway()
    account = account_of("STRIPE")
    try:
        if account is None or not account.account_ref:
            ref = gateway.create_account(email=admin.email, idempotency_key=f"connect-account:{store.id}")
            if account is None:
                account = PaymentAccount(provider="STRIPE")
                db.session.add(account)
            account.account_ref = ref
            db.session.flush()
        return gateway.account_link(account.account_ref, refresh_url=refresh_url, return_url=return_url)
    except ProviderError as exc:
        raise provider_failure(exc, "Starting Stripe onboarding") from exc


def _apply_status(account: PaymentAccount, status: AccountStatus) -> None:
    account.charges_enabled = bool(status.charges_enabled)
    account.payouts_enabled = bool(status.payouts_enabled)
    account.details_submitted = bool(status.details_submitted)
    account.requirements = list(status.requirements_due or [])[:50]


def connect_status(store: Store, *, refresh: bool = True) -> dict:
    """The store's Connect state (asked of Stripe when ``refresh``), and whether cards work now."""
    account = account_of("STRIPE")
    if account is not None and account.account_ref and refresh:
        try:
            _apply_status(account, stripe_gateway().account_status(account.account_ref))
            db.session.flush()
        except ProviderError as exc:
            raise provider_failure(exc, "Reading the Stripe account") from exc
    ready, target, reason = stripe_target(store)
    connected = account is not None and bool(account.account_ref)
    return {"connected": connected, "account_id": account.account_ref if connected else None,
            "charges_enabled": bool(account and account.charges_enabled),
            "payouts_enabled": bool(account and account.payouts_enabled),
            "details_submitted": bool(account and account.details_submitted),
            "requirements_due": list(account.requirements) if account is not None else [],
            "uses_platform_account": ready and target is None, "ready": ready, "reason": reason or None}


def apply_account_update(status: AccountStatus) -> PaymentAccount | None:
    """``account.updated``: keep the bound store's account status current."""
    account = account_of("STRIPE")
    if account is None or account.account_ref != status.id:
        return None
    _apply_status(account, status)
    db.session.flush()
    return account


def store_for_stripe_account(account_ref: str) -> str | None:
    """Which store a connected account belongs to (webhooks arrive for the whole platform)."""
    return db.session.scalar(select(PaymentAccount.store_id).where(
        PaymentAccount.provider == "STRIPE", PaymentAccount.account_ref == account_ref)
        .execution_options(all_stores=True))


def _money_target(store: Store) -> StripeGateway:
    """The account whose money the Connect pages show: the connected one, or the platform's for a
    default store that takes payments there."""
    ready, target, reason = stripe_target(store)
    account = account_of("STRIPE")
    if target is None and account is not None and account.account_ref:
        target = account.account_ref
    if target is None and not ready:
        raise NotFound(reason or "No Stripe account is connected", code="stripe_not_connected")
    return stripe_gateway(target)


def connect_balance(store: Store) -> dict:
    try:
        return _money_target(store).balance()
    except ProviderError as exc:
        raise provider_failure(exc, "Reading the Stripe balance") from exc


def connect_transactions(store: Store, limit: int = 20) -> list[dict]:
    try:
        return _money_target(store).transactions(limit=limit)
    except ProviderError as exc:
        raise provider_failure(exc, "Reading Stripe transactions") from exc


def connect_payouts(store: Store, limit: int = 20) -> list[dict]:
    try:
        return _money_target(store).payouts(limit=limit)
    except ProviderError as exc:
        raise provider_failure(exc, "Reading Stripe payouts") from exc


def connect_payout(store: Store, amount: int, currency: str, *, request_key: str) -> dict:
    """A manual payout of ``amount`` from the available balance. ``request_key`` makes a repeated
    request (a double click, a retried call) one payout."""
    if amount <= 0:
        raise Invalid("The payout amount must be positive", details={"amount": ["must be positive"]})
    gateway = _money_target(store)
    try:
        return gateway.create_payout(amount, currency, idempotency_key=f"payout:{store.id}:{request_key}")
    except ProviderError as exc:
        if exc.retryable:
            raise provider_failure(exc, "The payout") from exc
        raise Invalid(f"Stripe refused the payout: {exc}", code="payout_refused",
                      details={"amount": [str(exc)]}) from exc


def status_dict(status: AccountStatus) -> dict:
    return asdict(status)
