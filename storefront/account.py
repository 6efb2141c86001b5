"""The customer's account pages."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from extensions import db
from models import Role
from services import auth as auth_service
from services.errors import DomainError
from web import apply_form_errors, role_required

from . import bp
from .forms import ChangePasswordForm


@bp.get("/account")
@role_required(Role.USER)
def account():
    return render_template("storefront/account/index.html", password_form=ChangePasswordForm())


@bp.post("/account/password")
@role_required(Role.USER)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            auth_service.change_password(current_user, form.current_password.data, form.new_password.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            apply_form_errors(form, error)
        else:
            flash("Password changed.", "success")
            return redirect(url_for("storefront.account"))
    return render_template("storefront/account/index.html", password_form=form), 422
