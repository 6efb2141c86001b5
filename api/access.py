"""Who is calling, and the access decorators for every level of RECONCILE.md."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps

from flask import g, request

from extensions import limiter
from models import Role, User
from services import auth as auth_service
from services.errors import Forbidden, NotFound, Unauthorized
from web import audit_as, bind_user

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


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'", code="token_invalid")
    return token.strip()


def current_principal() -> Principal:
    """The caller of this API request (resolved once per request)."""
    principal = g.get("principal")
    if principal is None:
        principal = _resolve()
        g.principal = principal
        bind_user(principal.user)  # on the log lines from here on
    return principal


def _resolve() -> Principal:
    token = bearer_token()
    if token is None:
        return ANONYMOUS
    claims = auth_service.decode_token(token)
    store = g.store if g.store is not None and g.store.status != "deleted" else None
    if claims["typ"] == "guest":
        if store is None or claims.get("tenant") != store.id:
            raise Unauthorized("This token belongs to another store", code="token_wrong_store")
        return Principal(role=Role.GUEST, claims=claims, guest_id=claims.get("gid"))
    if claims["typ"] != "access":
        raise Unauthorized("Send the access token, not the refresh token", code="token_invalid")
    user = auth_service.user_for_claims(claims, store)
    return Principal(user=user, role=user.role_enum, claims=claims)


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
            spec["security"] = [{"BearerAuth": []}, {}]
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
    """Public endpoints ignore a bad token (a stale header must not break sign-in)."""
    try:
        return current_principal()
    except Unauthorized:
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


def catalog_view() -> str:
    """Shoppers see the catalog's public fields; STAFF and above also see hidden products and
    variants and the staff-only fields."""
    return "staff" if is_staff() else "shopper"


def require_user() -> User:
    principal = current_principal()
    if principal.user is None:
        raise Unauthorized("Sign in to do this", code="authentication_required")
    return principal.user
