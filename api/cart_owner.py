"""Whose cart an API request means: the one place that decides (RECONCILE.md "Carts").

- a signed-in user: the user's cart. When the request also carries ``X-Session-ID``, that guest
  cart is merged into it first (signing in merges);
- a guest token (``typ`` guest): the guest key ``g:<guest id>``;
- otherwise the ``X-Session-ID`` header (1-64 of ``A-Z a-z 0-9 _ -``, anything else is a 400):
  the guest key ``s:<value>``;
- otherwise the browser's page session (its cookie): the shop's signed-in user, or the guest cart
  the shop's pages keep in the session (``web.page_cart_owner``), so the API and the pages show the
  same cart. The cookie is sent by the browser with any site's request, so an unsafe request
  (POST, PUT, PATCH, DELETE) identified by it alone must carry the page's CSRF token in the
  ``X-CSRFToken`` header (``web.require_page_csrf``: else 400 ``csrf_failed``); reads need none.
  The API does not start a page session's cart: the shop's first add to cart does;
- nobody: reads answer an empty cart without creating one; writes answer 400 ``no_cart_owner``.

Signing in merges: ``sign_in_keys`` names the guest carts a sign-in request carries (its guest
token, its ``X-Session-ID``) for ``services.cart.merge_guest_carts``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import g, request
from flask_jwt_extended import decode_token

from models import Cart, User
from services import cart as cart_service
from services.errors import DomainError, Invalid, Unauthorized
from web import page_cart_owner, require_page_csrf

from .access import current_principal

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SESSION_HEADER = "X-Session-ID"


@dataclass
class CartOwner:
    user: User | None = None
    guest_key: str | None = None

    @property
    def known(self) -> bool:
        return self.user is not None or self.guest_key is not None

    @property
    def customer_key(self) -> str | None:
        """Who uses a coupon (per-customer limits): the user; a guest is known by email only at checkout."""
        return self.user.id if self.user is not None else None


def session_key(value: str | None, *, field: str = SESSION_HEADER) -> str | None:
    """``s:<value>`` for a valid session id, None when absent, 400 when malformed."""
    if value is None:
        return None
    value = value.strip()
    if not SESSION_ID_RE.match(value):
        raise DomainError(f"{field} must be 1-64 letters, digits, '-' or '_'", code="invalid_session_id",
                          details={field: ["1-64 of A-Z a-z 0-9 _ -"]}, status=400)
    return f"s:{value}"


def guest_token_key(token: str) -> str:
    """``g:<gid>`` for a guest token of this store (401 for any other token)."""
    claims = decode_token(token)  # a bad or expired token: flask-jwt-extended's 401 (api.access)
    if claims.get("typ") != "guest" or not claims.get("gid"):
        raise Unauthorized("guest_token must be a guest token of /api/public/guest/token", code="token_invalid")
    if claims.get("tenant") != g.store.id:
        raise Unauthorized("This token belongs to another store", code="token_wrong_store")
    return f"g:{claims['gid']}"


def owner() -> CartOwner:
    principal = current_principal()
    if principal.user is not None:
        return CartOwner(user=principal.user)
    if principal.guest_id:
        return CartOwner(guest_key=f"g:{principal.guest_id}")
    header = session_key(request.headers.get(SESSION_HEADER))
    if header is not None:
        return CartOwner(guest_key=header)
    user, key = page_cart_owner()
    if user is None and key is None:
        return CartOwner()
    if request.method not in SAFE_METHODS:
        require_page_csrf()
    return CartOwner(user=user, guest_key=key)


def sign_in_keys() -> list[str]:
    """The guest carts a sign-in request (``POST /api/auth/login``, ``/register``) names, to merge
    into the user's: the guest token it is sent with (one of this store: ``api.access`` refuses any
    other, and a sign-in treats a refused token as none) and its ``X-Session-ID`` (a malformed one
    is ignored too: a cart header must not stop a sign-in). The page session's cart is merged by the
    shop's own sign-in, not here."""
    principal = current_principal()
    keys = [f"g:{principal.guest_id}"] if principal.user is None and principal.guest_id else []
    try:
        header = session_key(request.headers.get(SESSION_HEADER))
    except DomainError:
        header = None
    return keys + [header] if header else keys


def resolve(*, create: bool, lock: bool = False) -> tuple[CartOwner, Cart | None]:
    """The caller and their cart (``services.cart.cart_for``). ``create``: this request writes to
    the cart (it is made if missing; without an owner that is a 400). Otherwise a missing cart is
    None. A signed-in caller who also sends ``X-Session-ID`` gets that guest cart merged first.
    ``lock``: the cart is read with its row lock (a checkout, which takes it anyway)."""
    who = owner()
    if not who.known and create:
        raise Invalid("Sign in, send a guest token, or send an X-Session-ID header to use a cart",
                      code="no_cart_owner", status=400)
    guest_key = session_key(request.headers.get(SESSION_HEADER)) if who.user is not None else who.guest_key
    return who, cart_service.cart_for(user=who.user, guest_key=guest_key, create=create, lock=lock)
