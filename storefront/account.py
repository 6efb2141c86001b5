"""The customer's account pages: overview, order history, balance history, profile, addresses,
settings (email and password), email preferences and privacy (download my data, delete my account)."""
from flask import Response, abort, current_app, flash, g, json, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from models import Role
from services import account as account_service
from services import addresses as address_service
from services import balance, orders, payments, topups
from services import preferences as preference_service
from services.pagination import paginate
from web import form_errors, form_status, page_arg, private, reread, role_required, typed_money, wants_fragment

from . import bp
from .forms import (
    AddressForm,
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    PreferencesForm,
    ProfileForm,
    TopUpForm,
)

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
            amount = typed_money(form.amount.data, g.store.currency, "amount")
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
            user = account_service.change_password(current_user._get_current_object(), form.current_password.data,
                                                   form.new_password.data)
            # every other session ended with the old version; this one signs in again with the new
            remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remember)
            flash("Password changed. Every other device and app was signed out.", "success")
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


# --- profile ---------------------------------------------------------------------------------

@bp.route("/account/profile", methods=["GET", "POST"])
@role_required(Role.USER)
def account_profile():
    """Name, username, phone and language: the same service as ``PUT /api/customers/me``."""
    user = current_user._get_current_object()
    form = ProfileForm(data=None if request.method == "POST" else {
        "full_name": user.full_name, "username": user.username, "phone": user.phone, "locale": user.locale or ""})
    form.locale.choices = account_service.locale_choices(user.locale)
    if form.validate_on_submit():
        with form_errors(form):
            account_service.update_profile(user, {"full_name": form.full_name.data or "", "username": form.username.data,
                                                  "phone": form.phone.data or "", "locale": form.locale.data or None})
            flash("Profile saved.", "success")
            return redirect(url_for("storefront.account_profile"))
    return render_template("storefront/account/profile.html", form=form), form_status(form)


# --- addresses -------------------------------------------------------------------------------

def _address_form(address=None, formdata=True) -> AddressForm:
    data = None
    if address is not None and request.method == "GET":
        data = {name: getattr(address, name) for name in (*address_service.FIELDS, *address_service.FLAGS)}
    form = AddressForm(formdata=None if not formdata else request.form if request.method == "POST" else None,
                       data=data)
    form.country.choices = [("", "Choose a country")] + address_service.country_choices()
    return form


def _address_data(form: AddressForm) -> dict:
    data = {name: (getattr(form, name).data or "") for name in address_service.FIELDS}
    for flag in address_service.FLAGS:
        if getattr(form, flag).data:
            data[flag] = True
    return data


def _address_book(form: AddressForm | None = None, status: int = 200, message: str | None = None):
    """The address list and the add form: the whole page, or (htmx) the book only."""
    user = current_user._get_current_object()
    fragment = wants_fragment()  # the fragment also empties the page's flash of an earlier action
    context = {"addresses": address_service.list_addresses(user), "form": form or _address_form(formdata=False),
               "countries": dict(address_service.country_choices()), "message": message, "fragment": fragment}
    template = "storefront/account/_address_book.html" if fragment else "storefront/account/addresses.html"
    return render_template(template, **context), status


def _after_address_change(message: str):
    if wants_fragment():
        reread()
        return _address_book(message=message)
    flash(message, "success")
    return redirect(url_for("storefront.account_addresses"))


@bp.get("/account/addresses")
@role_required(Role.USER)
def account_addresses():
    return _address_book()


@bp.post("/account/addresses")
@role_required(Role.USER)
def add_address():
    """Add an address (``POST /api/addresses``'s service and checks)."""
    form = _address_form()
    if form.validate_on_submit():
        with form_errors(form, codes={"too_many_addresses": "name"}):
            address_service.create_address(current_user._get_current_object(), _address_data(form))
            return _after_address_change("Address saved.")
    return _address_book(form, 422)


@bp.route("/account/addresses/<address_id>", methods=["GET", "POST"])
@role_required(Role.USER)
def edit_address(address_id: str):
    user = current_user._get_current_object()
    address = address_service.get_address(user, address_id)
    form = _address_form(address)
    if form.validate_on_submit():
        with form_errors(form):
            address_service.update_address(user, address.id, _address_data(form))
            return _after_address_change("Address saved.")
    return render_template("storefront/account/address_edit.html", form=form, address=address), form_status(form)


@bp.post("/account/addresses/<address_id>/default/<kind>")
@role_required(Role.USER)
def default_address(address_id: str, kind: str):
    """Make an address the default shipping or billing one (the old default stops being it)."""
    if kind not in ("shipping", "billing"):
        abort(404)
    address_service.update_address(current_user._get_current_object(), address_id, {f"is_default_{kind}": True})
    return _after_address_change(f"Default {kind} address changed.")


@bp.post("/account/addresses/<address_id>/delete")
@role_required(Role.USER)
def delete_address(address_id: str):
    address_service.delete_address(current_user._get_current_object(), address_id)
    return _after_address_change("Address deleted.")


# --- privacy: download my data, delete my account ----------------------------------------------

@bp.get("/account/privacy")
@role_required(Role.USER)
def account_privacy(form: DeleteAccountForm | None = None, status: int = 200):
    return render_template("storefront/account/privacy.html", form=form or DeleteAccountForm(formdata=None)), status


@bp.get("/account/data-export")
@role_required(Role.USER)
def data_export():
    """"Download my data": the same JSON as ``GET /api/customers/me/data-export``."""
    data = account_service.export_data(current_user._get_current_object(), ip=request.remote_addr)
    response = Response(json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = "attachment; filename=my-data.json"
    return private(response)


@bp.post("/account/delete")
@role_required(Role.USER)
def delete_account():
    """Delete the account (``DELETE /api/customers/me``'s service), then sign out."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        with form_errors(form):
            account_service.delete_account(current_user._get_current_object(), form.password.data)
            logout_user()
            flash("Your account was deleted. Thank you for shopping with us.", "success")
            return redirect(url_for("storefront.home"))
    return account_privacy(form, 422)
