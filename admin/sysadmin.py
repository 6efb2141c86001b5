"""The sysadmin area (/sysadmin, SYSADMIN only): the platform dashboard, stores (list, detail,
create, change, suspend, activate, delete, restore, "act as"), plans and addons, and the job queues.
Its own blueprint and layout (``layouts/sysadmin.html``); the same service calls as ``api/sysadmin.py``.

"Act as store": ``tenants.act_as`` signs a marker (store, sysadmin; one hour) that goes into the
sysadmin's session; ``web.resolve_request_store`` binds that store for their /admin pages, and the
dashboard shows a banner "Acting as <store>" with a Stop button.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from models import FEATURES, Role
from services import audit as audit_service
from services import health, plans, tenants
from services.errors import DomainError, Invalid
from services.money import money_in, to_major
from services.stores import base_url
from web import PageForm, audit_as, form_errors, form_status, page_arg, shown_money, wants_fragment

from .audit import sides_of

ACT_AS_KEY = "act_as"

sysadmin_bp = Blueprint("sysadmin", __name__, url_prefix="/sysadmin")
sysadmin_bp.enable_openapi = False  # pages, not API (APIFlask reads it on any blueprint with a before_request)


@sysadmin_bp.before_request
def _sysadmins_only():
    if not current_user.is_authenticated:
        flash("Sign in to see that page.", "info")
        return redirect(url_for("storefront.login", next=request.full_path.rstrip("?")))
    if current_user.role != Role.SYSADMIN.value or current_user.store_id is not None:
        abort(403)
    audit_as(current_user._get_current_object())  # what a sysadmin changes goes in the platform log
    return None


@sysadmin_bp.context_processor
def _helpers():
    return {"platform_money": lambda minor, currency: shown_money(minor, currency)}


# --- dashboard ---------------------------------------------------------------------------------

@sysadmin_bp.get("/")
def dashboard():
    d = tenants.dashboard()
    series = d["revenue"]["series"]
    main = series[0] if series else None
    chart = None
    if main is not None:
        chart = {"labels": d["revenue"]["months"], "currency": main["currency"],
                 "revenue": [to_major(p["gmv"], main["currency"]) for p in main["points"]],
                 "orders": [p["orders"] for p in main["points"]]}
    return render_template("sysadmin/dashboard.html", d=d, main=main, chart=chart)


# --- stores ------------------------------------------------------------------------------------

class StoreForm(PageForm):
    name = StringField("Store name", validators=[DataRequired(), Length(max=120)])
    slug = StringField("Slug (its address)", validators=[DataRequired(), Length(max=63)])
    admin_email = StringField("Admin's email", validators=[DataRequired(), Email(), Length(max=254)])
    custom_domain = StringField("Custom domain (optional)", validators=[Optional(), Length(max=253)])
    plan = SelectField("Plan", choices=[])
    addons = SelectMultipleField("Addons", choices=[])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    locale = StringField("Locale", default="en", validators=[DataRequired(), Length(max=16)])
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)])


class StoreEditForm(PageForm):
    name = StringField("Store name", validators=[DataRequired(), Length(max=120)])
    custom_domain = StringField("Custom domain (empty: none)", validators=[Optional(), Length(max=253)])
    plan = SelectField("Plan", choices=[])
    addons = SelectMultipleField("Addons", choices=[])


def _plan_choices(store=None):
    """The plans a new store (or ``store``, which keeps its own) may be put on: the offered ones."""
    return [SelectChoice(p.slug, f"{p.name} · {shown_money(p.monthly_price, p.currency)}/month")
            for p in plans.plans_offered(store)]


def _addon_choices(store=None):
    return [SelectChoice(a.slug, f"{a.name} · {shown_money(a.monthly_price, a.currency)}/month")
            for a in plans.addons_offered(store)]


@sysadmin_bp.get("/stores")
def stores():
    q = request.args.get("q", "").strip()[:120]
    plan = request.args.get("plan", "").strip()[:40]
    status = request.args.get("status", "")
    sort = request.args.get("sort", "created_at")
    order = request.args.get("order", "desc")
    try:
        results = tenants.list_tenants(search=q or None, plan=plan or None,
                                       status=status if status in ("active", "suspended", "deleted") else None,
                                       sort_by=sort, sort_order=order, page=page_arg(), page_size=25)
    except Invalid:
        results = tenants.list_tenants(page=page_arg(), page_size=25)
        sort, order = "created_at", "desc"
    return render_template("sysadmin/stores.html", results=results, q=q, plan=plan, status=status, sort=sort,
                           order=order, plans=plans.list_plans(), sorts=tenants.SORTS)


@sysadmin_bp.route("/stores/new", methods=["GET", "POST"])
def store_new():
    form = StoreForm()
    form.plan.choices = _plan_choices()
    form.addons.choices = _addon_choices()
    if request.method == "GET":
        form.plan.data = "everything"
    if form.validate_on_submit():
        with form_errors(form, codes={"slug_taken": "slug", "domain_taken": "custom_domain",
                                      "email_taken": "admin_email", "unknown_plan": "plan",
                                      "plan_limit_reached": "custom_domain"}):
            store, admin = tenants.create_tenant(
                slug=form.slug.data, name=form.name.data, admin_email=form.admin_email.data,
                custom_domain=form.custom_domain.data or None, plan=form.plan.data, addons=form.addons.data,
                currency=form.currency.data, locale=form.locale.data, timezone=form.timezone.data)
            flash(f"Store {store.name} created. {admin.email} was emailed a link to set a password.", "success")
            return redirect(url_for("sysadmin.store_detail", store_id=store.id))
    return render_template("sysadmin/store_new.html", form=form), form_status(form)


@sysadmin_bp.route("/stores/<store_id>", methods=["GET", "POST"])
def store_detail(store_id: str):
    try:
        store = tenants.get_tenant(store_id)
    except DomainError:
        abort(404)
    form = StoreEditForm(obj=store) if request.method == "GET" else StoreEditForm()
    form.plan.choices = _plan_choices(store)
    form.addons.choices = _addon_choices(store)
    if request.method == "GET":
        plan = plans.plan_of(store)
        form.plan.data = plan.slug if plan else None
        form.addons.data = [a.slug for a in plans.addons_of(store)]
    if store.status != "deleted" and form.validate_on_submit():
        with form_errors(form, codes={"domain_taken": "custom_domain", "plan_limit_reached": "custom_domain"}):
            tenants.update_tenant(store, {"name": form.name.data, "custom_domain": form.custom_domain.data or None,
                                          "plan": form.plan.data, "addons": form.addons.data or []})
            flash("Store saved.", "success")
            return redirect(url_for("sysadmin.store_detail", store_id=store.id))
    detail = tenants.tenant_detail(store)
    users = tenants.tenant_users(store, page=1, page_size=10)
    return render_template("sysadmin/store_detail.html", store_row=store, detail=detail, form=form,
                           users=users, shop_url=base_url(store) + "/"), form_status(form)


ACTIONS = {"suspend": ("suspend", "suspended"), "activate": ("activate", "activated"),
           "delete": ("soft_delete", "deleted: it is gone from every address; restore it within the grace period"),
           "restore": ("restore", "restored, suspended: activate it when ready")}


@sysadmin_bp.post("/stores/<store_id>/<action>")
def store_action(store_id: str, action: str):
    if action not in ACTIONS:
        abort(404)
    try:
        store = tenants.get_tenant(store_id)
    except DomainError:
        abort(404)
    function, said = ACTIONS[action]
    try:
        getattr(tenants, function)(store)
        flash(f"{store.name} {said}.", "success")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("sysadmin.store_detail", store_id=store.id))


@sysadmin_bp.post("/stores/<store_id>/act-as")
def act_as(store_id: str):
    try:
        store = tenants.get_tenant(store_id)
        session[ACT_AS_KEY] = tenants.act_as(store, current_user._get_current_object())
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("sysadmin.store_detail", store_id=store_id))
    return redirect(url_for("admin.overview"))


@sysadmin_bp.post("/act-as/stop")
def stop_acting():
    session.pop(ACT_AS_KEY, None)
    flash("You are back on the platform.", "info")
    return redirect(url_for("sysadmin.stores"))


# --- plans and addons ------------------------------------------------------------------------------

class PlanForm(PageForm):
    slug = StringField("Slug", validators=[DataRequired(), Length(max=40)])
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    monthly_price = StringField("Monthly price", validators=[DataRequired(), Length(max=20)])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    max_products = IntegerField("Max products (empty: unlimited)", validators=[Optional(), NumberRange(min=0)])
    max_staff = IntegerField("Staff seats (empty: unlimited)", validators=[Optional(), NumberRange(min=0)])
    custom_domain_allowed = BooleanField("Custom domain allowed", default=True)
    features = SelectMultipleField("Included addons", choices=[SelectChoice(f, f) for f in FEATURES])
    is_active = BooleanField("Offered to new stores", default=True)


class AddonForm(PageForm):
    slug = StringField("Slug", validators=[DataRequired(), Length(max=40)])
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    monthly_price = StringField("Monthly price", validators=[DataRequired(), Length(max=20)])
    currency = StringField("Currency", default="EUR", validators=[DataRequired(), Length(min=3, max=3)])
    is_active = BooleanField("Offered", default=True)


def _price(form) -> int:
    """The form's monthly price in minor units, through ``money_in``: the API's check (negative,
    too large, more decimals than the currency has), so both refuse the same prices the same way."""
    try:
        amount = Decimal(form.monthly_price.data.strip())
    except (InvalidOperation, ValueError) as exc:
        raise Invalid("A price such as 29 or 29.90", details={"monthly_price": ["a number"]}) from exc
    return money_in(amount, form.currency.data.strip().upper(), "monthly_price")


@sysadmin_bp.get("/plans")
def plans_page():
    return render_template("sysadmin/plans.html", plans=plans.list_plans(), addons=plans.list_addons())


def _plan_data(form: PlanForm) -> dict:
    return {"slug": form.slug.data, "name": form.name.data, "monthly_price": _price(form),
            "currency": form.currency.data, "max_products": form.max_products.data, "max_staff": form.max_staff.data,
            "custom_domain_allowed": form.custom_domain_allowed.data, "features": form.features.data or [],
            "is_active": form.is_active.data}


@sysadmin_bp.route("/plans/new", methods=["GET", "POST"])
@sysadmin_bp.route("/plans/<plan_id>", methods=["GET", "POST"])
def plan_form(plan_id: str | None = None):
    plan = None
    if plan_id:
        try:
            plan = plans.get_plan(plan_id)
        except DomainError:
            abort(404)
    form = PlanForm(obj=plan) if request.method == "GET" and plan else PlanForm()
    form.features.choices = [SelectChoice(a.slug, a.name) for a in plans.list_addons()]
    if request.method == "GET" and plan:
        form.monthly_price.data = f"{Decimal(plan.monthly_price).scaleb(-2):.2f}"
    if form.validate_on_submit():
        with form_errors(form, codes={"slug_taken": "slug"}):
            saved = plans.update_plan(plan, _plan_data(form)) if plan else plans.create_plan(_plan_data(form))
            flash(f"Plan {saved.name} saved.", "success")
            return redirect(url_for("sysadmin.plans_page"))
    return render_template("sysadmin/plan_form.html", form=form, plan=plan, kind="plan"), form_status(form)


@sysadmin_bp.route("/addons/new", methods=["GET", "POST"])
@sysadmin_bp.route("/addons/<addon_id>", methods=["GET", "POST"])
def addon_form(addon_id: str | None = None):
    addon = None
    if addon_id:
        try:
            addon = plans.get_addon(addon_id)
        except DomainError:
            abort(404)
    form = AddonForm(obj=addon) if request.method == "GET" and addon else AddonForm()
    if request.method == "GET" and addon:
        form.monthly_price.data = f"{Decimal(addon.monthly_price).scaleb(-2):.2f}"

    def save():
        data = {"name": form.name.data, "monthly_price": _price(form), "currency": form.currency.data,
                "is_active": form.is_active.data}
        return plans.update_addon(addon, data) if addon else plans.create_addon({"slug": form.slug.data, **data})

    if form.validate_on_submit():
        with form_errors(form, codes={"slug_taken": "slug"}):
            saved = save()
            flash(f"Addon {saved.name} saved.", "success")
            return redirect(url_for("sysadmin.plans_page"))
    return render_template("sysadmin/plan_form.html", form=form, plan=addon, kind="addon"), form_status(form)


# --- job queues ----------------------------------------------------------------------------------

@sysadmin_bp.get("/queues")
def queues():
    report = health.queue_report()
    failed = {}
    if report["redis"] == "ok":
        failed = {q["name"]: health.failed_jobs(q["name"], limit=20) for q in report["queues"] if q["failed"]}
    return render_template("sysadmin/queues.html", report=report, failed=failed)


@sysadmin_bp.post("/queues/<queue>/<job_id>/retry")
def retry(queue: str, job_id: str):
    try:
        health.retry_failed(queue, job_id)
        flash("The job is back on its queue.", "success")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("sysadmin.queues"))


# --- the platform's audit log ------------------------------------------------------------------------

@sysadmin_bp.get("/audit-log")
def platform_audit_log():
    """What the platform team did (``scope=platform``: stores' lifecycle, plans, acting as a store),
    or every store's log too (``scope=all``), newest first."""
    scope = request.args.get("scope") if request.args.get("scope") in ("platform", "all") else "platform"
    results = audit_service.list_platform_entries(scope=scope, page=page_arg(), page_size=50)
    in_units = audit_service.with_units(results["items"], all_stores=True)
    context = {"results": results, "scope": scope, "errors": [], "show_store": scope == "all",
               "sides": lambda entry: sides_of(in_units[entry.id].changes)}
    if wants_fragment():  # the pager's htmx request: the table alone, into #audit-table
        return render_template("admin/audit/_table.html", **context)
    return render_template("sysadmin/audit.html", **context)
