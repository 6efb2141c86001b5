"""The customer's account pages: overview, order history, balance history, settings and email preferences."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from models import Role
from services import account as account_service
from services import auth as auth_service
from services import balance, orders, payments, topups
from services import preferences as preference_service
from services.money import to_minor
from services.pagination import paginate
from web import form_errors, form_status, page_arg, role_required

from . import bp
from .forms import ChangeEmailForm, ChangePasswordForm, PreferencesForm, TopUpForm

ORDERS_PAGE_SIZE = 10
BALANCE_PAGE_SIZE = 20


def _orders_page(page: int, page_size: int) -> dict:
    results = orders.list_orders(buyer_id=current_user.id, page=page, page_size=page_size)
    return {"results": results, "lines": orders.lines_of([o.id for o in results["items"]])}


@bp.get("/account")
@role_required(Role.USER)
def account():
    return render_template("storefront/account/index.html", **_orders_page(1, 5))


@bp.get("/account/orders")
@role_required(Role.USER)
def account_orders():
    return render_template("storefront/account/orders.html", **_orders_page(page_arg(), ORDERS_PAGE_SIZE))


def _balance_page(form: TopUpForm | None = None, status: int = 200):
    methods = topups.methods(g.store)
    form = form or TopUpForm(formdata=None)
    form.payment_method.choices = [(m, payments.LABELS[m]) for m in methods]
    if not form.payment_method.data and methods:
        form.payment_method.data = methods[0]
    results = paginate(balance.history(current_user.id), page=page_arg(), page_size=BALANCE_PAGE_SIZE)
    low, high = topups.limits(g.store)
    returned = request.args.get("topup")
    return render_template("storefront/account/balance.html", results=results, form=form, methods=methods,
                           limits=(low, high), returned=returned if returned in ("done", "cancelled") else None,
                           recent_topups=topups.list_topups(current_user, page=1, page_size=5)["items"],
                           numbers=orders.numbers_of({t.order_id for t in results["items"]})), status


@bp.get("/account/balance")
@role_required(Role.USER)
def account_balance():
    return _balance_page()


@bp.post("/account/balance/top-up")
@role_required(Role.USER)
def top_up():
    """Start a top-up and send the shopper to the provider's page (credited when it confirms)."""
    form = TopUpForm()
    form.payment_method.choices = [(m, payments.LABELS[m]) for m in topups.methods(g.store)]
    if form.validate_on_submit():
        page = request.host_url.rstrip("/") + url_for("storefront.account_balance")
        with form_errors(form, codes={"payment_method_unavailable": "payment_method",
                                      "payment_provider_error": "payment_method"}):
            amount = to_minor((form.amount.data or "").strip().replace(" ", ""), g.store.currency, field="amount")
            _, payment = topups.start(g.store, current_user._get_current_object(), amount, form.payment_method.data,
                                      success_url=page + "?topup=done", cancel_url=page + "?topup=cancelled")
            return redirect(payment.redirect_url, 303)
    return _balance_page(form, 422)


def _settings(email_form=None, password_form=None, status: int = 200):
    return render_template("storefront/account/settings.html",
                           email_form=email_form or ChangeEmailForm(formdata=None),
                           password_form=password_form or ChangePasswordForm(formdata=None)), status


@bp.get("/account/settings")
@role_required(Role.USER)
def account_settings():
    return _settings()


@bp.post("/account/email")
@role_required(Role.USER)
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        with form_errors(form):
            account_service.change_email(current_user._get_current_object(), form.email.data, form.password.data)
            flash("Email changed.", "success")
            return redirect(url_for("storefront.account_settings"))
    return _settings(email_form=form, status=422)


@bp.post("/account/password")
@role_required(Role.USER)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with form_errors(form):
            auth_service.change_password(current_user, form.current_password.data, form.new_password.data)
            flash("Password changed.", "success")
            return redirect(url_for("storefront.account_settings"))
    return _settings(password_form=form, status=422)


@bp.route("/account/preferences", methods=["GET", "POST"])
@role_required(Role.USER)
def account_preferences():
    """Email preferences: the same service as ``PUT /api/customers/me/preferences``."""
    user = current_user._get_current_object()
    form = PreferencesForm(data=None if request.method == "POST" else preference_service.get_preferences(user))
    if form.validate_on_submit():
        with form_errors(form):
            preference_service.update_preferences(user, {"marketing_emails": bool(form.marketing_emails.data),
                                                         "product_news": bool(form.product_news.data)})
            flash("Email preferences saved.", "success")
            return redirect(url_for("storefront.account_preferences"))
    return render_template("storefront/account/preferences.html", form=form), form_status(form)
