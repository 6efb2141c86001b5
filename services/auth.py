"""Accounts and tokens: register, sign in, JWTs (flask-jwt-extended), refresh, logout, password reset, blacklist."""
from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import bindparam, delete, exists, func, or_, select, update

from extensions import db
from models import Blacklist, PasswordResetToken, RevokedToken, Role, Store, User
from tenancy import current_store_id
from transactions import enqueue_after_commit

from .cache import declare, store_fact
from .crypto import token_hash
from .errors import Conflict, FieldProblems, Forbidden, Invalid, Unauthorized, Unavailable
from .stores import base_url

_hashers: dict[tuple, tuple[PasswordHasher, str]] = {}


def _argon2() -> tuple[PasswordHasher, str]:
    """The hasher for the app's ARGON2_PARAMS (tests use cheap ones) and a dummy hash for it."""
    params = tuple(sorted((current_app.config.get("ARGON2_PARAMS") or {}).items()))
    if params not in _hashers:
        hasher = PasswordHasher(**dict(params))
        _hashers[params] = (hasher, hasher.hash("not-a-real-password"))
    return _hashers[params]
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
TOKEN_TYPES = ("access", "refresh", "guest")


# --- passwords ------------------------------------------------------------------------

def hash_password(password: str) -> str:
    return _argon2()[0].hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists; rehashes on a parameter change."""
    hasher, dummy = _argon2()
    if user is None:
        try:
            hasher.verify(dummy, password)
        except VerificationError:
            pass
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def check_password_strength(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < 8:
        raise Invalid("Password must be at least 8 characters", details={field: ["at least 8 characters"]})
    if len(password) > 128:
        raise Invalid("Password must be at most 128 characters", details={field: ["at most 128 characters"]})
    if password.isdigit() or password.lower() in {"password", "12345678", "qwertyui"}:
        raise Invalid("That password is too easy to guess", details={field: ["too common"]})


def normalize_email(email: str, field: str = "email") -> str:
    try:
        return validate_email((email or "").strip(), check_deliverability=False, test_environment=True).normalized.lower()
    except EmailNotValidError as exc:
        raise Invalid("That email address is not valid", details={field: [str(exc)]}) from exc


def check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise Invalid(
            "Username must be 3-32 letters, digits, dots, dashes or underscores",
            details={"username": ["3-32 of A-Z a-z 0-9 . _ -"]},
        )
    return username


# --- blacklist ------------------------------------------------------------------------

# one statement built once (a value not given is NULL, which equals nothing): checkout runs it on
# every order, and building it again cost more than running it
_BLACKLISTED = select(Blacklist).where(or_(*(
    (Blacklist.kind == kind) & (Blacklist.value == bindparam(kind)) for kind in ("ip", "email", "username")))).limit(1)


_ANY_BLACKLISTED = select(Blacklist.id).limit(1)
BLACKLIST_CACHE = declare("blacklist_exists", (Blacklist,))


def _store_blacklists() -> bool:
    """Whether the bound store has any blacklist entry at all (``cache.store_fact``): an entry added
    or removed here clears it at its flush, one added through another instance at its commit (with
    Redis), so most stores, which block nobody, skip the lookup on every order, registration and
    sign-in. With caching off the lookup itself answers."""
    return store_fact(BLACKLIST_CACHE, (Blacklist,), lambda: db.session.scalar(_ANY_BLACKLISTED) is not None,
                      uncached=True)


def check_blacklist(*, ip: str | None = None, email: str | None = None, username: str | None = None) -> None:
    """Refuse with 403 when any of the given values is blacklisted in the bound store."""
    values = {kind: value.strip().lower() if value else None
              for kind, value in (("ip", ip), ("email", email), ("username", username))}
    if not any(values.values()) or not _store_blacklists():
        return
    hit = db.session.scalar(_BLACKLISTED, values)
    if hit is not None:
        raise Forbidden(
            "This account or network is blocked from this store. Contact the store if you think this is a mistake.",
            code="blacklisted", details={"kind": hit.kind},
        )


# --- accounts -------------------------------------------------------------------------

def create_user(*, username: str, email: str, password: str, role: Role = Role.USER,
                check_strength: bool = True) -> User:
    """Create a user in the bound store (or a platform sysadmin in platform scope). Every field's
    problem (a bad or taken username, a bad or taken email, a weak password) is told in one refusal."""
    store_id = current_store_id()
    if role == Role.SYSADMIN and store_id is not None:
        raise Invalid("Sysadmins belong to no store", details={"role": ["SYSADMIN is platform-wide"]})
    if role != Role.SYSADMIN and store_id is None:
        raise Invalid("A store user needs a store", details={"store": ["required"]})
    problems = FieldProblems()
    username = problems.check(check_username, username)
    email = problems.check(normalize_email, email)
    if check_strength:
        problems.check(check_password_strength, password)
    taken = [User.email == email] if email else []
    taken += [func.lower(User.username) == username.lower()] if username else []
    clashes = db.session.scalars(select(User).where(or_(*taken)).limit(2)).all() if taken else []
    if email and any(clash.email == email for clash in clashes):
        problems.add(email_taken())
    if username and any((clash.username or "").lower() == username.lower() for clash in clashes):
        problems.add(Conflict("That username is taken", code="username_taken", details={"username": ["taken"]}))
    problems.raise_any()
    user = User(username=username, email=email, password_hash=hash_password(password), role=role.value)
    db.session.add(user)
    db.session.flush()
    return user


def email_taken(*, for_new_account: bool = True) -> Conflict:
    """The refusal of an email another account has. Only someone creating an account is told to
    sign in instead: one changing an existing account's email (its owner, an admin) is not."""
    advice = "Sign in, or use another address." if for_new_account else "Use another address."
    return Conflict(f"This email is already registered: an account with it already exists. {advice}",
                    code="email_taken", details={"email": ["already registered"]})


def register(*, username: str, email: str, password: str, ip: str | None) -> User:
    email_n = FieldProblems().check(normalize_email, email)  # a bad one is told with the other fields'
    check_blacklist(ip=ip, email=email_n, username=(username or "").strip())
    user = create_user(username=username, email=email_n or email, password=password)
    user.last_login_at = _now()
    user.last_login_ip = ip
    return user


def _find_login_user(identifier: str) -> User | None:
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254:
        return None
    column = User.email if "@" in identifier else User.username
    value = identifier.lower() if "@" in identifier else identifier
    cond = column == value if "@" in identifier else func.lower(column) == value.lower()
    user = db.session.scalar(select(User).where(cond))
    if user is not None:
        return user
    # Sysadmins belong to no store and may sign in at any store.
    return db.session.scalar(
        select(User).where(cond, User.store_id.is_(None), User.role == Role.SYSADMIN.value)
        .execution_options(all_stores=True)
    )


def authenticate(identifier: str, password: str, *, ip: str | None) -> User:
    check_blacklist(ip=ip)
    user = _find_login_user(identifier)
    if not verify_password(user, password or ""):
        raise Unauthorized("Wrong email/username or password", code="invalid_credentials")
    if user.store_id is not None:
        check_blacklist(email=user.email, username=user.username)
    if not user.is_active:
        raise Forbidden("This account is disabled", code="account_disabled")
    store = db.session.get(Store, user.store_id) if user.store_id else None
    if store is not None and store.status == "suspended" and not user.role_enum.at_least(Role.STAFF):
        # only its staff sign in (its dashboard says why): a shopper would land on a closed shop
        raise Unavailable("The shop is temporarily closed: signing in opens again when it reopens.",
                          code="store_suspended")
    user.last_login_at = _now()
    user.last_login_ip = ip
    return user


def load_user(user_id: str, store_id: str | None, *, session_id: str | None = None,
              row: User | None = None) -> User | None:
    """The user for a session or token in this store; sysadmins load in any store. ``session_id``:
    a page session's id, None if it was signed out (on any instance), asked in the same statement.
    ``row``: the user row already read with the token's checks (``token_revoked``): no query."""
    if row is not None and row.id == user_id:
        user = row
    else:
        stmt = select(User).where(User.id == user_id)
        if session_id:
            revoked = exists().where(RevokedToken.jti == SESSION_PREFIX + session_id[:48])
            found = db.session.execute(stmt.add_columns(revoked).execution_options(all_stores=True)).first()
            user = None if found is None or found[1] else found[0]
        else:
            user = db.session.scalar(stmt.execution_options(all_stores=True))
    if user is None or not user.is_active:
        return None
    if user.store_id is None and user.role == Role.SYSADMIN.value:
        return user
    return user if user.store_id == store_id else None


# --- JWT ------------------------------------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


def _signed_in_claims(user: User, typ: str) -> dict:
    return {"tenant": user.store_id, "role": user.role, "ver": user.token_version, "typ": typ}


def issue_tokens(user: User, *, fresh: bool = False) -> dict:
    """An access and a refresh token (flask-jwt-extended) for ``user``; ``fresh``: just signed in
    with the password (not by a refresh)."""
    ttl = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    access_exp = _now() + ttl
    access = create_access_token(identity=user.id, fresh=fresh, additional_claims=_signed_in_claims(user, "access"))
    refresh_token = create_refresh_token(identity=user.id, additional_claims=_signed_in_claims(user, "refresh"))
    return {
        "access_token": access,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": int(ttl.total_seconds()),
        "expires_at": access_exp,
    }


def issue_guest_token(store: Store) -> dict:
    """A guest's token: an access token that names no user (``typ`` guest, ``sub`` guest:<gid>)."""
    guest_id = uuid.uuid4().hex
    ttl = current_app.config["JWT_GUEST_TOKEN_EXPIRES"]
    exp = _now() + ttl
    token = create_access_token(
        identity=f"guest:{guest_id}", expires_delta=ttl,
        additional_claims={"tenant": store.id, "role": Role.GUEST.value, "typ": "guest", "gid": guest_id},
    )
    return {"token": token, "access_token": token, "token_type": "Bearer", "guest_id": guest_id,
            "role": Role.GUEST.value, "expires_at": exp}


def well_formed(claims: dict) -> bool:
    """Our claims on a verified token: ``typ`` one of ours and agreeing with flask-jwt-extended's
    ``type``, and ``exp``, ``iat``, ``jti`` present (a token without an expiry is refused)."""
    typ = claims.get("typ")
    if typ not in TOKEN_TYPES or (typ == "refresh") != (claims.get("type") == "refresh"):
        return False
    return all(claims.get(name) is not None for name in ("exp", "iat", "jti"))


# built once: every request with a token runs it
_USER_AND_JTI_REVOKED = (select(User, exists().where(RevokedToken.jti == bindparam("jti")))
                         .where(User.id == bindparam("sub")).execution_options(all_stores=True))


def token_revoked(claims: dict) -> tuple[bool, User | None]:
    """Refused although well signed: its ``jti`` was revoked (logout, refresh rotation), or the
    user's ``token_version`` moved past its ``ver`` (a password reset, disabling, erasure).
    One statement: the user row with whether the ``jti`` is revoked; the row is returned too, so
    the caller's user lookup (``load_user(row=...)``) costs nothing more. A guest token: the jti only."""
    jti = claims.get("jti")
    if claims.get("typ") == "guest":
        return bool(jti) and db.session.get(RevokedToken, jti) is not None, None
    # no jti: NULL, which no revoked row has
    found = db.session.execute(_USER_AND_JTI_REVOKED, {"jti": jti or None, "sub": claims.get("sub")}).first()
    if found is None:  # no such user (any more): the lookup refuses it
        return False, None
    user, jti_revoked = found
    return bool(jti_revoked) or user.token_version != claims.get("ver"), user


def revoke(claims: dict) -> None:
    if db.session.get(RevokedToken, claims["jti"]) is None:
        db.session.add(RevokedToken(jti=claims["jti"], expires_at=datetime.fromtimestamp(claims["exp"], timezone.utc)))
        db.session.flush()


def refresh(user: User, refresh_claims: dict) -> dict:
    """Rotate: the (verified) refresh token is spent and a new pair issued."""
    revoke(refresh_claims)
    return issue_tokens(user)


def logout(access_claims: dict | None, refresh_claims: dict | None) -> None:
    """Revoke each (verified) token a logout names: the access token sent, the refresh token given.
    Either may be missing: after the access token expired, the refresh token alone is revoked.
    Whoever holds a refresh token can use it, so revoking it takes nothing from anyone."""
    for claims in (access_claims, refresh_claims):
        if claims:
            revoke(claims)


# --- page sessions: a logout ends this session everywhere ----------------------------------------
# A page session is a signed cookie: any instance accepts it, and signing out only asks the browser
# to drop it. So each sign-in gets a random session id (kept in the session, web.py) and signing out
# records it as revoked, in the same table as revoked token ids, until the cookie could no longer be
# accepted anyway (PERMANENT_SESSION_LIFETIME, Flask's max age for a session cookie).
SESSION_PREFIX = "session:"


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def revoke_session(session_id: str) -> None:
    jti = SESSION_PREFIX + session_id[:48]
    if db.session.get(RevokedToken, jti) is None:
        lifetime = current_app.config.get("PERMANENT_SESSION_LIFETIME") or timedelta(days=31)
        if not isinstance(lifetime, timedelta):
            lifetime = timedelta(seconds=int(lifetime))
        db.session.add(RevokedToken(jti=jti, expires_at=_now() + lifetime))
        db.session.flush()


def purge_revoked_tokens() -> int:
    """Housekeeping job: forget revoked tokens that have expired anyway."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < _now()))
    return result.rowcount or 0


# --- password reset -------------------------------------------------------------------

def request_password_reset(email: str, *, ip: str | None) -> None:
    """Always succeeds silently (no account enumeration); emails a link when the account exists.

    The link is built on the store's own public address (``stores.base_url``: its custom domain,
    its platform subdomain or PUBLIC_BASE_URL), never on the Host the request came with.
    """
    try:
        email = normalize_email(email)
    except Invalid:
        return
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        return
    send_password_link(user, ip=ip)


WELCOME_LINK_TTL = timedelta(days=7)  # a welcome's link (a new store's admin, an account made by an admin)


def send_password_link(user: User, *, ip: str | None = None, template: str = "password_reset",
                       ttl: timedelta | None = None, context: dict | None = None) -> None:
    """Email ``user`` a single-use link to choose a password (the reset flow): a reset, or the
    welcome of a new store's first admin (``template="welcome_admin"``, a longer ``ttl``)."""
    ttl = ttl or current_app.config["PASSWORD_RESET_TTL"]
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash(token), requested_ip=ip, expires_at=_now() + ttl,
    ))
    db.session.flush()
    minutes = int(ttl.total_seconds() // 60)
    enqueue_after_commit(
        "jobs.emails.send_email", to=user.email, template=template, queue="emails",
        context={**(context or {}), "username": user.username, "minutes": minutes, "days": minutes // 1440,
                 "reset_link": f"{base_url(db.session.get(Store, user.store_id))}/reset-password/{token}"},
    )


def _usable_reset(token: str, *, lock: bool = False) -> PasswordResetToken | None:
    """The reset link's row while it still works (never used, not expired), else None."""
    query = select(PasswordResetToken).where(PasswordResetToken.token_hash == token_hash(token))
    record = db.session.scalar(query.with_for_update() if lock else query)
    if record is None or record.used_at is not None or record.expires_at < _now():
        return None
    return record


def reset_link_usable(token: str) -> bool:
    """Whether the reset page should offer its form (a used or expired link offers a new one)."""
    return _usable_reset(token) is not None


def reset_password(token: str, new_password: str) -> User:
    check_password_strength(new_password)
    record = _usable_reset(token, lock=True)
    if record is None:
        raise Invalid("This reset link is invalid or has expired; ask for a new one",
                      code="reset_token_invalid", status=400)
    user = db.session.scalar(select(User).where(User.id == record.user_id))
    if user is None:
        raise Invalid("This reset link is invalid or has expired; ask for a new one",
                      code="reset_token_invalid", status=400)
    now = _now()
    # Single use, even under concurrent requests: only one UPDATE can flip used_at.
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == record.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        raise Invalid("This reset link was already used", code="reset_token_invalid", status=400)
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )
    user.password_hash = hash_password(new_password)
    user.token_version = (user.token_version or 0) + 1
    db.session.flush()
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user, current_password or ""):
        raise Invalid("The current password is wrong", code="wrong_password",
                      details={"current_password": ["wrong password"]})
    check_password_strength(new_password, field="new_password")
    user.password_hash = hash_password(new_password)
    db.session.flush()


def active_admins() -> list[User]:
    """The store's active admins (who get its operational emails)."""
    return list(db.session.scalars(select(User).where(User.role == Role.ADMIN.value, User.is_active.is_(True))))
