"""Authentication: Seed A "Authentication" and Seed B "Group 1"."""
from __future__ import annotations

from apiflask import APIBlueprint
from flask import current_app, g, request

from services import auth as auth_service
from services import cart as cart_service

from . import cart_owner
from .access import (
    access,
    current_principal,
    optional_token,
    rate_limited,
    refresh_to_revoke,
    require_user,
    verified_refresh,
)
from .schemas.auth import (
    ForgotIn,
    GuestTokenOut,
    LoginIn,
    RefreshIn,
    RegisterIn,
    ResetIn,
    TokensOut,
    UserOut,
)
from .schemas.common import Message

bp = APIBlueprint("api_auth", __name__, url_prefix="/api", tag="Authentication")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


def _tokens(user) -> dict:
    """A fresh pair (just signed in with the password) and the user. Signing in merges: the guest
    cart of the guest token the request is sent with, and of its ``X-Session-ID``, joins the user's
    (``api.cart_owner.sign_in_keys``)."""
    cart_service.merge_guest_carts(user, cart_owner.sign_in_keys())
    return {**auth_service.issue_tokens(user, fresh=True), "user": UserOut.of(user, g.store)}


@bp.post("/auth/register")
@access("public")
@rate_limited(_login_limit)
@bp.input(RegisterIn, arg_name="body")
@bp.output(TokensOut, status_code=201)
@bp.doc(responses={403: "This address, name or network is blocked from the store (`blacklisted`)",
                   409: "The username or email is taken (`username_taken`, `email_taken`)"})
def register(body: RegisterIn):
    """Register a customer account and sign in.

    Returns the access and refresh tokens and the new user (role USER). A guest cart is merged into
    the new account's as at login (the guest token sent as the Bearer token, `X-Session-ID`).
    """
    user = auth_service.register(username=body.username, email=body.email, password=body.password,
                                 ip=request.remote_addr)
    return _tokens(user)


@bp.post("/auth/login")
@access("public")
@rate_limited(_login_limit)
@bp.input(LoginIn, arg_name="body")
@bp.output(TokensOut)
@bp.doc(responses={401: "Wrong email/username or password (`invalid_credentials`)",
                   403: "The account is disabled (`account_disabled`) or blocked (`blacklisted`)"})
def login(body: LoginIn):
    """Sign in with email or username (`login`, `email` or `username`) and password.

    Signing in merges the guest's cart into the user's: send the guest token of
    `/api/public/guest/token` as the Bearer token of this request, and/or the `X-Session-ID` the
    cart was kept under. Quantities add up within each subcategory's maximum, the guest's coupon is
    kept if the user's cart has none, and the guest cart is gone. A token of another store, an
    expired one or a malformed `X-Session-ID` merges nothing and does not stop the sign-in.
    """
    user = auth_service.authenticate(body.login, body.password, ip=request.remote_addr)
    return _tokens(user)


@bp.get("/auth/me")
@access("user")
@bp.output(UserOut)
def me():
    """The signed-in user."""
    return UserOut.of(require_user(), g.store)


@bp.post("/auth/refresh")
@access("public")
@bp.input(RefreshIn, arg_name="body")
@bp.output(TokensOut)
@bp.doc(responses={401: "No refresh token, or one that is invalid, expired, spent or of another store"})
def refresh(body: RefreshIn):
    """Exchange a refresh token (in the body, or as the Bearer token) for a new pair.

    The refresh token is spent: using it again answers 401.
    """
    principal, claims = verified_refresh()
    tokens = auth_service.refresh(principal.user, claims)
    return {**tokens, "user": UserOut.of(principal.user, g.store)}


@bp.post("/auth/logout")
@access("public")
@bp.input(RefreshIn, arg_name="body")
@bp.output(Message)
@bp.doc(security=optional_token(),
        responses={401: "The body's `refresh_token` is not a refresh token of this store (`token_invalid`, "
                        "`token_wrong_store`); nothing was revoked"})
def logout(body: RefreshIn):
    """Sign out on the server: revoke the access token sent as the Bearer token and the refresh
    token in the body (`{"refresh_token": ...}`; or sent as the Bearer token itself).

    Every token given that still works is revoked; one that no longer works anyway (expired,
    revoked already, its account gone) is skipped. So signing out after the 15-minute access token
    has expired still revokes the refresh token, and signing out twice answers 200 both times.
    A bad Bearer header never stops a logout (as on every public endpoint). A `refresh_token` that
    is not a refresh token of this store (malformed, forged, an access token, another store's) is
    refused with 401 and nothing is revoked, so a client never believes a live token is dead.
    """
    principal = current_principal()  # public: a stale or bad header is no token
    access_claims = principal.claims if principal.user is not None else None
    in_body = body.refresh_token is not None
    refresh_claims = refresh_to_revoke(in_body=in_body) if in_body or principal.claims is None else None
    auth_service.logout(access_claims, refresh_claims)
    return {"message": "Signed out"}


@bp.post("/auth/forgot-password")
@access("public")
@rate_limited(_reset_limit)
@bp.input(ForgotIn, arg_name="body")
@bp.output(Message, status_code=202)
def forgot_password(body: ForgotIn):
    """Email a single-use reset link if an account has this address. Always answers 202."""
    auth_service.request_password_reset(body.email, ip=request.remote_addr)
    return {"message": "If an account uses that address, a reset link is on its way."}


@bp.post("/auth/reset-password")
@access("public")
@rate_limited(_reset_limit)
@bp.input(ResetIn, arg_name="body")
@bp.output(Message)
@bp.doc(responses={400: "The reset link is invalid, expired or already used (`reset_token_invalid`)"})
def reset_password(body: ResetIn):
    """Set a new password with the emailed token. Every existing token is revoked."""
    auth_service.reset_password(body.token, body.password)
    return {"message": "Your password has been changed; sign in with the new one."}


@bp.get("/public/guest/token")
@access("public")
@bp.output(GuestTokenOut)
def guest_token():
    """A temporary guest token (Seed B): identifies a guest's cart until they sign in."""
    return auth_service.issue_guest_token(g.store)
