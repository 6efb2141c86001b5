"""Categories in the dashboard (Manager+): the tree, create, edit, delete."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from models import Role
from services import categories as category_service
from web import form_errors, form_status, role_required

from . import bp
from .forms import CategoryForm
from .products import category_choices


def _data(form: CategoryForm) -> dict:
    data = {"title": form.title.data, "parent_id": form.parent_id.data or None, "hex_code": form.hex_code.data or None,
            "description": form.description.data or "", "sort_order": form.sort_order.data,
            "is_active": bool(form.is_active.data)}
    if form.slug.data and form.slug.data.strip():
        data["slug"] = form.slug.data.strip()
    return data


def _index(form: CategoryForm, status: int = 200):
    return render_template("admin/categories/index.html", rows=category_service.category_rows(), form=form), status


@bp.get("/categories")
@role_required(Role.MANAGER)
def categories():
    form = CategoryForm(formdata=None)
    form.parent_id.choices = category_choices(none_label="None (top level)")
    return _index(form)


@bp.post("/categories")
@role_required(Role.MANAGER)
def category_create():
    form = CategoryForm()
    form.parent_id.choices = category_choices(none_label="None (top level)")
    if form.validate_on_submit():
        with form_errors(form):
            category = category_service.create_category(**_data(form))
            flash(f"Category “{category.title}” created.", "success")
            return redirect(url_for("admin.categories"))
    return _index(form, 422)


@bp.route("/categories/<category_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def category_edit(category_id: str):
    category = category_service.get_category(category_id)
    form = CategoryForm(obj=category)
    form.parent_id.choices = category_choices(exclude_id=category.id, none_label="None (top level)")
    if not form.is_submitted():
        form.parent_id.data = category.parent_id or ""
    if form.validate_on_submit():
        with form_errors(form):
            category_service.update_category(category, _data(form))
            flash("Category saved.", "success")
            return redirect(url_for("admin.categories"))
    return render_template("admin/categories/form.html", form=form, category=category_service.get_category(category_id)), form_status(form)


@bp.post("/categories/<category_id>/delete")
@role_required(Role.MANAGER)
def category_delete(category_id: str):
    category = category_service.get_category(category_id)
    title = category.title
    category_service.delete_category(category)
    flash(f"Category “{title}” deleted. Its products are now uncategorised; its subcategories moved up.", "success")
    return redirect(url_for("admin.categories"))
