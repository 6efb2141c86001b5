"""Coupons in the dashboard (Manager+, as ``api/coupons.py``): the searchable list with each
coupon's uses, create, edit, delete. The same service calls as the API."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from flask import flash, g, redirect, render_template, request, url_for

from models import Coupon, Role
from services import coupons as coupon_service
from services.errors import Invalid
from web import form_errors, form_status, major_text, page_arg, role_required, shown_money, typed_money, wants_fragment

from . import bp
from .forms import CouponForm
from .products import category_choices

CODES = {"coupon_exists": "code"}
ACTIVE_FILTERS = {"active": True, "inactive": False}


def value_text(coupon: Coupon, currency: str) -> str:
    """"10 %", "12.5 %" or "5.00 EUR"."""
    if coupon.kind == "percent":
        return f"{Decimal(coupon.value).scaleb(-2).normalize():f} %"
    return shown_money(coupon.value, currency)


def state_of(coupon: Coupon, now: datetime) -> tuple[str, str]:
    """What a shopper would meet now, as a label and a badge class."""
    if not coupon.is_active:
        return "Inactive", "badge-off"
    if coupon.ends_at and coupon.ends_at <= now:
        return "Expired", "badge-off"
    if coupon.starts_at and coupon.starts_at > now:
        return "Scheduled", ""
    if coupon.max_uses is not None and coupon.uses_count >= coupon.max_uses:
        return "Used up", "badge-off"
    return "Active", "badge-on"


def _percent_bps(text: str) -> int:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise Invalid("Not a number: enter a percentage such as 15 or 12.5", details={"value": ["not a number"]}) from exc
    bps = value * 100 if value.is_finite() else Decimal(-1)
    if bps != bps.to_integral_value():
        raise Invalid("A percentage has at most two decimals", details={"value": ["too many decimals"]})
    if bps <= 0 or bps > 10000:
        raise Invalid("A percentage is above 0 and at most 100", details={"value": ["out of range"]})
    return int(bps)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _data(form: CouponForm) -> dict:
    """The form as the service's fields (what the API's ``CouponIn.to_service`` makes of its body)."""
    currency = g.store.currency
    text = (form.value.data or "").strip().replace(" ", "").rstrip("%")
    if form.kind.data == "percent":
        value = _percent_bps(text)
    else:
        value = typed_money(text, currency, "value")
    minimum = (form.min_subtotal.data or "").strip().replace(" ", "")
    min_subtotal = typed_money(minimum, currency, "min_subtotal") if minimum else 0
    if min_subtotal < 0:
        raise Invalid("The minimum subtotal cannot be negative", details={"min_subtotal": ["negative"]})
    return {"code": form.code.data, "kind": form.kind.data, "value": value, "min_subtotal": min_subtotal,
            "max_uses": form.max_uses.data, "max_uses_per_customer": form.max_uses_per_customer.data,
            "starts_at": _utc(form.starts_at.data), "ends_at": _utc(form.ends_at.data),
            "category_id": form.category_id.data or None, "is_active": bool(form.is_active.data),
            "description": (form.description.data or "").strip()}


def _form(coupon: Coupon | None = None) -> CouponForm:
    form = CouponForm(obj=coupon) if coupon is not None else CouponForm()
    form.category_id.choices = category_choices(none_label="Any category")
    if coupon is not None and not form.is_submitted():
        form.value.data = (f"{Decimal(coupon.value).scaleb(-2).normalize():f}" if coupon.kind == "percent"
                           else major_text(coupon.value, g.store.currency))
        form.min_subtotal.data = major_text(coupon.min_subtotal, g.store.currency) if coupon.min_subtotal else ""
        form.category_id.data = coupon.category_id or ""
    return form


@bp.get("/coupons")
@role_required(Role.MANAGER)
def coupons():
    q = (request.args.get("q") or "").strip()[:40]
    active = request.args.get("active") or ""
    results = coupon_service.list_coupons(search=q or None, is_active=ACTIVE_FILTERS.get(active), page=page_arg())
    context = {"results": results, "q": q, "active": active if active in ACTIVE_FILTERS else "",
               "now": datetime.now(UTC), "value_text": value_text, "state_of": state_of}
    if wants_fragment():
        return render_template("admin/coupons/_table.html", **context)
    return render_template("admin/coupons/index.html", **context)


@bp.route("/coupons/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def coupon_new():
    form = _form()
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            coupon = coupon_service.create_coupon(_data(form))
            flash(f"Coupon {coupon.code} created.", "success")
            return redirect(url_for("admin.coupons"))
    return render_template("admin/coupons/form.html", form=form, coupon=None), form_status(form)


@bp.route("/coupons/<coupon_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def coupon_edit(coupon_id: str):
    coupon = coupon_service.get_coupon(coupon_id)
    form = _form(coupon)
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            coupon_service.update_coupon(coupon, _data(form))
            flash(f"Coupon {coupon.code} saved.", "success")
            return redirect(url_for("admin.coupons"))
    coupon = coupon_service.get_coupon(coupon_id)
    return render_template("admin/coupons/form.html", form=form, coupon=coupon,
                           value_text=value_text(coupon, g.store.currency)), form_status(form)


@bp.post("/coupons/<coupon_id>/delete")
@role_required(Role.MANAGER)
def coupon_delete(coupon_id: str):
    coupon = coupon_service.get_coupon(coupon_id)
    code = coupon.code
    coupon_service.delete_coupon(coupon)
    flash(f"Coupon {code} deleted. Orders that used it keep their discount.", "success")
    return redirect(url_for("admin.coupons"))
