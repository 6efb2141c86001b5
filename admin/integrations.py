"""Integrations (Admin, the ``moloni`` addon): connect Moloni, choose the company, the document set
and the default tax (or exemption reason), turn "invoice automatically" on, disconnect; the
order page's invoice retry. The pages call the same service functions as ``api/moloni.py``."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import Length, Optional

from models import Role
from services import moloni, orders
from services.errors import DomainError, NotFound
from web import PageForm, form_errors, form_status, requires_feature, role_required

from . import bp


class MoloniSettingsForm(PageForm):
    company_id = SelectField("Company", choices=[], validate_choice=False, validators=[Optional()])
    document_set_id = SelectField("Document set (series)", choices=[], validate_choice=False, validators=[Optional()])
    tax_id = SelectField("Default tax (prices include it)", choices=[], validate_choice=False, validators=[Optional()])
    exemption_reason = SelectField("Exemption reason (when no tax)", choices=[], validate_choice=False,
                                   validators=[Optional()])
    auto_invoice = BooleanField("Invoice every paid order automatically")


class MoloniAppForm(PageForm):
    client_id = StringField("Client id", validators=[Optional(), Length(max=120)])
    client_secret = PasswordField("Client secret", validators=[Optional(), Length(max=500)])


class MoloniActionForm(PageForm):
    """A button that posts: only the CSRF token."""


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _page(*, settings_form=None, app_form=None, action_form=None, status: int = 200):
    state = moloni.status(g.store)
    choices, choices_error = None, None
    if state["connected"]:
        try:
            choices = moloni.options(g.store)
        except DomainError as error:  # Moloni unreachable: a note, never an error page
            choices_error = error.message
    form = settings_form or MoloniSettingsForm(formdata=None)
    if choices is not None:
        form.company_id.choices = [("", "Choose…")] + [(str(c["company_id"]), c["name"]) for c in choices["companies"]]
        form.document_set_id.choices = [("", "Choose…")] + [(str(s["document_set_id"]), s["name"])
                                                             for s in choices["document_sets"]]
        form.tax_id.choices = [("0", "No tax (exempt)")] + [(str(t["tax_id"]), f"{t['name']} ({t['value']:g} %)")
                                                          for t in choices["taxes"]]
        form.exemption_reason.choices = [("", "None")] + [(c, c) for c in choices["exemption_reasons"]]
    if settings_form is None:
        form.company_id.data = str(state["company"]["id"]) if state["company"] else ""
        form.document_set_id.data = str(state["document_set"]["id"]) if state["document_set"] else ""
        form.tax_id.data = str(state["tax"]["id"]) if state["tax"] else "0"
        form.exemption_reason.data = state["exemption_reason"] or ""
        form.auto_invoice.data = state["auto_invoice"]
    app_form = app_form or MoloniAppForm(formdata=None)
    if app_form.client_id.data is None:
        app_form.client_id.data = state["client_id"] or ""
    return render_template("admin/integrations/index.html", moloni=state, choices_error=choices_error,
                           settings_form=form, app_form=app_form,
                           action_form=action_form or MoloniActionForm(formdata=None),
                           just_connected=request.args.get("connected") == "1"), status


@bp.get("/integrations")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def integrations():
    return _page()


@bp.post("/integrations/moloni/connect")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def integrations_moloni_connect():
    form = MoloniActionForm()
    with form_errors(form):
        if form.validate_on_submit():
            return redirect(moloni.start_authorization(g.store, current_user._get_current_object()), 303)
    return _page(action_form=form, status=form_status(form))


@bp.post("/integrations/moloni/settings")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def integrations_moloni_settings():
    form = MoloniSettingsForm()
    if form.validate_on_submit():
        with form_errors(form):
            moloni.update_settings(g.store, company_id=_int(form.company_id.data),
                                   document_set_id=_int(form.document_set_id.data), tax_id=_int(form.tax_id.data),
                                   exemption_reason=form.exemption_reason.data or "",
                                   auto_invoice=bool(form.auto_invoice.data))
            flash("Moloni settings saved.", "success")
            return redirect(url_for("admin.integrations"), 303)
    return _page(settings_form=form, status=422)


@bp.post("/integrations/moloni/app")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def integrations_moloni_app():
    form = MoloniAppForm()
    if form.validate_on_submit():
        with form_errors(form):
            moloni.save_app_credentials(g.store, client_id=form.client_id.data or "",
                                        client_secret=form.client_secret.data or "")
            flash("Moloni app saved.", "success")
            return redirect(url_for("admin.integrations"), 303)
    return _page(app_form=form, status=422)


@bp.post("/integrations/moloni/disconnect")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def integrations_moloni_disconnect():
    form = MoloniActionForm()
    with form_errors(form):
        if form.validate_on_submit():
            moloni.disconnect(g.store)
            flash("Moloni disconnected. Invoices already made stay in Moloni.", "success")
            return redirect(url_for("admin.integrations"), 303)
    return _page(action_form=form, status=form_status(form))


@bp.post("/orders/<int:order_number>/invoice/retry")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def order_invoice_retry(order_number: int):
    form = MoloniActionForm()
    try:
        order = orders.get_by_number(order_number)
    except NotFound:
        abort(404)
    if form.validate_on_submit():
        with form_errors(form):
            moloni.retry(g.store, order)
            flash("Invoicing again: the result shows here in a moment.", "success")
    else:
        flash("The form expired: try again.", "error")
    return redirect(url_for("admin.order_detail", order_number=order_number) + "#invoice-h", 303)


@bp.get("/orders/<int:order_number>/invoice.pdf")
@role_required(Role.ADMIN)
@requires_feature("moloni")
def order_invoice_pdf(order_number: int):
    """To the invoice's PDF at Moloni (its link is asked for when followed: Moloni's links expire)."""
    try:
        order = orders.get_by_number(order_number)
        link = moloni.pdf_link(g.store, order)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.order_detail", order_number=order_number) + "#invoice-h", 303)
    return redirect(link["url"], 302)
