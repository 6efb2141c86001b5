"""Shipping in the dashboard (Admin, as ``api/shipping.py``): zones with their methods, add, edit
and delete each, and a calculator (htmx) that answers what a destination would be offered. The
same service calls as the API."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import Role
from services import shipping as shipping_service
from services.errors import DomainError, Invalid
from web import PageForm, form_errors, form_status, major_text, role_required, typed_money

from . import bp

CODES = {"rest_of_world_exists": "rest_of_world"}
KIND_CHOICES = [SelectChoice("flat", "Flat rate"), SelectChoice("weight", "By weight bands"),
                SelectChoice("free", "Free from a subtotal")]


class ZoneForm(PageForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    countries = StringField("Countries", validators=[Optional(), Length(max=1200)])
    postal_prefixes = TextAreaField("Postal-code prefixes", validators=[Optional(), Length(max=5000)])
    rest_of_world = BooleanField("Rest of the world (every destination no other zone takes)")
    position = IntegerField("Position", default=0, validators=[Optional(), NumberRange(min=-10_000, max=10_000)])


class MethodForm(PageForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    price = StringField("Price", validators=[Optional(), Length(max=20)])
    weight_bands = TextAreaField("Weight bands", validators=[Optional(), Length(max=5000)])
    free_threshold = StringField("Free from a subtotal of", validators=[Optional(), Length(max=20)])
    min_days = IntegerField("Delivery: at least (days)", validators=[Optional(), NumberRange(min=0, max=365)])
    max_days = IntegerField("Delivery: at most (days)", validators=[Optional(), NumberRange(min=0, max=365)])
    position = IntegerField("Position", default=0, validators=[Optional(), NumberRange(min=-10_000, max=10_000)])
    is_active = BooleanField("Active", default=True)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace("\n", ",").split(",") if part.strip()]


def _money(text: str | None, field: str) -> int | None:
    text = (text or "").strip().replace(" ", "")
    if not text:
        return None
    minor = typed_money(text, g.store.currency, field)
    if minor < 0:
        raise Invalid(f"{field} cannot be negative", details={field: ["cannot be negative"]})
    return minor


def parse_bands(text: str | None) -> list[dict]:
    """One band a line: ``500: 4.50`` (up to 500 g costs 4.50)."""
    bands = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        grams, sep, price = line.partition(":")
        grams = grams.strip().lower().removesuffix("g").strip()
        if not sep or not grams.isdigit():
            raise Invalid(f"Line {number}: write a band as grams: price, such as 500: 4.50",
                          details={"weight_bands": [f"line {number}: grams: price"]})
        bands.append({"up_to_grams": int(grams), "price": _money(price, "weight_bands") or 0})
    return bands


def bands_text(bands: list[dict]) -> str:
    return "\n".join(f"{b['up_to_grams']}: {major_text(b['price'], g.store.currency)}" for b in bands or [])


def _zone_data(form: ZoneForm) -> dict:
    return {"name": form.name.data, "countries": _split(form.countries.data),
            "postal_prefixes": _split(form.postal_prefixes.data), "rest_of_world": bool(form.rest_of_world.data),
            "position": form.position.data or 0}


def _method_data(form: MethodForm) -> dict:
    return {"name": form.name.data, "kind": form.kind.data, "price": _money(form.price.data, "price") or 0,
            "weight_bands": parse_bands(form.weight_bands.data),
            "free_threshold": _money(form.free_threshold.data, "free_threshold"),
            "min_days": form.min_days.data, "max_days": form.max_days.data, "position": form.position.data or 0,
            "is_active": bool(form.is_active.data)}


@bp.get("/shipping")
@role_required(Role.ADMIN)
def shipping():
    return render_template("admin/shipping/index.html", zones=shipping_service.list_zones(),
                           delivery_text=shipping_service.delivery_text)


@bp.get("/shipping/preview")
@role_required(Role.ADMIN)
def shipping_preview():
    """The calculator: the options a destination would be offered (a fragment for htmx)."""
    country = (request.args.get("country") or "").strip()[:2]
    postal = (request.args.get("postal_code") or "").strip()[:20]
    answer = {"country": country, "postal_code": postal, "zone": None, "options": [], "error": None}
    try:
        weight_text = (request.args.get("weight") or "0").strip() or "0"
        if not weight_text.isdigit():
            raise Invalid("The weight is a whole number of grams")
        weight = int(weight_text)
        subtotal = _money(request.args.get("subtotal"), "subtotal") or 0
        answer["zone"] = shipping_service.zone_for(country, postal)
        answer["options"] = shipping_service.options_for(country, postal, weight, subtotal)
    except DomainError as error:
        answer["error"] = error.message
    return render_template("admin/shipping/_preview.html", **answer)


@bp.route("/shipping/zones/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def shipping_zone_new():
    form = ZoneForm()
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            zone = shipping_service.create_zone(_zone_data(form))
            flash(f"Zone {zone.name} created. Add its methods.", "success")
            return redirect(url_for("admin.shipping_method_new", zone_id=zone.id))
    return render_template("admin/shipping/zone_form.html", form=form, zone=None), form_status(form)


@bp.route("/shipping/zones/<zone_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def shipping_zone_edit(zone_id: str):
    zone = shipping_service.get_zone(zone_id)
    form = ZoneForm(obj=zone)
    if not form.is_submitted():
        form.countries.data = ", ".join(zone.countries or [])
        form.postal_prefixes.data = ", ".join(zone.postal_prefixes or [])
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            shipping_service.update_zone(zone, _zone_data(form))
            flash(f"Zone {zone.name} saved.", "success")
            return redirect(url_for("admin.shipping"))
    return render_template("admin/shipping/zone_form.html", form=form,
                           zone=shipping_service.get_zone(zone_id)), form_status(form)


@bp.post("/shipping/zones/<zone_id>/delete")
@role_required(Role.ADMIN)
def shipping_zone_delete(zone_id: str):
    zone = shipping_service.get_zone(zone_id)
    name = zone.name
    shipping_service.delete_zone(zone)
    flash(f"Zone {name} and its methods deleted.", "success")
    return redirect(url_for("admin.shipping"))


@bp.route("/shipping/zones/<zone_id>/methods/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def shipping_method_new(zone_id: str):
    zone = shipping_service.get_zone(zone_id)
    form = MethodForm()
    if form.validate_on_submit():
        with form_errors(form):
            method = shipping_service.add_method(zone, _method_data(form))
            flash(f"Method {method.name} added to {zone.name}.", "success")
            return redirect(url_for("admin.shipping"))
    return render_template("admin/shipping/method_form.html", form=form, zone=zone, method=None), form_status(form)


@bp.route("/shipping/methods/<method_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def shipping_method_edit(method_id: str):
    method = shipping_service.get_method(method_id)
    zone = shipping_service.get_zone(method.zone_id)
    form = MethodForm(obj=method)
    if not form.is_submitted():
        currency = g.store.currency
        form.price.data = major_text(method.price, currency) if method.kind != "free" else ""
        form.weight_bands.data = bands_text(method.weight_bands)
        form.free_threshold.data = major_text(method.free_threshold, currency)
    if form.validate_on_submit():
        with form_errors(form):
            shipping_service.update_method(method, _method_data(form))
            flash(f"Method {method.name} saved.", "success")
            return redirect(url_for("admin.shipping"))
    return render_template("admin/shipping/method_form.html", form=form, zone=zone,
                           method=shipping_service.get_method(method_id)), form_status(form)


@bp.post("/shipping/methods/<method_id>/delete")
@role_required(Role.ADMIN)
def shipping_method_delete(method_id: str):
    method = shipping_service.get_method(method_id)
    name = method.name
    shipping_service.delete_method(method)
    flash(f"Method {name} deleted.", "success")
    return redirect(url_for("admin.shipping"))
