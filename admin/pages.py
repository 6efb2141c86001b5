"""CMS pages in the dashboard (Manager+, as ``api/pages.py``): the list, the Markdown editor with a
live preview, and delete. The same service calls as the API."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from models import Page, Role
from services import pages as page_service
from web import PageForm, error_status, form_errors, page_arg, role_required

from . import bp

CODES = {"slug_taken": "slug", "title_taken": "title"}


class CmsPageForm(PageForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=page_service.TITLE_MAX)])
    slug = StringField("Address", validators=[Optional(), Length(max=200)],
                       description="The page lives at /pages/<address>; made from the title when empty")
    body = TextAreaField("Text (Markdown)", validators=[Length(max=page_service.BODY_MAX)])
    meta_description = StringField("Search engine description", validators=[Optional(), Length(max=page_service.META_MAX)])
    is_active = BooleanField("Published (shoppers can open it)")
    show_in_footer = BooleanField("Link it in the footer")
    show_in_nav = BooleanField("Link it in the nav bar")
    sort_order = IntegerField("Order", validators=[Optional(), NumberRange(min=-10_000, max=10_000)], default=0)

    def data_for_service(self) -> dict:
        return {"title": self.title.data.strip(), "slug": (self.slug.data or "").strip() or None,
                "body": self.body.data or "", "meta_description": (self.meta_description.data or "").strip(),
                "is_active": bool(self.is_active.data), "show_in_footer": bool(self.show_in_footer.data),
                "show_in_nav": bool(self.show_in_nav.data), "sort_order": self.sort_order.data or 0}


def _form_page(form: CmsPageForm, page: Page | None, status: int = 200):
    return render_template("admin/pages/form.html", form=form, page=page,
                           preview_html=page_service.preview(form.body.data or "")), status


@bp.get("/pages")
@role_required(Role.MANAGER)
def cms_pages():
    return render_template("admin/pages/index.html",
                           results=page_service.list_pages(include_inactive=True, page=page_arg(), page_size=50))


@bp.route("/pages/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def cms_page_new():
    if request.method == "GET":
        return _form_page(CmsPageForm(formdata=None, data={"is_active": True, "show_in_footer": True}), None)
    form = CmsPageForm()
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            page = page_service.create_page(form.data_for_service(), actor=current_user._get_current_object())
            flash(f"“{page.title}” is saved. It lives at /pages/{page.slug}.", "success")
            return redirect(url_for("admin.cms_page_edit", page_id=page.id), 303)
    return _form_page(form, None, error_status(form))


@bp.route("/pages/<page_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def cms_page_edit(page_id: str):
    page = page_service.get_page(page_id)
    if request.method == "GET":
        return _form_page(CmsPageForm(formdata=None, obj=page), page)
    form = CmsPageForm()
    if form.validate_on_submit():
        with form_errors(form, codes=CODES):
            data = form.data_for_service()
            if data["slug"] is None:
                data.pop("slug")
            page_service.update_page(page, data, actor=current_user._get_current_object())
            flash(f"“{page.title}” is saved.", "success")
            return redirect(url_for("admin.cms_page_edit", page_id=page.id), 303)
    return _form_page(form, page, error_status(form))


@bp.post("/pages/<page_id>/delete")
@role_required(Role.MANAGER)
def cms_page_delete(page_id: str):
    page = page_service.get_page(page_id)
    form = PageForm()
    if form.validate_on_submit():
        title = page.title
        page_service.delete_page(page)
        flash(f"“{title}” is deleted.", "success")
    return redirect(url_for("admin.cms_pages"), 303)


@bp.post("/pages/preview")
@role_required(Role.MANAGER)
def cms_page_preview():
    """The editor's live preview: the Markdown as the shop would show it (rendered and sanitised)."""
    return render_template("admin/pages/_preview.html", preview_html=page_service.preview(request.form.get("body", "")))
