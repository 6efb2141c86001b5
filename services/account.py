"""The customer's own account (issue 14, Seed A "Customers" self-service): profile, email,
password, browser-session versions, the personal-data export and the account's own deletion.
(auth.py keeps sign-in, tokens and password resets; users.py the erasure the deletion reuses.)

**Other sessions end on a password change.** ``User.get_id`` (what Flask-Login keeps in the page
session and the remember-me cookie) is ``"<id>:<token_version>"``; ``session_user`` refuses a
session whose version is not the user's. A password change, a reset, disabling or erasing an
account bump ``token_version``: every JWT (``ver`` claim) and every browser session of the account
ends at once. The page that changed the password signs its own session in again with the new
version, so only the other sessions end; the API answers fresh tokens.

**The export** (``export_data``) is built from ``EXPORTED``: one section per foreign key to
``users.id`` that holds data about the customer. Every other foreign key to ``users.id`` is in
``NOT_EXPORTED`` with its reason (the staff member who did something, secrets).
``tests/api/test_customers_me_api.py`` fails when a model gains a foreign key to ``users.id``
that is in neither.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from sqlalchemy import func, inspect, select

from extensions import db
from models import (
    BalanceTopUp,
    BalanceTransaction,
    Campaign,
    CampaignRecipient,
    Cart,
    CartItem,
    NotificationPreference,
    Order,
    ReplacementRequest,
    Review,
    User,
)
from models.audit import is_denied
from transactions import write_lock

from . import addresses as address_service
from . import auth as auth_service
from . import orders as order_service
from . import preferences as preference_service
from . import users as user_service
from . import wishlist as wishlist_service
from .auth import check_blacklist, email_taken, normalize_email, verify_password
from .errors import Conflict, FieldProblems, Invalid
from .money import to_major
from .stores import current_currency

PROFILE_FIELDS = ("full_name", "username", "phone", "locale")
PHONE_CHARS = set("+0123456789 ()-./")


def _check_password(user: User, password: str | None, field: str = "current_password") -> None:
    if not verify_password(user, password or ""):
        raise Invalid("The current password is wrong", code="wrong_password", details={field: ["wrong password"]})


# --- profile --------------------------------------------------------------------------

def profile(user: User) -> dict:
    return {"id": user.id, "username": user.username, "email": user.email, "full_name": user.full_name,
            "name": user.full_name, "phone": user.phone, "locale": user.locale, "role": user.role,
            "created_at": user.created_at}


def check_locale(value: str | None) -> str | None:
    """A locale Babel knows ("pt-PT", "pt_PT", "en"), kept as a BCP 47 tag ("pt-PT"); "" or None clears it."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        locale = Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError) as exc:
        raise Invalid("Unknown locale", code="invalid_locale", details={"locale": ["a locale such as en or pt-PT"]}) from exc
    return "-".join(x for x in (locale.language, locale.script, locale.territory) if x)


def check_phone(value: str | None) -> str:
    value = " ".join((value or "").split())
    if value and (not set(value) <= PHONE_CHARS or sum(c.isdigit() for c in value) < 5 or len(value) > 32):
        raise Invalid("That phone number is not valid", code="invalid_phone",
                      details={"phone": ["digits, spaces and + ( ) - . / only; 5 digits or more"]})
    return value


LOCALES = ("en", "en-GB", "pt-PT", "pt-BR", "es", "fr", "de", "it", "nl")


def locale_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(tag, name) of the languages the profile page offers (the user's own first if it is another)."""
    tags = LOCALES if not current or current in LOCALES else (current, *LOCALES)
    return [("", "The store's language")] + [
        (tag, Locale.parse(tag.replace("-", "_")).get_display_name("en")) for tag in tags]


def update_profile(user: User, changes: dict) -> User:
    """Change the customer's own ``full_name`` (``name``), ``username``, ``phone``, ``locale``
    (only those given). A username is unique per store (409 ``username_taken``) and checked
    against the blacklist, as at registration."""
    if "name" in changes and "full_name" not in changes:
        changes = {**changes, "full_name": changes["name"]}
    problems = FieldProblems()  # every field's problem in one refusal; nothing changes until all pass
    values: dict = {}
    if "full_name" in changes and changes["full_name"] is not None:
        name = " ".join(str(changes["full_name"]).split())
        if len(name) > 120:
            problems.add(Invalid("The name is too long", details={"full_name": ["at most 120 characters"]}))
        values["full_name"] = name
    if "username" in changes and changes["username"] is not None:
        username = problems.check(auth_service.check_username, changes["username"])
        if username is not None and username != user.username:
            check_blacklist(username=username)
            taken = db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower(),
                                                            User.id != user.id))
            if taken:
                problems.add(Conflict("That username is taken", code="username_taken",
                                      details={"username": ["taken"]}))
            values["username"] = username
    if "phone" in changes and changes["phone"] is not None:
        values["phone"] = problems.check(check_phone, changes["phone"])
    if "locale" in changes:
        values["locale"] = problems.check(check_locale, changes["locale"])
    problems.raise_any()
    for name, value in values.items():
        setattr(user, name, value)
    db.session.flush()
    return user


def change_email(user: User, new_email: str, password: str) -> User:
    """Change the sign-in email: the current password is required; the address is normalised
    and must be free in the user's store."""
    if not verify_password(user, password or ""):
        raise Invalid("The current password is wrong", code="wrong_password", details={"password": ["wrong password"]})
    email = normalize_email(new_email)
    if email == user.email:
        return user
    check_blacklist(email=email)
    clash = db.session.scalar(select(User.id).where(func.lower(User.email) == email, User.id != user.id))
    if clash is not None:
        raise email_taken(for_new_account=False)
    user.email = email
    db.session.flush()
    return user


# --- password and sessions -----------------------------------------------------------------

def end_sessions(user: User) -> None:
    """Every token and browser session of ``user`` stops working (the reset's ``token_version`` bump)."""
    user.token_version = (user.token_version or 0) + 1
    db.session.flush()


def change_password(user: User, current_password: str, new_password: str) -> User:
    """Change the password (the current one required) and sign out every other session and token:
    the caller signs its own session in again (pages) or takes the fresh tokens (API)."""
    auth_service.change_password(user, current_password, new_password)
    end_sessions(user)
    return user


def session_id(user: User) -> str:
    return f"{user.id}:{user.token_version or 0}"


def session_user(value: str | None, store_id: str | None, session_id: str | None = None) -> User | None:
    """The user of a page session (Flask-Login's user id: ``"<id>:<token_version>"``), or None when
    the account is gone, disabled, of another store, or its sessions were ended since (all of them:
    ``token_version``; this one, signed out on any instance: ``session_id``)."""
    user_id, sep, version = (value or "").partition(":")
    user = auth_service.load_user(user_id, store_id, session_id=session_id) if user_id else None
    if user is None or str(user.token_version or 0) != (version if sep else "0"):
        return None
    return user


# --- the export -----------------------------------------------------------------------------

def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not is_denied(k)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _row(obj, skip: tuple[str, ...] = (), money: tuple[str, ...] = ()) -> dict:
    """A row's columns, without the store id, secrets (``models.audit.is_denied``: hashes, tokens,
    encrypted deliverables) and ``skip``; the ``money`` columns in major units of the row's own
    ``currency`` or the store's, as everywhere in the API's JSON."""
    row = {attr.key: _plain(getattr(obj, attr.key)) for attr in inspect(type(obj)).column_attrs
           if attr.key != "store_id" and attr.key not in skip and not is_denied(attr.key)}
    currency = getattr(obj, "currency", None) or current_currency()
    for key in money:
        if isinstance(row.get(key), int):
            row[key] = to_major(row[key], currency)
    return row


ORDER_PRIVATE = ("cost_total", "cost_known_units", "provider_ref")  # the merchant's costs, the provider's id
LINE_PRIVATE = ("cost",)
# the columns that are amounts (minor units in the database, major units in the export)
ORDER_MONEY = ("subtotal", "discount_total", "tax_total", "shipping_total", "total", "amount_refunded")
LINE_MONEY = ("unit_price", "line_subtotal")


def _orders(user: User, ip: str | None) -> list[dict]:
    """The customer's orders with their lines and price adjustments; deliverables as the buyer sees
    them (``services.orders.deliverables``, the buyer's order view: none before payment, a first
    look logged)."""
    orders = list(db.session.scalars(select(Order).where(Order.buyer_id == user.id)
                                     .order_by(Order.created_at, Order.id)))
    ids = [o.id for o in orders]
    lines, adjustments = order_service.lines_of(ids), order_service.adjustments_of(ids)
    out = []
    for order in orders:
        delivered = order_service.deliverables(order, viewer=user, ip=ip)
        snapshot = [{**row, "unit_price": to_major(row["unit_price"], order.currency)}
                    if isinstance(row, dict) and isinstance(row.get("unit_price"), int) else row
                    for row in (order.cart_snapshot or [])]
        out.append({**_row(order, ORDER_PRIVATE, ORDER_MONEY), "cart_snapshot": snapshot,
                    "lines": [{**_row(line, LINE_PRIVATE, LINE_MONEY),
                               "items": [{"deliverable": d["deliverable"], "sold_at": _plain(d["sold_at"]),
                                          "replaced_at": _plain(d["replaced_at"])}
                                         for d in delivered.get(line.id, [])]}
                              for line in lines[order.id]],
                    "adjustments": [_row(a, money=("amount",)) for a in adjustments[order.id]]})
    return out


def _rows(model, column, user: User, order_by=None, skip=(), money=()) -> list[dict]:
    stmt = select(model).where(column == user.id)
    stmt = stmt.order_by(*(order_by or (model.created_at,)))
    return [_row(obj, skip, money) for obj in db.session.scalars(stmt)]


def _cart(user: User, ip: str | None) -> list[dict]:
    cart = db.session.scalar(select(Cart).where(Cart.user_id == user.id))
    if cart is None:
        return []
    return [_row(item, money=("seen_price",))
            for item in db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id))]


def _preferences(user: User, ip: str | None) -> dict:
    row = db.session.get(NotificationPreference, user.id)
    return {**_plain(preference_service.get_preferences(user)),
            "chosen": row is not None, "changed_via": row.changed_via if row else None,
            "unsubscribed_at": _plain(row.unsubscribed_at) if row else None}


def _campaign_emails(user: User, ip: str | None) -> list[dict]:
    rows = db.session.execute(select(CampaignRecipient, Campaign.subject, Campaign.topic)
                              .join(Campaign, Campaign.id == CampaignRecipient.campaign_id)
                              .where(CampaignRecipient.user_id == user.id).order_by(Campaign.created_at))
    return [{**_row(r, ("claim_token", "error")), "subject": subject, "topic": topic} for r, subject, topic in rows]


# (table, column) of a foreign key to users.id -> (section of the export, how to build it).
EXPORTED: dict[tuple[str, str], tuple[str, Callable[[User, str | None], object]]] = {
    ("orders", "buyer_id"): ("orders", _orders),
    ("addresses", "user_id"): ("addresses", lambda u, ip: [_plain(address_service.as_dict(a))
                                                           for a in address_service.list_addresses(u)]),
    ("reviews", "user_id"): ("reviews", lambda u, ip: _rows(Review, Review.user_id, u,
                                                            skip=("approved_by_id", "reward_transaction_id",
                                                                  "reward_basis"))),
    ("balance_transactions", "user_id"): ("balance_ledger", lambda u, ip: _rows(
        BalanceTransaction, BalanceTransaction.user_id, u, skip=("created_by_id",), money=("amount", "balance_after"))),
    ("balance_topups", "user_id"): ("top_ups", lambda u, ip: _rows(BalanceTopUp, BalanceTopUp.user_id, u,
                                                                   skip=("provider_ref",), money=("amount",))),
    ("replacement_requests", "user_id"): ("replacement_requests", lambda u, ip: _rows(
        ReplacementRequest, ReplacementRequest.user_id, u, skip=("resolved_by_id", "replacement_item_id"))),
    ("notification_preferences", "user_id"): ("email_preferences", _preferences),
    ("campaign_recipients", "user_id"): ("campaign_emails", _campaign_emails),
    ("carts", "user_id"): ("cart", _cart),
    ("wishlist_items", "user_id"): ("wishlist", lambda u, ip: wishlist_service.export_for(u)),
}

# (table, column) of a foreign key to users.id that the export leaves out, and why.
NOT_EXPORTED: dict[tuple[str, str], str] = {
    ("wishlist_shares", "user_id"): "in the wishlist section (that a link exists and since when; its secret is not stored)",
    ("password_reset_tokens", "user_id"): "secrets (hashes of emailed reset links), not data about the customer",
    ("audit_log", "actor_id"): "the staff member who made a change (the log covers staff actions)",
    ("blacklist", "created_by_id"): "the staff member who blocked a value",
    ("campaigns", "created_by_id"): "the staff member who wrote a campaign",
    ("pages", "updated_by_id"): "the staff member who edited a page",
    ("stock_batches", "created_by_id"): "the staff member who imported stock",
    ("balance_transactions", "created_by_id"): "the staff member who adjusted a balance (the rows are in balance_ledger)",
    ("order_events", "actor_id"): "who moved an order on (staff, or the buyer's own actions, already in orders)",
    ("orders", "gifted_by_id"): "the staff member who gave a gift order (the order itself is in orders)",
    ("reviews", "approved_by_id"): "the staff member who approved a review",
    ("replacement_requests", "resolved_by_id"): "the staff member who resolved a request",
    ("moloni_connections", "connected_by_id"): "the admin who connected the store to Moloni",
    ("moloni_connections", "oauth_started_by_id"): "the admin who started connecting the store to Moloni",
    ("import_jobs", "created_by_id"): "the staff member who started a product import",
    ("refunds", "created_by_id"): "the staff member who made a refund (refunds show on the order)",
}


def export_data(user: User, *, ip: str | None = None) -> dict:
    """Everything the store keeps about ``user``, as plain JSON data (GDPR Art. 15 and 20): the
    profile and one section per entry of ``EXPORTED``. A first look at deliverables is logged as
    on the order page, so the caller's transaction may write."""
    if write_lock():
        db.session.refresh(user)
    currency = current_currency()
    data = {"profile": {**_plain(profile(user)), "balance": to_major(user.balance, currency),
                        "last_login_at": _plain(user.last_login_at), "last_login_ip": user.last_login_ip},
            "currency": currency, "exported_at": datetime.now().astimezone().isoformat()}
    for _key, (section, build) in EXPORTED.items():
        data[section] = build(user, ip)
    return data


# --- deleting the account -------------------------------------------------------------------

def delete_account(user: User, password: str) -> User:
    """The customer deletes their own account (GDPR Art. 17), confirmed with the password:
    ``services.users.erase_user`` with no actor (the owner). Refused (409) while an order or top-up
    awaits payment (``payment_pending``) or a replacement request is open (``replacement_open``).
    Orders, their lines and the ledger stay for the merchant's books, without personal data."""
    _check_password(user, password, "password")
    return user_service.erase_user(user)

