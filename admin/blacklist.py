"""The blacklist in the dashboard (Admin, as ``api/users.py``): the list of blocked IP addresses,
emails and usernames with the reason and who added each, filtered by kind; an add form and a
remove button, both answered with the panel in place under htmx (a full page otherwise)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from models import BLACKLIST_KINDS, Role
from services import blacklist as blacklist_service
from web import form_errors, form_status, page_arg, reread, role_required, wants_fragment

from . import bp
from .forms import AdminActionForm, BlacklistForm

CODES = {"blacklist_exists": "value", "invalid_value": "value", "invalid_kind": "kind", "own_account": "value"}


def _page(form: BlacklistForm | None = None, status: int = 200):
    kind = request.args.get("kind") or ""
    kind = kind if kind in BLACKLIST_KINDS else ""
    q = (request.args.get("q") or "").strip()[:100]
    results = blacklist_service.list_entries(kind=kind or None, q=q, page=page_arg())
    context = {"results": results, "kind": kind, "q": q, "kinds": BLACKLIST_KINDS,
               "form": form or BlacklistForm(formdata=None), "remove_form": AdminActionForm(formdata=None)}
    if wants_fragment():
        return render_template("admin/blacklist/_panel.html", **context), status
    return render_template("admin/blacklist/index.html", **context), status


@bp.get("/blacklist")
@role_required(Role.ADMIN)
def blacklist():
    return _page()


@bp.post("/blacklist")
@role_required(Role.ADMIN)
def blacklist_add():
    form = BlacklistForm()
    if form.validate_on_submit():
        with form_errors(form, field="value", codes=CODES):
            entry = blacklist_service.add_entry(kind=form.kind.data, value=form.value.data, reason=form.reason.data or "",
                                                actor=current_user._get_current_object(), actor_ip=request.remote_addr)
            flash(f"{entry.value} is blocked.", "success")
            if not wants_fragment():
                return redirect(url_for("admin.blacklist"), 303)
            reread()
            return _page()
    return _page(form, form_status(form))


@bp.post("/blacklist/<entry_id>/delete")
@role_required(Role.ADMIN)
def blacklist_remove(entry_id: str):
    form = AdminActionForm()
    if form.validate_on_submit():
        entry = blacklist_service.get_entry(entry_id)
        value = entry.value
        blacklist_service.remove_entry(entry)
        flash(f"{value} is no longer blocked.", "success")
    if not wants_fragment():
        return redirect(url_for("admin.blacklist"), 303)
    reread()
    return _page()
