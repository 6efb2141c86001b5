"""Sign in, register, sign out, forgot and reset password (Flask-Login sessions)."""
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from extensions import limiter
from models import Role
from services import auth as auth_service
from web import form_errors, form_status

from . import bp
from .cart import merge_session_cart
from .forms import ForgotForm, LoginForm, RegisterForm, ResetForm
from .wishlist import pending_save, save_after_sign_in


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


def _pending() -> dict:
    """What the sign-in and register pages pass on to each other: where to go next, and the
    product a guest's wishlist heart asked to save (saved once signed in)."""
    save = pending_save()
    return {"save": save, "carry": {key: value for key, value in (("next", request.args.get("next")), ("save", save))
                                    if value}}


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit():
    return current_app.config["RESET_RATE_LIMIT"]


def _only_post():
    return request.method != "POST"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, exempt_when=_only_post)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("storefront.account"))
    form = LoginForm()
    if form.validate_on_submit():
        with form_errors(form):
            user = auth_service.authenticate(form.login.data, form.password.data, ip=request.remote_addr)
            merge_session_cart(user)
            login_user(user, remember=form.remember.data)
            flash(f"Welcome back, {user.username}.", "success")
            save_after_sign_in(user)
            # staff work the replacement queue: it is where they land unless sent elsewhere
            landing = "admin.replacements_list" if user.role_enum == Role.STAFF else "storefront.account"
            if user.role_enum == Role.SYSADMIN:
                landing = "sysadmin.dashboard"  # the platform's own area
            elif g.store is not None and g.store.status == "suspended":
                landing = "admin.overview"  # its shop is closed: the dashboard says why
            return redirect(_safe_next(url_for(landing)))
    error = getattr(form, "domain_error", None)
    if error is not None and error.code == "store_suspended":  # a closed shop's shopper: 503, as the shop answers
        return (render_template("storefront/auth/login.html", form=form, **_pending()), error.status,
                error.response_headers())
    return render_template("storefront/auth/login.html", form=form, **_pending()), form_status(form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, exempt_when=_only_post)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("storefront.account"))
    form = RegisterForm()
    if form.validate_on_submit():
        with form_errors(form):
            user = auth_service.register(username=form.username.data, email=form.email.data,
                                         password=form.password.data, ip=request.remote_addr)
            merge_session_cart(user)
            login_user(user)
            flash("Your account is ready.", "success")
            save_after_sign_in(user)
            return redirect(_safe_next(url_for("storefront.account")))
    return render_template("storefront/auth/register.html", form=form, **_pending()), form_status(form)


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("storefront.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(_reset_limit, exempt_when=_only_post)
def forgot_password():
    form = ForgotForm()
    if form.validate_on_submit():
        auth_service.request_password_reset(form.email.data, ip=request.remote_addr)
        return render_template("storefront/auth/forgot_sent.html", email=form.email.data)
    return render_template("storefront/auth/forgot.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, exempt_when=_only_post)
def reset_password(token: str):
    form = ResetForm()
    if form.validate_on_submit():
        with form_errors(form):
            auth_service.reset_password(token, form.password.data)
            logout_user()
            flash("Your password has been changed. Sign in with the new one.", "success")
            return redirect(url_for("storefront.login"))
    if not auth_service.reset_link_usable(token):  # used, expired or unknown: no form to fill in for nothing
        return render_template("storefront/auth/reset.html", form=form, token=token, usable=False), \
            form_status(form) if request.method == "POST" else 400
    return render_template("storefront/auth/reset.html", form=form, token=token, usable=True), form_status(form)
