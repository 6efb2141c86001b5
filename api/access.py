"""Who is calling (the Bearer token, verified by flask-jwt-extended with the loaders here), and the
access decorators for every level of RECONCILE.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

from flask import g
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import RevokedTokenError, UserLookupError
from jwt.exceptions import ExpiredSignatureError

from extensions import jwt, limiter
from models import Role, User
from services import auth as auth_service
from services.errors import Forbidden, NotFound, Unauthorized
from web import TOKEN_ERRORS, audit_as, bind_user

from .errors import envelope

# Access levels: the spelling of endpoints.tsv -> (needs a token, minimum role)
LEVELS: dict[str, tuple[bool, Role | None]] = {
    "public": (False, None),     # '-', 'Guest+'
    "optional": (False, None),   # 'Optional': a token, if sent, identifies the caller
    "user": (True, Role.USER),   # 'Bearer', 'User+' (not a guest token)
    "staff": (True, Role.STAFF),
    "manager": (True, Role.MANAGER),
    "admin": (True, Role.ADMIN),
    "sysadmin": (True, Role.SYSADMIN),
}
DOC_LEVELS = {"-": "public", "Guest+": "public", "Optional": "optional", "Bearer": "user", "User+": "user",
              "Staff+": "staff", "Manager+": "manager", "Admin": "admin", "SysAdmin": "sysadmin"}


@dataclass
class Principal:
    user: User | None = None
    role: Role = Role.GUEST
    claims: dict | None = field(default=None, repr=False)
    guest_id: str | None = None

    @property
    def is_user(self) -> bool:
        return self.user is not None


ANONYMOUS = Principal()


def current_principal() -> Principal:
    """The caller of this API request (resolved once per request)."""
    principal = g.get("principal")
    if principal is None:
        principal = _resolve()
        g.principal = principal
        bind_user(principal.user)  # on the log lines from here on
    return principal


def _resolve() -> Principal:
    """flask-jwt-extended verifies the Bearer token (signature, HS256, expiry, type, the loaders
    below); no token is the anonymous caller, a bad one answers 401."""
    if verify_jwt_in_request(optional=True) is None:
        return ANONYMOUS
    return get_current_user()


def verified_refresh() -> tuple[Principal, dict]:
    """The caller of ``POST /api/auth/refresh``: a verified refresh token, from the body's
    ``refresh_token`` or else the Bearer header (a spent one is revoked: 401)."""
    verify_jwt_in_request(refresh=True, locations=["json", "headers"])
    return get_current_user(), get_jwt()


# A token that can no longer be used anyway: expired, revoked (a logout, a rotation, a password
# change), or its account gone. A logout has nothing left to revoke in it.
SPENT_TOKEN_ERRORS = (ExpiredSignatureError, RevokedTokenError, UserLookupError)


def refresh_to_revoke(*, in_body: bool) -> dict | None:
    """The claims of the refresh token a logout names, verified as ``POST /api/auth/refresh``
    verifies one (the loaders below): the body's ``refresh_token`` (``in_body``), else a refresh
    token sent as the Bearer token. None when there is none, or when it is spent already
    (``SPENT_TOKEN_ERRORS``). A body token that is not a refresh token of this store (malformed,
    forged, an access token, another store's) is the loaders' 401; a bad header is ignored, as
    every public endpoint ignores one."""
    try:
        if verify_jwt_in_request(optional=True, refresh=True, locations=["json" if in_body else "headers"]) is None:
            return None
    except SPENT_TOKEN_ERRORS:
        return None
    except (Unauthorized, *TOKEN_ERRORS):
        if in_body:
            raise
        return None
    return get_jwt()


# --- flask-jwt-extended's loaders ------------------------------------------------------------

def _request_store():
    return g.store if g.get("store") is not None and g.store.status != "deleted" else None


@jwt.token_in_blocklist_loader
def _token_revoked(_header: dict, claims: dict) -> bool:
    revoked, g.token_user_row = auth_service.token_revoked(claims)  # the row: for _principal_for
    return revoked


@jwt.token_verification_loader
def _token_well_formed(_header: dict, claims: dict) -> bool:
    return auth_service.well_formed(claims)


@jwt.user_lookup_loader
def _principal_for(_header: dict, claims: dict) -> Principal | None:
    """Who a verified token names, in this request's store (a token of another store: 401). A
    platform path with no store knows only sysadmins' storeless tokens. None: no such active user."""
    store = _request_store()
    tenant = claims.get("tenant")
    if (tenant is not None or claims["typ"] == "guest") and (store is None or tenant != store.id):
        raise Unauthorized("This token belongs to another store", code="token_wrong_store")
    if claims["typ"] == "guest":
        return Principal(role=Role.GUEST, claims=claims, guest_id=claims.get("gid"))
    user = auth_service.load_user(claims["sub"], store.id if store is not None else None,
                                  row=g.pop("token_user_row", None))
    if user is None:
        return None
    return Principal(user=user, role=user.role_enum, claims=claims)


def _unauthorized(message: str, code: str):
    return envelope(401, message, code=code)


@jwt.unauthorized_loader
def _missing(_reason: str):
    return _unauthorized("Sign in to do this", "authentication_required")


@jwt.invalid_token_loader
def _invalid(reason: str):
    wrong_type = {"Only non-refresh tokens are allowed": "Send the access token, not the refresh token",
                  "Only refresh tokens are allowed": "A refresh token is required"}
    return _unauthorized(wrong_type.get(reason, "The token is not valid"), "token_invalid")


@jwt.expired_token_loader
def _expired(_header: dict, _claims: dict):
    return _unauthorized("Your session has expired; sign in again", "token_expired")


@jwt.revoked_token_loader
def _revoked(_header: dict, _claims: dict):
    return _unauthorized("This token was revoked; sign in again", "token_revoked")


@jwt.needs_fresh_token_loader
def _needs_fresh(_header: dict, _claims: dict):
    return _unauthorized("Sign in again with your password to do this", "fresh_token_required")


@jwt.token_verification_failed_loader
def _malformed(_header: dict, _claims: dict):
    return _unauthorized("The token is not valid", "token_invalid")


@jwt.user_lookup_error_loader
def _no_such_user(_header: dict, _claims: dict):
    return _unauthorized("The token is no longer valid; sign in again", "token_invalid")


def optional_token() -> list[dict]:
    """The OpenAPI security of an operation a token is optional for: the "optional" level, and a
    public one that uses a token if one is sent (``@bp.doc(security=optional_token())``: logout)."""
    return [{"BearerAuth": []}, {}]


def access(level: str):
    """Guard a view. Put it under the route decorator and above @input/@output."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")
    needs_user, minimum = LEVELS[level]

    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
            if level == "public":
                g.principal = _public_principal()
            else:
                principal = current_principal()
                if needs_user:
                    if principal.user is None:
                        raise Unauthorized("Sign in to do this", code="authentication_required")
                    if not principal.role.at_least(minimum):
                        raise Forbidden(f"This needs the {minimum.value} role or higher", code="insufficient_role")
                    if minimum.at_least(Role.STAFF):  # staff work is audited; self-service is not
                        audit_as(principal.user)
            return f(*args, **kwargs)

        wrapper._access = level
        spec = dict(getattr(f, "_spec", {}))
        if level == "optional":  # a token, if sent, identifies the caller: none is needed
            spec["security"] = optional_token()
        elif level != "public":
            spec["security"] = "BearerAuth"
        wrapper._spec = spec
        return wrapper

    return decorator


def rate_limited(limit):
    """Flask-Limiter's per-IP ``limit`` (a limit string, or a callable that reads one from the
    config), marked so that the OpenAPI document lists the 429 (``api.errors.document_errors``)."""

    def decorator(f):
        limited = limiter.limit(limit)(f)
        limited._rate_limited = True
        return limited

    return decorator


def _public_principal() -> Principal:
    """Public endpoints (RECONCILE.md ``-``, Guest+: "anyone, with or without a token") ignore a bad
    token: an expired, revoked, malformed or another store's token is no token (a stale header must
    not break sign-in, a product list or a CMS page). A valid one still identifies the caller (staff
    see hidden products, a manager draft pages)."""
    try:
        return current_principal()
    except (Unauthorized, *TOKEN_ERRORS):
        return ANONYMOUS


def order_view(order, viewer: User | None) -> str:
    """The view of an order (api.schemas.orders) its caller gets: a guest's (at checkout), its
    buyer's, or staff's. Anyone else gets no view at all: a 404, as if the order did not exist."""
    if viewer is None:
        if order.buyer_id is None:
            return "guest"
    elif viewer.id == order.buyer_id:
        return "buyer"
    elif viewer.role_enum.at_least(Role.STAFF):
        return "staff"
    raise NotFound("No such order", code="order_not_found")


def is_staff() -> bool:
    """STAFF and above (any access level: a token, if sent, counts)."""
    return current_principal().role.at_least(Role.STAFF)


def manages_catalog() -> bool:
    """MANAGER and above: those who may create, change and delete products (Seed A's product
    writes are Manager+; Seed B's ``/api/admin/product/*`` Admin)."""
    return current_principal().role.at_least(Role.MANAGER)


def catalog_view() -> str:
    """Shoppers see the catalog's public fields; STAFF and above also see hidden products and
    variants and the staff-only fields."""
    return "staff" if is_staff() else "shopper"


def require_user() -> User:
    principal = current_principal()
    if principal.user is None:
        raise Unauthorized("Sign in to do this", code="authentication_required")
    return principal.user
