"""Replacement requests in the dashboard (Staff+): the queue (pending first; filters, paging), the
three options to approve with (an admin may type a custom deliverable instead), approve, deny with
a reason. htmx swaps one request's row in place; without JavaScript every form is a plain POST
that comes back to the queue with a flash.

The pages call the same service functions as ``api/replacements.py``."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from models import REPLACEMENT_STATUSES, Role
from services import replacements, stock
from services.errors import NotFound
from web import error_status, form_errors, page_arg, reread, role_required, wants_fragment

from . import bp
from .forms import ApproveReplacementForm, DenyReplacementForm

PAGE_SIZE = 20
STATUS_CHOICES = (*REPLACEMENT_STATUSES, "all")


def age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "just now", "12 min ago", "3 h ago", "5 d ago"."""
    if when is None:
        return ""
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when
    seconds = max(int(((now or datetime.now(UTC)) - when).total_seconds()), 0)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def _request(request_id: str):
    try:
        return replacements.get_request(request_id)
    except NotFound:
        abort(404)


def _options(row) -> list:
    if row.status != "PENDING" or not row.variant_id:
        return []
    try:
        return replacements.options(row.variant_id)
    except NotFound:  # the subcategory is gone: only a custom deliverable can serve it
        return []


def _row_context(row, *, mode: str | None = None, approve_form=None, deny_form=None,
                 message: str | None = None) -> dict:
    """What one request's row shows. ``mode`` "approve" opens the options in it."""
    options = _options(row) if mode == "approve" else []
    return {"r": row, "ctx": replacements.context_of([row]), "mode": mode, "options": options,
            "masked_options": {i.id: stock.masked(i) for i in options},
            "approve_form": approve_form or ApproveReplacementForm(formdata=None),
            "deny_form": deny_form or DenyReplacementForm(formdata=None), "message": message,
            "age": age, "can_custom": current_user.role_enum.at_least(Role.ADMIN)}


def _row(row, *, status: int = 200, **kwargs):
    """The request's row alone (htmx), or its own page (no JavaScript, or a refused plain POST)."""
    if wants_fragment():
        # the row replaces itself whatever asked (the options' target is the row's actions)
        headers = {"HX-Retarget": f"#req-{row.id}", "HX-Reswap": "outerHTML"}
        return render_template("admin/replacements/_row.html", **_row_context(row, **kwargs)), status, headers
    return render_template("admin/replacements/request.html", **_row_context(row, **kwargs)), status


@bp.get("/replacements")
@role_required(Role.STAFF)
def replacements_list():
    status = request.args.get("status") or "PENDING"
    products = replacements.request_products()
    params = {
        "status": status if status in STATUS_CHOICES else "PENDING",
        "product": request.args.get("product", "") if request.args.get("product") in {p for p, _ in products} else "",
        "q": (request.args.get("q") or "").strip()[:40],
    }
    results = replacements.list_requests(status=None if params["status"] == "all" else params["status"],
                                         product_id=params["product"] or None, search=params["q"] or None,
                                         page=page_arg(), page_size=PAGE_SIZE)
    context = {"results": results, "ctx": replacements.context_of(results["items"]), "params": params,
               "products": products, "statuses": STATUS_CHOICES, "age": age,
               "deny_form": DenyReplacementForm(formdata=None), "mode": None, "message": None,
               "can_custom": current_user.role_enum.at_least(Role.ADMIN)}
    if wants_fragment():
        return render_template("admin/replacements/_list.html", **context)
    return render_template("admin/replacements/index.html", **context)


@bp.get("/replacements/<request_id>")
@role_required(Role.STAFF)
def replacement_row(request_id: str):
    return _row(_request(request_id))


@bp.get("/replacements/<request_id>/options")
@role_required(Role.STAFF)
def replacement_options(request_id: str):
    """Three random available items to approve with: into the row (htmx) or on the request's page."""
    row = _request(request_id)
    if wants_fragment():
        if row.status != "PENDING":  # someone resolved it meanwhile: show how
            return _row(row, status=409, message=f"This request was already {row.status.lower()}.")
        return render_template("admin/replacements/_options.html", **_row_context(row, mode="approve"))
    return _row(row, mode="approve")


def _done(row, notice: str):
    reread()
    if wants_fragment():
        return _row(replacements.get_request(row.id))
    flash(notice, "success")
    return redirect(url_for("admin.replacements_list"), 303)


def _messages(form) -> str:
    return " ".join([*form.form_errors, *(e for f in form for e in f.errors)]) or "Check the form."


def _refused(row, form, mode: str, **forms):
    """A refusal, in the row: 409 (already resolved, item taken, out of stock), 403 (a custom item
    by staff) or 422 (no reason). Someone else's decision shows as the resolved row."""
    status = error_status(form)
    message = _messages(form)
    reread()
    fresh = replacements.get_request(row.id)
    if fresh.status != "PENDING":
        return _row(fresh, status=409, message=message)
    return _row(fresh, status=status, mode=mode, message=message, **forms)


@bp.post("/replacements/<request_id>/approve")
@role_required(Role.STAFF)
def replacement_approve(request_id: str):
    row = _request(request_id)
    form = ApproveReplacementForm()
    if not form.validate_on_submit():
        return _row(row, status=422, mode="approve", approve_form=form, message=_messages(form))
    with form_errors(form, codes={"item_taken": "stock_item_id", "duplicate_deliverable": "custom_deliverable"}):
        replacements.resolve(row, actor=current_user._get_current_object(), approve=True,
                             stock_item_id=form.stock_item_id.data or None,
                             custom_deliverable=form.custom_deliverable.data or None)
        return _done(row, "Replacement approved: the buyer has the new item.")
    return _refused(row, form, "approve", approve_form=form)


@bp.post("/replacements/<request_id>/deny")
@role_required(Role.STAFF)
def replacement_deny(request_id: str):
    row = _request(request_id)
    form = DenyReplacementForm()
    if not form.validate_on_submit():
        return _row(row, status=422, deny_form=form, message=_messages(form))
    with form_errors(form, field="reason"):
        if not (form.reason.data or "").strip():
            form.reason.errors = ["Say why: the buyer sees the reason"]
        else:
            replacements.resolve(row, actor=current_user._get_current_object(), approve=False,
                                 reason=form.reason.data)
            return _done(row, "Replacement denied: the buyer sees your reason.")
    return _refused(row, form, "deny", deny_form=form)
