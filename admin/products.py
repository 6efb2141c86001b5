"""Products, their images and their subcategories (variants) in the dashboard (Manager+).

The request commits once, after the view returns (app.App); a refused change re-renders its
form with the service's messages (``web.form_errors``).
"""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from jinja2_fragments.flask import render_block
from wtforms import SelectChoice

from models import Role
from services import categories as category_service
from services import images as image_service
from services import products as product_service
from services import variants as variant_service
from transactions import begins_deferred
from web import form_errors, form_status, major_text, page_arg, reread, role_required, typed_money, wants_fragment

from . import bp
from .forms import ImageForm, ProductForm, VariantForm

SORT_LABELS = {"created": "Created", "title": "Title", "price": "Starting price", "stock": "Stock"}


def category_choices(*, exclude_id: str | None = None, none_label: str = "No category") -> list[SelectChoice]:
    choices = [SelectChoice("", none_label)]
    for node, depth in category_service.category_rows(with_counts=False):
        c = node["category"]
        if c.id == exclude_id:
            continue
        label = ("— " * depth) + c.title + ("" if c.is_active else " (hidden)")
        choices.append(SelectChoice(c.id, label))
    return choices


# --- the product table ------------------------------------------------------------------

@bp.get("/products")
@role_required(Role.MANAGER)
def products():
    params = {
        "q": (request.args.get("q") or "").strip()[:100],
        "category_id": request.args.get("category", ""),
        "status": request.args.get("status", "") if request.args.get("status") in ("enabled", "disabled") else "",
        "sort": request.args.get("sort", "created") if request.args.get("sort") in SORT_LABELS else "created",
        "direction": "asc" if request.args.get("dir") == "asc" else "desc",
    }
    results = product_service.admin_products(**params, page=page_arg())
    context = {"results": results, "params": params, "sort_labels": SORT_LABELS}
    if wants_fragment():
        return render_template("admin/products/_table.html", **context)
    return render_template("admin/products/index.html", categories=category_choices(none_label="All categories"),
                           **context)


# --- create / edit / delete -------------------------------------------------------------

def _product_data(form: ProductForm, *, create: bool) -> dict:
    data = {
        "title": form.title.data, "description": form.description.data or "",
        "category_id": form.category_id.data or None,
        "is_enabled": bool(form.is_enabled.data), "is_featured": bool(form.is_featured.data),
        "replace_enabled": bool(form.replace_enabled.data), "auto_replace_enabled": bool(form.auto_replace_enabled.data),
        "auto_replace_max_before_approval": form.auto_replace_max_before_approval.data,
        "warranty_time": form.warranty_seconds(),
    }
    if form.slug.data and form.slug.data.strip():
        data["slug"] = form.slug.data.strip()
    if create:
        data["kind"] = form.kind.data
    return data


@bp.route("/products/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def product_new():
    form = ProductForm()
    form.category_id.choices = category_choices()
    if form.validate_on_submit():
        with form_errors(form):
            product = product_service.create_product(_product_data(form, create=True))
            flash(f"Product “{form.title.data}” created. Add its subcategories below.", "success")
            return redirect(url_for("admin.product_edit", product_id=product.id))
    return render_template("admin/products/form.html", form=form, product=None), form_status(form)


def _variant_form(product, obj=None, formdata=None) -> VariantForm:
    kwargs = {"prefix": "sub"} if obj is None else {"prefix": f"v{obj.id[:8]}"}
    if obj is not None and formdata is None:
        form = VariantForm(formdata=None, **kwargs)
        form.title.data, form.sku.data = obj.title, obj.sku
        form.price.data = major_text(obj.price, g.store.currency)
        form.min_quantity.data, form.max_quantity.data = obj.min_quantity, obj.max_quantity
        form.stock_count.data, form.is_active.data = obj.stock_count, obj.is_active
        return form
    return VariantForm(**kwargs)


def _edit_context(product_id: str, *, form=None, image_form=None, variant_form=None) -> dict:
    product = product_service.get_product(product_id, include_hidden=True)
    if form is None:
        form = ProductForm(formdata=None, obj=product)
        del form.kind  # chosen once, at creation
        form.category_id.data = product.category_id or ""
        form.show_warranty(product.warranty_time)
    form.category_id.choices = category_choices()
    return {"product": product, "form": form, "image_form": image_form or ImageForm(formdata=None),
            "variants": variant_service.visible_variants(product, include_hidden=True),
            "variant_form": variant_form or _variant_form(product)}


@bp.route("/products/<product_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def product_edit(product_id: str):
    if request.method == "GET":
        return render_template("admin/products/form.html", **_edit_context(product_id))
    product = product_service.get_product(product_id, include_hidden=True)
    form = ProductForm()
    del form.kind  # chosen once, at creation
    form.category_id.choices = category_choices()
    if form.validate_on_submit():
        with form_errors(form):
            product_service.update_product(product, _product_data(form, create=False))
            flash("Product saved.", "success")
            return redirect(url_for("admin.product_edit", product_id=product_id))
    return render_template("admin/products/form.html", **_edit_context(product_id, form=form)), form_status(form)


@bp.post("/products/<product_id>/delete")
@role_required(Role.MANAGER)
def product_delete(product_id: str):
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    title = product.title
    product_service.delete_product(product)
    flash(f"“{title}” was deleted. Its order history is kept; its unsold stock was withdrawn "
          "(items held by unpaid orders stay with them).", "success")
    return redirect(url_for("admin.products"))


# --- images -------------------------------------------------------------------------------

@bp.post("/products/<product_id>/images")
@role_required(Role.MANAGER)
@begins_deferred
def product_image_add(product_id: str):
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    form = ImageForm()
    prepared = None
    if form.validate_on_submit():
        with form_errors(form):  # a refused file (not an image, too large) is refused here
            prepared = image_service.prepare_image(product, form.image.data.read())
    if prepared is not None:
        image_service.add_image(product, prepared, is_primary=bool(form.is_primary.data))
        flash("Image added.", "success")
        return redirect(url_for("admin.product_edit", product_id=product_id) + "#images")
    return render_template("admin/products/form.html", **_edit_context(product_id, image_form=form)), 422


@bp.post("/products/<product_id>/images/<image_id>/delete")
@role_required(Role.MANAGER)
def product_image_delete(product_id: str, image_id: str):
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    image_service.delete_image(product, image_id)
    flash("Image removed.", "success")
    return redirect(url_for("admin.product_edit", product_id=product_id) + "#images")


# --- subcategories (variants) -------------------------------------------------------------

def _variant_data(form: VariantForm, *, physical: bool) -> dict:
    data = {
        "title": form.title.data, "sku": form.sku.data or None,
        "price": typed_money(form.price.data, g.store.currency, "price"),
        "min_quantity": form.min_quantity.data, "max_quantity": form.max_quantity.data,
        "is_active": bool(form.is_active.data),
    }
    if physical and form.stock_count.data is not None:
        data["stock_count"] = form.stock_count.data
    return data


def _subcategories_fragment(product_id: str, *, variant_form=None, status: int = 200):
    reread()  # the variant list is read again, with the change just made
    context = _edit_context(product_id, variant_form=variant_form)
    return render_template("admin/products/_subcategories.html", **context), status


@bp.post("/products/<product_id>/subcategories")
@role_required(Role.MANAGER)
def subcategory_add(product_id: str):
    product = product_service.get_product(product_id, include_hidden=True, with_details=False)
    form = _variant_form(product)
    if form.validate_on_submit():
        with form_errors(form):
            variant = variant_service.create_variant(product, _variant_data(form, physical=product.kind == "physical"))
            if wants_fragment():
                return _subcategories_fragment(product_id)
            flash(f"Subcategory “{variant.title}” added.", "success")
            return redirect(url_for("admin.product_edit", product_id=product_id) + "#subcategories")
    if wants_fragment():
        return _subcategories_fragment(product_id, variant_form=form, status=422)
    return render_template("admin/products/form.html", **_edit_context(product_id, variant_form=form)), 422


@bp.route("/subcategories/<variant_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def subcategory_edit(variant_id: str):
    variant = variant_service.get_variant(variant_id)
    product = variant.product
    form = _variant_form(product, obj=variant, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        with form_errors(form):
            variant_service.update_variant(variant, _variant_data(form, physical=product.kind == "physical"))
            if wants_fragment():
                html, status = _subcategories_fragment(product.id)
                return html, status, {"HX-Retarget": "#subcategories", "HX-Reswap": "outerHTML"}
            flash("Subcategory saved.", "success")
            return redirect(url_for("admin.product_edit", product_id=product.id) + "#subcategories")
        variant = variant_service.get_variant(variant_id)
    status = form_status(form) if request.method == "POST" else 200
    context = {"variant": variant, "product": variant.product, "vform": form}
    if wants_fragment():
        return render_block("admin/products/subcategory.html", "edit_row", **context), status
    return render_template("admin/products/subcategory.html", **context), status


@bp.post("/subcategories/<variant_id>/delete")
@role_required(Role.MANAGER)
def subcategory_delete(variant_id: str):
    variant = variant_service.get_variant(variant_id)
    product_id, title = variant.product_id, variant.title
    variant_service.delete_variant(variant)
    if wants_fragment():
        return _subcategories_fragment(product_id)
    flash(f"Subcategory “{title}” deleted; its unsold stock was withdrawn "
          "(items held by unpaid orders stay with them).", "success")
    return redirect(url_for("admin.product_edit", product_id=product_id) + "#subcategories")
