"""Taxes in the dashboard (Admin, as ``api/taxes.py``): the rules, add, edit, delete; whether
prices are entered with tax in them and the fallback tax country (store settings); a calculator
(htmx). The same service calls as the API."""
from __future__ import annotations

from decimal import Decimal

from flask import flash, g, redirect, render_template, request, url_for
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import Role
from services import stores as store_service
from services import taxes as tax_service
from services.errors import DomainError
from services.money import to_minor
from web import PageForm, form_errors, form_status, role_required

from . import bp


class TaxRuleForm(PageForm):
    name = StringField("Name", default="VAT", validators=[DataRequired(), Length(max=120)])
    country = StringField("Country", validators=[DataRequired(), Length(max=2)])
    region = StringField("Region", validators=[Optional(), Length(max=64)])
    tax_class = StringField("Tax class", default="standard", validators=[DataRequired(), Length(max=32)])
    rate = StringField("Rate (%)", validators=[DataRequired(), Length(max=10)])
    priority = IntegerField("Priority", default=0, validators=[Optional(), NumberRange(min=-1000, max=1000)])
    is_active = BooleanField("Active", default=True)


class TaxSettingsForm(PageForm):
    prices_include_tax = BooleanField("Prices are entered with tax included")
    tax_country = StringField("Tax country when the buyer's is unknown", validators=[Optional(), Length(max=2)])


def rate_text(bps: int) -> str:
    return f"{Decimal(bps).scaleb(-2).normalize():f} %"


def _data(form: TaxRuleForm) -> dict:
    return {"name": form.name.data, "country": form.country.data, "region": form.region.data or "",
            "tax_class": form.tax_class.data, "rate_bps": tax_service.rate_bps_of(form.rate.data),
            "priority": form.priority.data or 0, "is_active": bool(form.is_active.data)}


def _settings_form() -> TaxSettingsForm:
    form = TaxSettingsForm(prefix="settings")
    if not form.is_submitted():
        current = store_service.settings_of(g.store)
        form.prices_include_tax.data = current.prices_include_tax
        form.tax_country.data = current.tax_country or ""
    return form


def _index(settings_form: TaxSettingsForm):
    return render_template("admin/taxes/index.html", rules=tax_service.list_rules(), rate_text=rate_text,
                           settings_form=settings_form), form_status(settings_form)


@bp.get("/taxes")
@role_required(Role.ADMIN)
def taxes():
    return _index(_settings_form())


@bp.post("/taxes/settings")
@role_required(Role.ADMIN)
def taxes_settings():
    form = _settings_form()
    if form.validate_on_submit():
        with form_errors(form):
            store_service.update_settings(g.store, {"prices_include_tax": bool(form.prices_include_tax.data),
                                                    "tax_country": (form.tax_country.data or "").strip() or None})
            flash("Tax settings saved.", "success")
            return redirect(url_for("admin.taxes"))
    return _index(form)


@bp.get("/taxes/preview")
@role_required(Role.ADMIN)
def taxes_preview():
    """The calculator: the tax on an amount (a fragment for htmx)."""
    answer = {"result": None, "error": None, "rate_text": rate_text}
    try:
        country = tax_service.normalize_country(request.args.get("country"))
        tax_class = tax_service.normalize_class(request.args.get("tax_class") or "standard")
        amount = to_minor((request.args.get("amount") or "0").strip() or "0", g.store.currency, field="amount")
        answer["result"] = tax_service.calculate(tax_class, country, amount, region=request.args.get("region"),
                                                 store=g.store)
    except DomainError as error:
        answer["error"] = error.message
    return render_template("admin/taxes/_preview.html", **answer)


@bp.route("/taxes/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def tax_new():
    form = TaxRuleForm()
    if form.validate_on_submit():
        with form_errors(form):
            rule = tax_service.create_rule(_data(form))
            flash(f"Tax rule {rule.name} {rate_text(rule.rate_bps)} ({rule.country}) created.", "success")
            return redirect(url_for("admin.taxes"))
    return render_template("admin/taxes/form.html", form=form, rule=None), form_status(form)


@bp.route("/taxes/<tax_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def tax_edit(tax_id: str):
    rule = tax_service.get_rule(tax_id)
    form = TaxRuleForm(obj=rule)
    if not form.is_submitted():
        form.rate.data = f"{Decimal(rule.rate_bps).scaleb(-2).normalize():f}"
    if form.validate_on_submit():
        with form_errors(form):
            tax_service.update_rule(rule, _data(form))
            flash(f"Tax rule {rule.name} saved.", "success")
            return redirect(url_for("admin.taxes"))
    return render_template("admin/taxes/form.html", form=form, rule=tax_service.get_rule(tax_id)), form_status(form)


@bp.post("/taxes/<tax_id>/delete")
@role_required(Role.ADMIN)
def tax_delete(tax_id: str):
    rule = tax_service.get_rule(tax_id)
    tax_service.delete_rule(rule)
    flash(f"Tax rule {rule.name} ({rule.country}) deleted. Orders keep their tax lines.", "success")
    return redirect(url_for("admin.taxes"))
