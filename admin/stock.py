"""The stock panel of a digital subcategory: import (paste or file, add or replace), the
unsold items (masked; Admin+ may reveal one), withdraw, clear, and the import batches."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user

from models import Role
from services import replacements, stock
from services import users as user_service
from services import variants as variant_service
from transactions import yield_write_lock
from web import form_errors, page_arg, reread, role_required, typed_money, wants_fragment

from . import bp
from .forms import DELIMITERS, StockImportForm

STOCK_PAGE_SIZE = 50


def _panel_context(variant_id: str, *, form=None, result=None, revealed=None, page: int = 1,
                   notice: str | None = None) -> dict:
    variant = variant_service.get_variant(variant_id)
    items = stock.list_stock(variant, status="available", page=page, page_size=STOCK_PAGE_SIZE)
    batches = stock.list_batches(variant)
    rates = replacements.replacement_rates(variant_id=variant.id)  # two GROUP BYs, whatever the size
    return {
        "batch_rates": {row["batch_id"]: row for row in rates["batches"]},
        "product_rate": next((row for row in rates["products"] if row["product_id"] == variant.product_id), None),
        "variant": variant, "product": variant.product, "form": form or StockImportForm(formdata=None),
        "result": result, "items": items, "masked": {item.id: stock.masked(item) for item in items["items"]},
        "revealed": revealed or {}, "batches": batches, "notice": notice,
        "who": user_service.usernames({b.created_by_id for b in batches}),
    }


def _render(context: dict, status: int = 200):
    template = "admin/stock/_panel.html" if wants_fragment() else "admin/stock/index.html"
    return render_template(template, **context), status


def _digital_variant(variant_id: str):
    variant = variant_service.get_variant(variant_id)
    if variant.product.kind != "digital":
        flash("Physical subcategories count their inventory: edit the subcategory to change it.", "info")
        return variant, redirect(url_for("admin.product_edit", product_id=variant.product_id) + "#subcategories")
    return variant, None


@bp.get("/subcategories/<variant_id>/stock")
@role_required(Role.MANAGER)
def stock_page(variant_id: str):
    _variant, away = _digital_variant(variant_id)
    if away:
        return away
    return _render(_panel_context(variant_id, page=page_arg()))


@bp.post("/subcategories/<variant_id>/stock")
@role_required(Role.MANAGER)
def stock_import(variant_id: str):
    variant, away = _digital_variant(variant_id)
    if away:
        return away
    form = StockImportForm()
    if form.validate_on_submit():
        source, field = form.deliverables.data or "", form.deliverables
        upload = form.file.data
        limit = current_app.config["MAX_IMPORT_BYTES"]
        if upload and upload.filename:
            source, field = upload.read(limit + 1), form.file
        if len(source) > limit:
            field.errors = [f"The list may be at most {limit // (1024 * 1024)} MB"]
            return _render(_panel_context(variant_id, form=form), 422)
        checked = False
        with form_errors(form):  # every refusal happens here, before anything is written
            unit_cost = form.unit_cost.data and form.unit_cost.data.strip()
            unit_cost = typed_money(unit_cost, g.store.currency, "unit_cost") if unit_cost else None
            stock.check_import(source, DELIMITERS.get(form.delimiter.data))
            checked = True
        if checked:
            # outside the form's savepoint: on SQLite the import hands the write lock on after
            # each chunk (transactions.yield_write_lock)
            result = stock.import_stock(
                variant, source, mode=form.mode.data, delimiter=DELIMITERS.get(form.delimiter.data),
                note=form.note.data or "", supplier=(form.supplier.data or "").strip() or None,
                unit_cost=unit_cost, created_by=current_user._get_current_object(),
                progress=lambda _done: yield_write_lock(),
            )
            summary = {"added": result.added, "duplicate_in_file": result.duplicate_in_file,
                       "already_known": result.already_known, "removed": result.removed,
                       "total_lines": result.total_lines, "stock_count": result.stock_count, "mode": form.mode.data}
            reread()
            if wants_fragment():
                return _render(_panel_context(variant_id, result=summary))
            flash(_summary_text(summary), "success")
            return redirect(url_for("admin.stock_page", variant_id=variant_id))
    return _render(_panel_context(variant_id, form=form), 422)


def _summary_text(s: dict) -> str:
    text = (f"Import done: {s['added']} added, {s['duplicate_in_file']} duplicate in file, "
            f"{s['already_known']} already known")
    return text + (f", {s['removed']} removed." if s["mode"] == "set" else ".")


@bp.post("/subcategories/<variant_id>/stock/clear")
@role_required(Role.MANAGER)
def stock_clear(variant_id: str):
    variant, away = _digital_variant(variant_id)
    if away:
        return away
    removed = stock.clear_stock(variant)
    notice = f"{removed} unsold item{'' if removed == 1 else 's'} withdrawn."
    if wants_fragment():
        reread()
        return _render(_panel_context(variant_id, notice=notice))
    flash(notice, "success")
    return redirect(url_for("admin.stock_page", variant_id=variant_id))


@bp.post("/stock/<item_id>/withdraw")
@role_required(Role.MANAGER)
def stock_withdraw(item_id: str):
    item = stock.delete_stock_item(item_id)
    variant_id = item.variant_id
    if wants_fragment():
        reread()
        return _render(_panel_context(variant_id, page=page_arg(), notice="Item withdrawn."))
    flash("Item withdrawn.", "success")
    return redirect(url_for("admin.stock_page", variant_id=variant_id))


@bp.post("/stock/<item_id>/reveal")
@role_required(Role.ADMIN)
def stock_reveal(item_id: str):
    item = stock.get_stock_item(item_id)
    plain = stock.reveal(item)
    if wants_fragment():
        return render_template("admin/stock/_revealed.html", plain=plain)
    return _render(_panel_context(item.variant_id, revealed={item.id: plain}))
