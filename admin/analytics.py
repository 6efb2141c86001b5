"""The analytics page (Seed B stats: revenue and units of all products, one product or one
subcategory over a period, as totals and a chart) and the reports page (sales by day, week or
month with cost and profit, top products, categories, customers, each downloadable as CSV).
Manager+, the same service calls as ``api/dashboard.py`` (``/api/admin/stats``) and ``api/reports.py``."""
from __future__ import annotations

from flask import abort, g, render_template, request

from models import Role
from services import analytics, reports
from services.money import to_major
from web import csv_download, form_errors, role_required, wants_fragment

from . import bp
from .forms import AnalyticsForm, PeriodForm, ReportsForm


def _period(form: PeriodForm) -> analytics.Period:
    if form.period.data == "custom":
        return analytics.period(g.store, None, date_from=form.date_from.data, date_to=form.date_to.data)
    return analytics.period(g.store, form.period.data)


def _query(form: PeriodForm, **extra) -> dict:
    """The form's choice as query arguments (for the download links)."""
    args = {"period": form.period.data} if form.period.data != "custom" else {
        "period": "custom",  # without it the download fell back to the default period (last 30 days)
        "date_from": form.date_from.data.isoformat() if form.date_from.data else "",
        "date_to": form.date_to.data.isoformat() if form.date_to.data else ""}
    return {**args, **{k: v for k, v in extra.items() if v}}


def _fragment(template: str, **context):
    return render_template(template, **context), 200, {"Vary": "HX-Request"}


# --- analytics ---------------------------------------------------------------------------------

def _analytics_form() -> AnalyticsForm:
    form = AnalyticsForm(formdata=request.args)
    form.product_id.choices = [("", "All products"), *reports.product_options()]
    variants = reports.variant_options(form.product_id.data) if form.product_id.data else []
    form.subcategory_id.choices = [("", "All subcategories"), *variants]
    if form.subcategory_id.data and form.subcategory_id.data not in {v for v, _ in variants}:
        form.subcategory_id.data = ""  # a subcategory of the product chosen before: all of this one
    return form


@bp.get("/analytics")
@role_required(Role.MANAGER)
def analytics_page():
    form = _analytics_form()
    data = chart = None
    if form.validate():
        with form_errors(form):
            p = _period(form)
            data = analytics.product_sales(g.store, p, product_id=form.product_id.data or None,
                                           variant_id=form.subcategory_id.data or None)
    if data is not None:
        chart = {"labels": [pt["label"] for pt in data["points"]],
                 "revenue": [to_major(pt["revenue"], data["currency"]) for pt in data["points"]],
                 "units": [pt["units"] for pt in data["points"]], "currency": data["currency"],
                 "key": f"{data['period']}:{data['points'][0]['label']}:{data['points'][-1]['label']}:"
                        f"{form.product_id.data or 'all'}:{form.subcategory_id.data or 'all'}"}
    names = dict(form.product_id.choices) | dict(form.subcategory_id.choices)
    title = " · ".join(names[v] for v in (form.product_id.data, form.subcategory_id.data) if v and v in names) or "All products"
    context = {"form": form, "data": data, "chart": chart, "store": g.store, "title": title}
    status = 200 if data is not None else 422
    if wants_fragment():
        return render_template("admin/analytics/_results.html", **context), status, {"Vary": "HX-Request"}
    return render_template("admin/analytics/index.html", **context), status, {"Vary": "HX-Request"}


@bp.get("/analytics/subcategories")
@role_required(Role.MANAGER)
def analytics_subcategories():
    """The subcategory choice of one product (htmx swaps it in when the product changes)."""
    form = _analytics_form()
    return _fragment("admin/analytics/_subcategory.html", form=form)


# --- reports -----------------------------------------------------------------------------------

@bp.get("/reports")
@role_required(Role.MANAGER)
def reports_page():
    form = ReportsForm(formdata=request.args)
    context: dict = {"form": form, "store": g.store, "sales": None, "products": None, "categories": None,
                     "customers": None, "query": {}, "sales_query": {}, "products_query": {}}
    status = 422
    if form.validate():
        p = None
        with form_errors(form):
            p = _period(form)
        if p is not None:
            status = 200
            context["query"] = _query(form)
            with form_errors(form, field="group_by"):
                context["sales"] = reports.sales(g.store, p, form.group_by.data or None)
                context["sales_query"] = _query(form, group_by=form.group_by.data)
            if context["sales"] is None:
                status = 422
            context["products"] = reports.products(g.store, p, limit=10, sort_by=form.sort_by.data)
            context["products_query"] = _query(form, sort_by=form.sort_by.data)
            context["categories"] = reports.categories(g.store, p)
            context["customers"] = reports.customers(g.store, p)
    if wants_fragment():
        return render_template("admin/reports/_body.html", **context), status, {"Vary": "HX-Request"}
    return render_template("admin/reports/index.html", **context), status, {"Vary": "HX-Request"}


@bp.get("/reports/export")
@role_required(Role.MANAGER)
def reports_export():
    """A report as a CSV download, streamed (the same generator as ``GET /api/reports/export``)."""
    form = ReportsForm(formdata=request.args)
    kind = reports.check_type(request.args.get("type", ""))
    if not form.validate():
        abort(422)
    p = _period(form)
    chunks = reports.export(g.store, kind, p, group_by=form.group_by.data or None, sort_by=form.sort_by.data)
    return csv_download(chunks, reports.export_filename(g.store, kind, p))
