"""Notification preferences and the signed one-click unsubscribe token.

Two preferences, both about optional email only:

* ``marketing_emails``: campaigns about offers and the shop (campaign topic ``marketing``);
* ``product_news``: campaigns about products (new versions, restocks: topic ``product_news``).

Both default to **on** for a customer who never chose (no row): the ePrivacy "soft opt-in" for
existing customers of the shop (Art. 13(2) of Directive 2002/58/EC), provided every message offers a
one-click way out, which each campaign email does (RFC 8058 headers and a footer link), and the
account's Preferences page shows the choice. A store that wants explicit opt-in instead changes
``DEFAULTS``. Emails about the customer's own orders (the receipt with the items, payment,
refunds, replacements) and password resets are not optional: no preference turns them off.

The unsubscribe token is ``itsdangerous`` signed (``SECRET_KEY``, salt ``PURPOSE``) over the
store id and the user id: it works without signing in and never expires (a link in an old email
must still work), and it can never act on another account: the user id is a random UUID never
reused (an account deleted and registered again with the same email is a new id, for which the
old link is refused), and a token of one store is refused by every other store. Changing
``SECRET_KEY`` invalidates every link (refused with a clear page, never applied elsewhere).
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, false, func, select, true

from extensions import db
from models import NotificationPreference, User

from .errors import Invalid, NotFound

PURPOSE = "campaign-unsubscribe"
FIELDS = ("marketing_emails", "product_news")
DEFAULTS = {"marketing_emails": True, "product_news": True}
TOPIC_FIELDS = {"marketing": "marketing_emails", "product_news": "product_news"}


def get_preferences(user: User) -> dict:
    """``{marketing_emails, product_news, updated_at}`` (the defaults when never chosen)."""
    row = db.session.get(NotificationPreference, user.id)
    if row is None:
        return {**DEFAULTS, "updated_at": None}
    return {name: getattr(row, name) for name in FIELDS} | {"updated_at": row.updated_at}


def update_preferences(user: User, changes: dict, *, via: str = "account") -> dict:
    """Set the preferences given (booleans); the others keep their value. ``via`` records where
    the change came from (``account``, ``api``)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise Invalid(f"Unknown preference: {', '.join(sorted(unknown))}", details={k: ["unknown"] for k in unknown})
    for name, value in changes.items():
        if not isinstance(value, bool):
            raise Invalid(f"{name} must be true or false", details={name: ["not a boolean"]})
    row = _row(user.id)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    row.changed_via = via
    db.session.flush()
    return get_preferences(user)


def unsubscribe(user: User) -> dict:
    """One click: every optional email off (both preferences), stamped."""
    row = _row(user.id)
    row.marketing_emails = False
    row.product_news = False
    row.updated_at = row.unsubscribed_at = datetime.now(UTC)
    row.changed_via = "unsubscribe_link"
    db.session.flush()
    return get_preferences(user)


def _row(user_id: str) -> NotificationPreference:
    row = db.session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id, **DEFAULTS)
        db.session.add(row)
    return row


def opted_in(topic: str, prefs=NotificationPreference):
    """The SQL condition "wants emails of ``topic``" for a query outer-joined to the preferences
    (no row: the default)."""
    column = getattr(prefs, TOPIC_FIELDS[topic])
    default = true() if DEFAULTS[TOPIC_FIELDS[topic]] else false()
    return func.coalesce(column, default) == true()


def join_condition(prefs=NotificationPreference, user=User):
    return and_(prefs.user_id == user.id, prefs.store_id == user.store_id)


# --- the unsubscribe token ---------------------------------------------------------------------

def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=PURPOSE)


def unsubscribe_token(store_id: str, user_id: str) -> str:
    return _serializer().dumps({"s": store_id, "u": user_id})


def user_for_token(token: str, store_id: str | None) -> User:
    """The account a token names, in the bound store ``store_id``; 404 ``unsubscribe_link_invalid``
    for a forged or altered token, another store's, or an account that no longer exists."""
    refused = NotFound("This unsubscribe link is not valid (it may be incomplete, or the account is gone)",
                       code="unsubscribe_link_invalid")
    try:
        data = _serializer().loads(token or "")
    except BadSignature:
        raise refused from None
    if not isinstance(data, dict) or not store_id or data.get("s") != store_id or not isinstance(data.get("u"), str):
        raise refused
    user = db.session.scalar(select(User).where(User.id == data["u"], User.store_id == store_id))
    if user is None:
        raise refused
    return user
